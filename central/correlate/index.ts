/**
 * The pure correlator of `gridwatch central`: v1 anomalies, edge heartbeats and gaps in, v1 grid
 * events out, rolled up the topology (see README.md for the rules and every default).
 */
export { Correlator, UNKNOWN_SUBSTATION } from './correlator.ts';
export { DEFAULT_CORRELATE_CONFIG, resolveConfig, type CorrelateConfig, type LevelRule } from './config.ts';
export type { SubstationState } from './device-state.ts';
export type { Stats as CorrelatorStats } from './publisher.ts';
export { classOf, rollupLevels, severityOf, type AnomalyClass } from './classes.ts';
