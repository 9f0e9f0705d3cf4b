import { describe, expect, it } from 'vitest';
import type { Anomaly, GridEvent } from '../../shared/index.ts';
import { score, truthToDetections } from '../../simulator/score.ts';
import { simulateToArrays } from '../../simulator/generate.ts';
import { generateTopology } from '../../simulator/topology.ts';
import type { TruthRecord } from '../../simulator/truth.ts';
import { validators } from '../../shared/index.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const MIN = 60_000;

const sag: TruthRecord = {
  faultId: 'f1',
  type: 'sag',
  scope: 'feeder',
  rootId: 'sub-01-f01',
  substationId: 'sub-01',
  meters: ['m1', 'm2', 'm3', 'm4'],
  startTs: T0,
  endTs: T0 + 3 * MIN,
  magnitude: 0.82,
  expect: { anomalyTypes: ['sag', 'undervoltage'], eventType: 'undervoltage' },
};
const spike: TruthRecord = {
  faultId: 'f2',
  type: 'spike',
  scope: 'meter',
  rootId: 'm9',
  substationId: 'sub-01',
  meters: ['m9'],
  startTs: T0 + 10 * MIN,
  endTs: T0 + 10 * MIN + 10_000,
  magnitude: 0.25,
  expect: { anomalyTypes: ['spike', 'swell'], eventType: 'meter_fault' },
};

function anomaly(meterId: string, type: Anomaly['type'], startTs: number, id = `${meterId}-${type}-${startTs}`): Anomaly {
  return { anomalyId: id, edgeId: 'e1', meterId, substationId: 'sub-01', feederId: null, transformerId: null, type, channel: 'voltage', state: 'open', severity: 'major', startTs, endTs: null, observed: null, baseline: null, detectedAt: startTs + 1000 };
}
function event(scope: GridEvent['scope'], rootId: string, type: GridEvent['type'], startTs: number, meters: string[]): GridEvent {
  return { eventId: `${scope}-${rootId}-${type}-${startTs}`, scope, rootId, substationId: 'sub-01', type, severity: 'major', state: 'open', affectedMeters: meters, affectedCount: meters.length, startTs, endTs: null, updatedAt: startTs + 5000, version: 1 };
}

