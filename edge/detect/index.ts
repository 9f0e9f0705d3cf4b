/** The edge's detector: a pure per-meter, per-channel core (no I/O; time from a Clock). */
export { Detector, EMPTY_RESULT, type DetectorOptions } from './detector.ts';
export { DEFAULT_DETECT_CONFIG, resolveDetectConfig, CHANNELS, type DetectConfig, type DetectConfigInput, type ChannelName, type PerChannel } from './config.ts';
export type { ReadingIn, MeterContext, DetectResult } from './types.ts';
export type { MeterSnapshot, ChannelSnapshot } from './state.ts';
export type { OpenAnomaly } from './lifecycle.ts';
export { anomalyId } from './lifecycle.ts';
export type { RollingStatsSnapshot } from './window.ts';
