export * from './model.ts';
export * from './load.ts';