describe('score', () => {
  it('gives perfect marks to the perfect detections of a truth', () => {
    const { anomalies, events } = truthToDetections([sag, spike]);
    expect(anomalies.every((a) => validators.anomaly.check(a))).toBe(true);
    expect(events.every((e) => validators.gridEvent.check(e))).toBe(true);
    const r = score([sag, spike], anomalies, events);
    for (const p of [...Object.values(r.anomalyTypes), r.anomalyTotal, ...Object.values(r.eventScopes), r.eventTotal]) {
      expect(p.precision).toBe(1);
      expect(p.recall).toBe(1);
      expect(p.f1).toBe(1);
    }
    expect(r.rootAttribution).toEqual({ correct: 2, matched: 2, accuracy: 1 });
    expect(r.delayMs).toEqual({ count: 2, p50: 0, p95: 0 });
    expect(Object.keys(r.anomalyTypes).sort()).toEqual(['sag/undervoltage', 'spike/dip', 'swell/overvoltage']);
  });

  it('gives perfect marks to a whole simulated truth scored against itself', () => {
    const topo = generateTopology({ meters: 200, seed: 1 }).actual;
    const { truth } = simulateToArrays({ topology: topo, from: T0, to: T0 + 3 * 3_600_000, intervalMs: 10_000, seed: 3, randomFaults: 12 });
    expect(truth.length).toBe(12);
    const { anomalies, events } = truthToDetections(truth);
    const r = score(truth, anomalies, events);
    expect(r.anomalyTotal.f1).toBe(1);
    expect(r.eventTotal.f1).toBe(1);
    expect(r.rootAttribution.accuracy).toBe(1);
    expect(r.perFault.every((f) => f.detected)).toBe(true);
  });

  it('counts missed meters, equivalent types, false positives and late detections', () => {
    const anomalies = [
      anomaly('m1', 'sag', T0 + 2000), // hit
      anomaly('m2', 'undervoltage', T0 + 61_000), // same class as sag: hit
      anomaly('m3', 'sag', T0 + 3 * MIN + 5 * MIN), // starts 5 min after the end: beyond 2 min tolerance
      // m4: missed
      anomaly('m7', 'sag', T0 + 1000), // not an affected meter: false positive
      anomaly('m9', 'spike', T0 + 10 * MIN + 3000), // spike hit; its swell is missed
    ];
    const r = score([sag, spike], anomalies, []);
    expect(r.anomalyTypes['sag/undervoltage']).toMatchObject({ truePositives: 2, falsePositives: 2, falseNegatives: 2, precision: 0.5, recall: 0.5 });
    expect(r.anomalyTypes['spike/dip']).toMatchObject({ truePositives: 1, falsePositives: 0, falseNegatives: 0, precision: 1, recall: 1 });
    expect(r.anomalyTypes['swell/overvoltage']).toMatchObject({ truePositives: 0, falseNegatives: 1, precision: null, recall: 0 });
    expect(r.anomalyTotal).toMatchObject({ truePositives: 3, falsePositives: 2, falseNegatives: 3 });
    expect(r.anomalyTotal.precision).toBeCloseTo(3 / 5);
    expect(r.anomalyTotal.recall).toBeCloseTo(3 / 6);
    expect(r.perFault.find((f) => f.faultId === 'f1')).toMatchObject({ detected: true, meterRecall: 0.5, delayMs: 2000 });
    expect(r.delayMs).toEqual({ count: 2, p50: 2000, p95: 3000 });
    // a late detection within tolerance still counts
    expect(score([sag], [anomaly('m3', 'sag', T0 + 4 * MIN)], []).anomalyTotal.truePositives).toBe(1);
    expect(score([sag], [anomaly('m3', 'sag', T0 + 4 * MIN)], [], { toleranceMs: 30_000 }).anomalyTotal.truePositives).toBe(0);
  });

  it('merges open and closed records of one anomaly', () => {
    const open = anomaly('m1', 'sag', T0 + 1000, 'a1');
    const closed = { ...open, state: 'closed' as const, endTs: T0 + 60_000, detectedAt: T0 + 61_000 };
    const r = score([sag], [open, closed], []);
    expect(r.anomalies).toBe(1);
    expect(r.anomalyTotal).toMatchObject({ truePositives: 1, falsePositives: 0, falseNegatives: 3 });
  });

  it('scores grid events by scope and root attribution', () => {
    const events = [
      event('transformer', 'sub-01-f01-t001', 'sag', T0 + 5000, ['m1', 'm2']), // right kind, wrong level: matched, root wrong
      event('feeder', 'sub-01-f02', 'outage', T0 + 5000, ['m50']), // false positive
    ];
    const r = score([sag, spike], [], events);
    // per scope: recall by the fault's scope (found, at whatever level), precision by the event's scope
    expect(r.eventScopes.feeder).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 0 });
    expect(r.eventScopes.transformer).toBeUndefined();
    expect(r.eventScopes.meter).toMatchObject({ truePositives: 0, falseNegatives: 1 });
    expect(r.eventTotal).toMatchObject({ truePositives: 1, falseNegatives: 1 });
    expect(r.rootAttribution).toEqual({ correct: 0, matched: 1, accuracy: 0 });
    const right = score([sag], [], [event('feeder', 'sub-01-f01', 'undervoltage', T0 + 5000, ['m1'])]);
    expect(right.rootAttribution.accuracy).toBe(1);
    expect(right.eventScopes.feeder).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    expect(right.latencyMs.p50).toBe(10_000);
  });

  it('reports nothing detected as zero recall and no precision', () => {
    const r = score([sag], [], []);
    expect(r.anomalyTotal).toMatchObject({ recall: 0, precision: null, f1: null });
    expect(r.perFault[0]!.detected).toBe(false);
    expect(r.delayMs.p50).toBeNull();
  });
});

