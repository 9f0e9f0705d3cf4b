import { sectionFromDefaults, type Descriptions } from '../../shared/config-section.ts';
import { DEFAULT_DETECT_CONFIG, type DetectConfig } from './config.ts';

/**
 * The detector's thresholds as the `detect` section of the edge configuration
 * (GRIDWATCH_DETECT_SIGMA_ENTER, file key `detect: { sigmaEnter: 5 }`). Defaults are
 * DEFAULT_DETECT_CONFIG; their reasons are in README.md. Voltage limits are per unit of the
 * meter's nominal voltage and frequency bands fractions of its nominal frequency, so a 60 Hz grid
 * needs no change there; windows count readings, so 15-minute meters change time-based ones
 * (sustainedMs, latenessMs) and counts such as driftLongReadings.
 */
const DESCRIPTIONS: Descriptions<DetectConfig> = {
  windowSize: 'Readings in the moving-average/standard-deviation window (integer >= 2)',
  warmupReadings: 'Readings a channel\'s window must hold before any statistical verdict (2..windowSize)',
  sigmaEnter: 'A spike/dip opens when |x - mean| > sigmaEnter * sigma',
  sigmaExit: 'A spike/dip closes when the value is back within sigmaExit * sigma (<= sigmaEnter)',
  sigmaFloor: 'Floor on sigma, so a quiet channel does not flag noise (voltage, frequency in pu; current A; power kW)',
  outlierHoldReadings: 'Consecutive outliers kept out of the window before the new level is taken as a level shift',
  sagPu: 'Sag below this voltage (pu of nominal, IEEE 1159)',
  sagExitPu: 'A sag closes above this voltage (pu)',
  interruptionPu: 'Interruption below this voltage (pu)',
  interruptionExitPu: 'An interruption closes above this voltage (pu)',
  swellPu: 'Swell above this voltage (pu)',
  swellExitPu: 'A swell closes below this voltage (pu)',
  sustainedMs: 'A sag or swell still present after this long (event time, ms) becomes undervoltage or overvoltage',
  sagMajorPu: 'A sag below this voltage (pu) is major',
  undervoltageCriticalPu: 'Undervoltage below this voltage (pu) is critical',
  swellMajorPu: 'A swell above this voltage (pu) is major',
  swellCriticalPu: 'A swell above this voltage (pu) is critical',
  overvoltageCriticalPu: 'Overvoltage above this voltage (pu) is critical',
  frequencyBand: 'Frequency band as a fraction of nominal (EN 50160: 0.01)',
  frequencyExitBand: 'A frequency deviation closes within this fraction of nominal (<= frequencyBand)',
  frequencyCriticalLow: 'Below nominal by more than this fraction a frequency deviation is critical (EN 50160: 0.06)',
  frequencyCriticalHigh: 'Above nominal by more than this fraction a frequency deviation is critical (EN 50160: 0.04)',
  overcurrentPu: 'Overcurrent above this multiple of the meter\'s rated current',
  overcurrentExitPu: 'Overcurrent closes below this multiple (<= overcurrentPu)',
  overcurrentMajorPu: 'Overcurrent above this multiple is major',
  overcurrentCriticalPu: 'Overcurrent above this multiple is critical',
  overloadPu: 'Transformer overload above this multiple of its kVA rating (its meters\' summed apparent power)',
  overloadExitPu: 'Transformer overload clears below this multiple (<= overloadPu)',
  overloadMajorPu: 'Transformer overload above this multiple is major',
  overloadCriticalPu: 'Transformer overload above this multiple is critical',
  overloadHoldIntervals: 'Expected intervals an overload must hold before its meters get an anomaly',
  stuckReadings: 'Identical consecutive readings that make a channel stuck (0 = off, else >= 2)',
  driftLongReadings: 'Readings in the long baseline drift is judged against (>= windowSize)',
  driftFraction: 'Relative departure of the short-window mean from the long baseline that opens drift (0 = off)',
  driftExitRatio: 'Drift closes when the departure falls below driftFraction * driftExitRatio (0..1)',
  dropoutIntervals: 'Dropout opens after this many expected intervals without a reading (> 0)',
  latenessMs: 'A reading older than the meter\'s newest by more than this (ms) is late: flagged, not judged',
  tamperClearMs: 'A tamper anomaly closes after this long (ms) without another tamper event',
};

export const DetectSettingsSchema = sectionFromDefaults(DEFAULT_DETECT_CONFIG, DESCRIPTIONS, 'detect');
