import { GridwatchError } from '../../shared/errors.ts';

/** The four measured channels the detector judges, in the order it keeps them per meter. */
export type ChannelName = 'voltage' | 'current' | 'power' | 'frequency';
export const CHANNELS: readonly ChannelName[] = ['voltage', 'current', 'power', 'frequency'];
export const VOLTAGE = 0;
export const CURRENT = 1;
export const POWER = 2;
export const FREQUENCY = 3;

export interface PerChannel<T> {
  voltage: T;
  current: T;
  power: T;
  frequency: T;
}

/**
 * Every threshold the detector uses. The reason for each default is in README.md (and briefly
 * here); all voltage limits are per unit (pu) of the meter's nominal voltage, frequency bands are
 * fractions of its nominal frequency, so one configuration serves 230 V/50 Hz and 120 V/60 Hz.
 */
export interface DetectConfig {
  /** Readings in the moving-average/standard-deviation window (count based). */
  windowSize: number;
  /** Readings a channel's window must hold before any statistical verdict (spike, dip, drift). */
  warmupReadings: number;
  /** Open spike/dip when |x - mean| > sigmaEnter * sigma. */
  sigmaEnter: number;
  /** Close spike/dip when the value is back within sigmaExit * sigma (hysteresis). */
  sigmaExit: number;
  /** Floor on sigma, so a very quiet channel does not flag noise. Voltage and frequency in pu, current in A, power in kW. */
  sigmaFloor: PerChannel<number>;
  /** Consecutive outliers kept out of the window; beyond this the new level is taken as a level shift and enters it. */
  outlierHoldReadings: number;

  /** Voltage limits (pu of nominal) after IEEE 1159; each *Exit is the hysteresis exit threshold. */
  sagPu: number;
  sagExitPu: number;
  interruptionPu: number;
  interruptionExitPu: number;
  swellPu: number;
  swellExitPu: number;
  /** A sag or swell still present after this long (event time) becomes undervoltage or overvoltage. */
  sustainedMs: number;
  /** Severity breakpoints (pu). */
  sagMajorPu: number;
  undervoltageCriticalPu: number;
  swellMajorPu: number;
  swellCriticalPu: number;
  overvoltageCriticalPu: number;

  /** Frequency band as a fraction of nominal (EN 50160: 1 %) and its hysteresis exit. */
  frequencyBand: number;
  frequencyExitBand: number;
  /** EN 50160 "always" limits (-6 %/+4 %): beyond them a deviation is critical. */
  frequencyCriticalLow: number;
  frequencyCriticalHigh: number;

  /** Over-current, as a multiple of ratedCurrentA (only when the context knows the rating). */
  overcurrentPu: number;
  overcurrentExitPu: number;
  overcurrentMajorPu: number;
  overcurrentCriticalPu: number;

  /**
   * Transformer overload: the summed apparent power of a transformer's meters (their latest
   * readings) against its rating (topology transformerKva), as a multiple of the rating. It must
   * hold for overloadHoldIntervals expected intervals (event time) before the meters under it get
   * an `overcurrent` anomaly (channel power) each; it clears below overloadExitPu.
   */
  overloadPu: number;
  overloadExitPu: number;
  overloadMajorPu: number;
  overloadCriticalPu: number;
  overloadHoldIntervals: number;

  /** Identical consecutive readings that make a channel stuck; 0 disables the rule for that channel. */
  stuckReadings: PerChannel<number>;

  /** Readings in the long baseline (an exponentially weighted mean) that drift is judged against. */
  driftLongReadings: number;
  /** Relative departure of the short-window mean from the long baseline that opens drift; 0 disables. */
  driftFraction: PerChannel<number>;
  /** Drift closes when the departure falls below driftFraction * driftExitRatio. */
  driftExitRatio: number;

  /** Dropout opens after this many expected intervals without a reading (by the clock). */
  dropoutIntervals: number;
  /** A reading older than the meter's newest ts by more than this is late: flagged, not judged. */
  latenessMs: number;
  /** A tamper anomaly closes after this long (clock time) without another tamper event. */
  tamperClearMs: number;
}