describe('score: incidental anomalies', () => {
  it('does not count an unexpected anomaly on a faulted meter during its fault as false', () => {
    const r = score([sag], [anomaly('m1', 'sag', T0 + 1000), anomaly('m1', 'dip', T0 + 3 * MIN + 1000), anomaly('m8', 'dip', T0 + 1000)], []);
    expect(r.incidentalAnomalies).toBe(1);
    expect(r.anomalyTypes['spike/dip']).toMatchObject({ truePositives: 0, falsePositives: 1 });
    expect(r.anomalyTotal).toMatchObject({ falsePositives: 1 });
  });
});

describe('score: floods', () => {
  const step: TruthRecord = { ...sag, faultId: 'step', type: 'step', magnitude: -0.05, expect: { anomalyTypes: ['dip'], eventType: 'sag' } };
  const closedAt = (e: GridEvent, updatedAt: number): GridEvent => ({ ...e, state: 'closed', endTs: updatedAt, updatedAt, version: 2 });

  it('a step reported as one event per meter: events per fault is the meter count, each meter event under the feeder event counted', () => {
    const feeder = event('feeder', 'sub-01-f01', 'sag', T0, ['m1', 'm2', 'm3', 'm4']);
    const meterEvents = ['m1', 'm2', 'm3', 'm4'].map((m) => event('meter', m, 'meter_fault', T0 + 1000, [m]));
    const r = score([step], [], [feeder, closedAt(feeder, T0 + 5 * MIN), ...meterEvents]);
    expect(r.flood).toEqual({ eventsPerFault: 5, attributedEvents: 5, faultsWithEvents: 1, meterEventsUnderDeviceEvent: 4, largestBurst: 5, burstWindowMs: 60_000 });
    expect(r.perFault[0]).toMatchObject({ events: 5, eventMeterRecall: 1 });
  });

  it('one feeder event: 1.0, none under it; a meter event after the device event closed is not under it; bursts by window', () => {
    const feeder = event('feeder', 'sub-01-f01', 'sag', T0, ['m1', 'm2', 'm3']);
    const late = event('meter', 'm4', 'meter_fault', T0 + 2 * MIN, ['m4']);
    const tamper = event('meter', 'm1', 'tamper', T0 + 10_000, ['m1']);
    const r = score([step], [], [feeder, closedAt(feeder, T0 + 90_000), late, tamper], { burstWindowMs: 30_000 });
    expect(r.flood).toMatchObject({ eventsPerFault: 3, meterEventsUnderDeviceEvent: 0, largestBurst: 2, burstWindowMs: 30_000 });
    expect(r.perFault[0]?.eventMeterRecall).toBe(0.75);
    const alone = score([step], [], [feeder]);
    expect(alone.flood).toMatchObject({ eventsPerFault: 1, meterEventsUnderDeviceEvent: 0, largestBurst: 1 });
  });

  it('attributes an event touching two faults to the one of its class, so overlapping windows do not inflate the count', () => {
    const outage: TruthRecord = { ...sag, faultId: 'out', type: 'outage', scope: 'substation', rootId: 'sub-01', startTs: T0 + MIN, endTs: T0 + 2 * MIN, expect: { anomalyTypes: ['outage'], eventType: 'outage' } };
    const sagEvent = event('feeder', 'sub-01-f01', 'undervoltage', T0, ['m1', 'm2']);
    const outageEvent = event('substation', 'sub-01', 'outage', T0 + MIN, ['m1', 'm2', 'm3', 'm4']);
    const r = score([sag, outage], [], [sagEvent, outageEvent]);
    expect(r.perFault.map((f) => f.events)).toEqual([1, 1]);
    expect(r.flood.eventsPerFault).toBe(1);
  });
});
