export * from './contracts/index.ts';
export * from './errors.ts';
export * from './clock.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './config.ts';
export * from './duration.ts';
export * from './topology/index.ts';
