import type { Anomaly, ReadingFlag } from '../../shared/contracts/index.ts';

/** A reading as the detector needs it: ts already in epoch ms (the validator converts ISO-8601). */
export interface ReadingIn {
  meterId: string;
  /** Event time, epoch ms. */
  ts: number;
  seq?: number;
  voltage: number;
  current?: number;
  power?: number;
  frequency?: number;
  powerFactor?: number;
  energy?: number;
}

/** Where a meter sits and what is normal for it; asked once per meter (first reading, event or import). */
export interface MeterContext {
  edgeId: string;
  substationId: string | null;
  feederId: string | null;
  transformerId: string | null;
  nominalVoltage: number;
  nominalFrequency: 50 | 60;
  expectedIntervalMs: number;
  ratedCurrentA?: number;
  /** Rating of the meter's transformer (topology `transformerKva`): enables the overload rule. */
  transformerKva?: number;
}

export interface DetectResult {
  /** v1 Anomaly records (open or closed transitions) this reading caused. */
  anomalies: Anomaly[];
  /** Tags for the forwarded reading. */
  flags: ReadingFlag[];
}
