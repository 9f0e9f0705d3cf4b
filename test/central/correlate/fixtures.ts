import type { Anomaly, AnomalyType, EdgeStatus, TopologyEntry } from '../../../shared/contracts/index.ts';
import { ManualClock } from '../../../shared/clock.ts';
import { Topology } from '../../../shared/topology/index.ts';
import { Correlator, type CorrelateConfig } from '../../../central/correlate/index.ts';

export const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);

/**
 * A small grid: S1 has feeders F1-F3, each with four transformers of five meters (60 meters);
 * S2 (F4: T13, T14) and S3 (F5: T15, T16) have ten meters each. Meter ids are `<transformer>.<n>`.
 */
export function smallGrid(): Topology {
  const entries: TopologyEntry[] = [];
  const add = (s: string, f: string, t: string) => {
    for (let n = 1; n <= 5; n++) {
      entries.push({ meterId: `${t}.${n}`, transformerId: t, feederId: f, substationId: s, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });
    }
  };
  for (let t = 1; t <= 12; t++) add('S1', `F${Math.ceil(t / 4)}`, `T${t}`);
  add('S2', 'F4', 'T13');
  add('S2', 'F4', 'T14');
  add('S3', 'F5', 'T15');
  add('S3', 'F5', 'T16');
  return new Topology(entries);
}

export function metersOf(t: string): string[] {
  return [1, 2, 3, 4, 5].map((n) => `${t}.${n}`);
}

export function setup(config: Partial<CorrelateConfig> = {}): { c: Correlator; clock: ManualClock; topology: Topology } {
  const clock = new ManualClock(T0);
  const topology = smallGrid();
  return { c: new Correlator({ topology, clock, config }), clock, topology };
}

const SEVERITY: Record<AnomalyType, Anomaly['severity']> = {
  spike: 'minor', dip: 'minor', stuck: 'minor', drift: 'minor', dropout: 'minor', sag: 'minor', swell: 'minor',
  interruption: 'critical', undervoltage: 'major', overvoltage: 'major', frequency_deviation: 'major',
  overcurrent: 'minor', outage: 'critical', tamper: 'major', pattern: 'minor',
};

/** An anomaly record as an edge sends it; the topology ids are the edge's (labelled) view. */
export function anomaly(meterId: string, type: AnomalyType, startTs: number, over: Partial<Anomaly> = {}): Anomaly {
  const t = meterId.split('.')[0] as string;
  const tn = Number(t.slice(1));
  const feeder = tn <= 12 ? `F${Math.ceil(tn / 4)}` : tn <= 14 ? 'F4' : 'F5';
  const substation = tn <= 12 ? 'S1' : tn <= 14 ? 'S2' : 'S3';
  return {
    anomalyId: `${meterId}:${type}:${startTs}`,
    edgeId: `E-${substation}`,
    meterId,
    substationId: substation,
    feederId: feeder,
    transformerId: t,
    type,
    channel: type === 'outage' || type === 'dropout' || type === 'tamper' ? 'none' : type === 'frequency_deviation' ? 'frequency' : 'voltage',
    state: 'open',
    severity: SEVERITY[type],
    startTs,
    endTs: null,
    observed: null,
    baseline: null,
    detectedAt: startTs + 1000,
    ...over,
  };
}

export function closed(a: Anomaly, endTs: number): Anomaly {
  return { ...a, state: 'closed', endTs };
}

export function heartbeat(edgeId: string, substationId: string, ts: number): EdgeStatus {
  return {
    edgeId, substationId, ts, startedAt: T0 - 3_600_000,
    outbox: { depth: 0, bytes: 0, oldestAgeMs: 0 },
    gaps: { records: 0, readings: 0 },
    rates: { acceptedPerSec: 10, rejectedPerSec: 0, forwardedPerSec: 10 },
    clock: { state: 'ok', medianSkewMs: 5 },
    meters: 60,
    version: 'test',
  };
}
