import { Type } from '@sinclair/typebox';
import { sectionFromDefaults, type Descriptions } from '../../shared/config-section.ts';
import { DEFAULT_CORRELATE_CONFIG, type CorrelateConfig } from './config.ts';

/**
 * The correlator's thresholds as the `correlate` section of the central configuration
 * (GRIDWATCH_CORRELATE_WINDOW_MS, GRIDWATCH_CORRELATE_TRANSFORMER_MIN_COUNT, file key
 * `correlate: { transformer: { minCount: 3 } }`), derived from DEFAULT_CORRELATE_CONFIG: a new
 * field there becomes a setting with one line here (the compiler asks for it). Reasons for the
 * defaults: README.md. 15-minute meters need a wider windowMs and longer holds.
 */
const DESCRIPTIONS: Descriptions<CorrelateConfig> = {
  windowMs: 'Event-time window (ms) in which meters\' anomalies count as one condition (> 0)',
  windowSlots: 'Buckets the window is summed from (integer >= 1)',
  transformer: 'Transformer rule (share and minCount both met to open; clearShare to clear)',
  feeder: 'Feeder rule (share and minCount both met to open; clearShare to clear)',
  substation: 'Substation rule (share and minCount both met to open; clearShare to clear)',
  gridMinSubstations: 'Grid-wide frequency event when at least this many substations qualify ...',
  gridShare: '... or at least this share of the substations known to the topology',
  latenessMs: 'Records older than the substation\'s watermark minus this (ms) are too late',
  heartbeatTimeoutMs: 'An edge gateway silent for longer than this (ms, clock) is a communications loss',
  openHoldMs: 'A device event is held this long (ms) before publishing, so a higher level can absorb it',
  meterHoldMs: 'An uncovered meter waits this long (ms) before it gets a meter event',
  closeDelayMs: 'A clear condition must hold this long (ms) before the event closes',
  growthPublishMs: 'Growth of a published event is re-published at most this often (ms)',
  meterEventMinSeverity: Type.Union([Type.Literal('info'), Type.Literal('minor'), Type.Literal('major'), Type.Literal('critical')], { description: 'Meter-scope events only for anomalies at or above this severity' }),
  adoptStrays: 'Attach an uncovered meter to a sibling transformer\'s event of the same class (mislabelled meters)',
  maxOpenAnomalies: 'Open anomalies kept per substation (evictions counted)',
  maxRememberedClosed: 'Closed anomalies remembered per substation (evictions counted)',
  maxEvents: 'Grid events kept per substation (evictions counted)',
  maxPendingMeters: 'Meters waiting for a meter event per substation (evictions counted)',
};

export const CorrelateSettingsSchema = sectionFromDefaults(DEFAULT_CORRELATE_CONFIG, DESCRIPTIONS, 'correlate');