export const DEFAULT_DETECT_CONFIG: DetectConfig = Object.freeze({
  windowSize: 60,
  warmupReadings: 60,
  sigmaEnter: 5,
  sigmaExit: 3,
  sigmaFloor: Object.freeze({ voltage: 0.004, current: 0.1, power: 0.02, frequency: 0.0004 }),
  outlierHoldReadings: 5,

  sagPu: 0.9,
  sagExitPu: 0.92,
  interruptionPu: 0.1,
  interruptionExitPu: 0.15,
  swellPu: 1.1,
  swellExitPu: 1.08,
  sustainedMs: 60_000,
  sagMajorPu: 0.7,
  undervoltageCriticalPu: 0.85,
  swellMajorPu: 1.2,
  swellCriticalPu: 1.4,
  overvoltageCriticalPu: 1.2,

  frequencyBand: 0.01,
  frequencyExitBand: 0.008,
  frequencyCriticalLow: 0.06,
  frequencyCriticalHigh: 0.04,

  overcurrentPu: 1.0,
  overcurrentExitPu: 0.95,
  overcurrentMajorPu: 1.2,
  overcurrentCriticalPu: 1.5,

  overloadPu: 1.0,
  overloadExitPu: 0.95,
  overloadMajorPu: 1.2,
  overloadCriticalPu: 1.5,
  overloadHoldIntervals: 3,

  stuckReadings: Object.freeze({ voltage: 20, current: 30, power: 30, frequency: 0 }),

  driftLongReadings: 1440,
  driftFraction: Object.freeze({ voltage: 0.04, current: 0, power: 0, frequency: 0.002 }),
  driftExitRatio: 0.6,

  dropoutIntervals: 3,
  latenessMs: 300_000,
  tamperClearMs: 3_600_000,
}) as DetectConfig;

export type DetectConfigInput = Partial<Omit<DetectConfig, 'sigmaFloor' | 'stuckReadings' | 'driftFraction'>> & {
  sigmaFloor?: Partial<PerChannel<number>>;
  stuckReadings?: Partial<PerChannel<number>>;
  driftFraction?: Partial<PerChannel<number>>;
};

function bad(key: string, expected: string, value: unknown): never {
  throw new GridwatchError('CONFIG_INVALID', `detect config ${key}=${JSON.stringify(value)}: expected ${expected}`);
}

/** Merges a partial configuration over the defaults and checks that it makes sense; throws CONFIG_INVALID. */
export function resolveDetectConfig(input: DetectConfigInput = {}): DetectConfig {
  const d = DEFAULT_DETECT_CONFIG;
  const c: DetectConfig = {
    ...d,
    ...input,
    sigmaFloor: { ...d.sigmaFloor, ...input.sigmaFloor },
    stuckReadings: { ...d.stuckReadings, ...input.stuckReadings },
    driftFraction: { ...d.driftFraction, ...input.driftFraction },
  } as DetectConfig;
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'object') {
      for (const [ck, cv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof cv !== 'number' || !Number.isFinite(cv) || cv < 0) bad(`${k}.${ck}`, 'a finite number >= 0', cv);
      }
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(k, 'a finite number >= 0', v);
  }
  if (!Number.isInteger(c.windowSize) || c.windowSize < 2) bad('windowSize', 'an integer >= 2', c.windowSize);
  if (!Number.isInteger(c.warmupReadings) || c.warmupReadings < 2 || c.warmupReadings > c.windowSize) {
    bad('warmupReadings', `an integer in 2..windowSize (${c.windowSize})`, c.warmupReadings);
  }
  if (c.sigmaExit > c.sigmaEnter) bad('sigmaExit', `<= sigmaEnter (${c.sigmaEnter})`, c.sigmaExit);
  if (!(c.interruptionPu < c.interruptionExitPu && c.interruptionExitPu < c.sagPu && c.sagPu <= c.sagExitPu && c.sagExitPu < 1)) {
    bad('interruptionPu/interruptionExitPu/sagPu/sagExitPu', 'interruptionPu < interruptionExitPu < sagPu <= sagExitPu < 1', [c.interruptionPu, c.interruptionExitPu, c.sagPu, c.sagExitPu]);
  }
  if (!(1 < c.swellExitPu && c.swellExitPu <= c.swellPu)) bad('swellExitPu', `in (1, swellPu]`, c.swellExitPu);
  if (c.frequencyExitBand > c.frequencyBand) bad('frequencyExitBand', `<= frequencyBand (${c.frequencyBand})`, c.frequencyExitBand);
  if (c.overcurrentExitPu > c.overcurrentPu) bad('overcurrentExitPu', `<= overcurrentPu (${c.overcurrentPu})`, c.overcurrentExitPu);
  if (c.overloadExitPu > c.overloadPu) bad('overloadExitPu', `<= overloadPu (${c.overloadPu})`, c.overloadExitPu);
  if (c.driftExitRatio > 1) bad('driftExitRatio', 'a number in 0..1', c.driftExitRatio);
  if (!Number.isInteger(c.driftLongReadings) || c.driftLongReadings < c.windowSize) bad('driftLongReadings', `an integer >= windowSize (${c.windowSize})`, c.driftLongReadings);
  if (!Number.isInteger(c.outlierHoldReadings)) bad('outlierHoldReadings', 'an integer >= 0', c.outlierHoldReadings);
  if (c.dropoutIntervals <= 0) bad('dropoutIntervals', 'a number > 0', c.dropoutIntervals);
  for (const ch of ['voltage', 'current', 'power', 'frequency'] as const) {
    const n = c.stuckReadings[ch];
    if (!Number.isInteger(n) || n === 1) bad(`stuckReadings.${ch}`, '0 (off) or an integer >= 2', n);
  }
  return c;
}
