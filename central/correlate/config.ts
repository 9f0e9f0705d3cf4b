import { GridwatchError } from '../../shared/errors.ts';
import type { GridEvent } from '../../shared/contracts/index.ts';

/** info < minor < major < critical (the v1 contracts' severity). */
export type Severity = GridEvent['severity'];

/** Thresholds of one topology level. A device qualifies when BOTH share and count are met. */
export interface LevelRule {
  /** Share of the meters under the device (by topology) that must show the class within the window. */
  share: number;
  /** Minimum number of such meters: keeps two coincident meters from making a transformer event. */
  minCount: number;
  /** An open event clears when the share of currently affected meters falls below this (hysteresis). */
  clearShare: number;
}

export interface CorrelateConfig {
  /** Event-time window in which meters' anomalies count as one condition (ms). */
  windowMs: number;
  /** The window is summed from this many buckets (per-device counters, no rescans). */
  windowSlots: number;
  transformer: LevelRule;
  feeder: LevelRule;
  substation: LevelRule;
  /** Grid-wide frequency: at least this many substations qualify at substation level ... */
  gridMinSubstations: number;
  /** ... or at least this share of the substations known to the topology. */
  gridShare: number;
  /** Records whose startTs is older than the substation's watermark minus this are "too late". */
  latenessMs: number;
  /** An edge gateway silent for longer than this (clock time) is a communications loss. */
  heartbeatTimeoutMs: number;
  /** A device event is held this long (clock) before it is published, so a higher level can absorb it. */
  openHoldMs: number;
  /** A meter that is not covered by a device event waits this long before it gets a meter event. */
  meterHoldMs: number;
  /** A clear condition must hold this long (clock) before the event closes. */
  closeDelayMs: number;
  /** Growth of a published event is re-published at most this often (clock); tick flushes the rest. */
  growthPublishMs: number;
  /** Meter-scope events only for anomalies at or above this severity. */
  meterEventMinSeverity: Severity;
  /** Attach an uncovered meter to a sibling transformer's event of the same class (mislabelled meters). */
  adoptStrays: boolean;
  /**
   * Statistical voltage/frequency deviations (spike, dip, drift) count towards the device's
   * voltage/frequency class, so that a shared deviation is one device event, not one per meter.
   */
  coincidentDeviations: boolean;
  /** A device event made of statistical deviations only is held this long (clock), so stronger evidence of the same cause can take it. */
  deviationHoldMs: number;
  /** A device event whose meters went to interruption level is held up to this long (clock); cleared by then, it is a `momentary` event. */
  momentaryHoldMs: number;
  /** Record momentary interruptions as `momentary` events (else they are discarded, as pending events that cleared). */
  momentaryEvents: boolean;
  /** Bounds, per substation. Evictions are counted. */
  maxOpenAnomalies: number;
  maxRememberedClosed: number;
  maxEvents: number;
  maxPendingMeters: number;
}

/**
 * Defaults and their reasons (see README.md for the long form):
 * - windowMs 5 min: utilities' outage systems roll up "a share of a transformer's meters within a
 *   few minutes"; last gasps of one device arrive within seconds, dropouts take several intervals.
 * - share 0.5 / min 3 (transformer): North American transformers serve 5-8 homes; 3 keeps two
 *   coincident meters apart, 0.5 tolerates the 10-35 % of mislabelled meters.
 * - feeder and substation share 0.5 with min 5 / 10: "most of" the device, larger counts.
 * - clearShare 0.2: hysteresis below the opening share, so restoring meters do not flap the event.
 * - deviationHoldMs 30 s: a shared dip is weak evidence; an overload or a sag of the same cause
 *   needs a few reading intervals to show (overload: 3), and takes the deviations when it does.
 * - momentaryHoldMs 30 s: reclosers restore within 0.5-30 s; a meter's last gasp follows 30-45 s
 *   without voltage, so anything longer is reported as an outage by its last gasps anyway.
 */
export const DEFAULT_CORRELATE_CONFIG: CorrelateConfig = {
  windowMs: 300_000,
  windowSlots: 10,
  transformer: { share: 0.5, minCount: 3, clearShare: 0.2 },
  feeder: { share: 0.5, minCount: 5, clearShare: 0.2 },
  substation: { share: 0.5, minCount: 10, clearShare: 0.2 },
  gridMinSubstations: 2,
  gridShare: 0.5,
  latenessMs: 600_000,
  heartbeatTimeoutMs: 90_000,
  openHoldMs: 10_000,
  meterHoldMs: 60_000,
  closeDelayMs: 60_000,
  growthPublishMs: 5_000,
  meterEventMinSeverity: 'major',
  adoptStrays: true,
  coincidentDeviations: true,
  deviationHoldMs: 30_000,
  momentaryHoldMs: 30_000,
  momentaryEvents: true,
  maxOpenAnomalies: 200_000,
  maxRememberedClosed: 200_000,
  maxEvents: 20_000,
  maxPendingMeters: 100_000,
};

const SEVERITIES: readonly Severity[] = ['info', 'minor', 'major', 'critical'];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

function bad(key: string, expected: string): never {
  throw new GridwatchError('CONFIG_INVALID', `correlator config ${key}: expected ${expected}`);
}

/** Merges overrides onto the defaults and validates every value; a bad one throws CONFIG_INVALID. */
export function resolveConfig(partial: Partial<CorrelateConfig> = {}): CorrelateConfig {
  const c: CorrelateConfig = {
    ...DEFAULT_CORRELATE_CONFIG,
    ...partial,
    transformer: { ...DEFAULT_CORRELATE_CONFIG.transformer, ...partial.transformer },
    feeder: { ...DEFAULT_CORRELATE_CONFIG.feeder, ...partial.feeder },
    substation: { ...DEFAULT_CORRELATE_CONFIG.substation, ...partial.substation },
  };
  const ms = ['windowMs', 'latenessMs', 'heartbeatTimeoutMs', 'openHoldMs', 'meterHoldMs', 'closeDelayMs', 'growthPublishMs', 'deviationHoldMs', 'momentaryHoldMs'] as const;
  for (const k of ms) if (!Number.isFinite(c[k]) || c[k] < 0) bad(k, 'a number of ms >= 0');
  if (c.windowMs <= 0) bad('windowMs', '> 0');
  const counts = ['windowSlots', 'gridMinSubstations', 'maxOpenAnomalies', 'maxRememberedClosed', 'maxEvents', 'maxPendingMeters'] as const;
  for (const k of counts) if (!Number.isInteger(c[k]) || c[k] < 1) bad(k, 'an integer >= 1');
  for (const level of ['transformer', 'feeder', 'substation'] as const) {
    const r = c[level];
    if (!(r.share > 0 && r.share <= 1)) bad(`${level}.share`, 'a share in (0, 1]');
    if (!(r.clearShare >= 0 && r.clearShare <= r.share)) bad(`${level}.clearShare`, `a share in [0, ${level}.share]`);
    if (!Number.isInteger(r.minCount) || r.minCount < 1) bad(`${level}.minCount`, 'an integer >= 1');
  }
  if (!(c.gridShare > 0 && c.gridShare <= 1)) bad('gridShare', 'a share in (0, 1]');
  if (!SEVERITIES.includes(c.meterEventMinSeverity)) bad('meterEventMinSeverity', SEVERITIES.join('|'));
  for (const k of ['adoptStrays', 'coincidentDeviations', 'momentaryEvents'] as const) if (typeof c[k] !== 'boolean') bad(k, 'true or false');
  return c;
}
