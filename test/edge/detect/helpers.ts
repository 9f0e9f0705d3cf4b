import { ManualClock } from '../../../shared/clock.ts';
import { validators, type Anomaly } from '../../../shared/contracts/index.ts';
import { Detector, type DetectConfigInput, type MeterContext, type ReadingIn } from '../../../edge/detect/index.ts';

export const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);
export const STEP = 5_000;

export interface System {
  nominalVoltage: number;
  nominalFrequency: 50 | 60;
}
export const EU: System = { nominalVoltage: 230, nominalFrequency: 50 };
export const NA: System = { nominalVoltage: 120, nominalFrequency: 60 };

export function context(sys: System, extra: Partial<MeterContext> = {}): MeterContext {
  return {
    edgeId: 'edge-1',
    substationId: 'sub-1',
    feederId: 'fdr-1',
    transformerId: 'tx-1',
    nominalVoltage: sys.nominalVoltage,
    nominalFrequency: sys.nominalFrequency,
    expectedIntervalMs: STEP,
    ...extra,
  };
}

export function makeDetector(sys: System = EU, config: DetectConfigInput = {}, extra: Partial<MeterContext> = {}) {
  const clock = new ManualClock(T0);
  const detector = new Detector({ edgeId: 'edge-1', context: () => context(sys, extra), clock, config });
  return { clock, detector };
}

/** Deterministic standard normal noise (xorshift + Box-Muller). */
export function noise(seed = 1): () => number {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** A normal reading at index i: nominal values with small noise, ts = T0 + i * STEP, seq = i. */
export function normal(sys: System, i: number, z: () => number, meterId = 'm1'): ReadingIn {
  return {
    meterId,
    ts: T0 + i * STEP,
    seq: i,
    voltage: sys.nominalVoltage * (1 + 0.004 * z()),
    current: 10 + 0.5 * z(),
    power: (sys.nominalVoltage * 10) / 1000 + 0.05 * z(),
    frequency: sys.nominalFrequency + 0.02 * z(),
  };
}

/** Feeds readings and collects every anomaly; checks each against the v1 contract. */
export function feed(d: Detector, readings: ReadingIn[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const r of readings) {
    for (const a of d.onReading(r).anomalies) out.push(checked(a));
  }
  return out;
}

export function checked(a: Anomaly): Anomaly {
  const v = validators.anomaly.validate(a);
  if (!v.ok) throw new Error(`anomaly breaks the v1 contract: ${JSON.stringify(v.problems)} in ${JSON.stringify(a)}`);
  return a;
}

export function warm(d: Detector, sys: System, n = 80, seed = 7, meterId = 'm1'): { next: number; z: () => number; anomalies: Anomaly[] } {
  const z = noise(seed);
  const rs: ReadingIn[] = [];
  for (let i = 0; i < n; i++) rs.push(normal(sys, i, z, meterId));
  return { next: n, z, anomalies: feed(d, rs) };
}

export const summary = (as: Anomaly[]): string[] => as.map((a) => `${a.type}/${a.channel}/${a.state}`);
