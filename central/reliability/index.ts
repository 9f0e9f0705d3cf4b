// IEEE 1366 reliability indices (SAIFI, SAIDI, CAIDI, MAIFI-E) from outage and momentary grid events.
export * from './indices.ts';
export * from './from-events.ts';
