// Reliability indices against the simulator's ground truth: a scenario with two sustained outages
// and two momentary interruptions on the 600-meter demo grid; the events a perfect detector would
// raise (truthToDetections) give exactly the figures summed by hand from the truth's meters and times.
import { describe, expect, it } from 'vitest';
import { Topology } from '../../../shared/index.ts';
import { createSimulation, generateTopology, truthToDetections } from '../../../simulator/index.ts';
import { computeReliability, customersServed, interruptionsFrom } from '../../../central/reliability/index.ts';

describe('reliability against the simulator truth', () => {
  it('SAIFI, SAIDI, CAIDI and MAIFI-E per substation equal the truth summed by hand', () => {
    const { actual } = generateTopology({ meters: 600, seed: 7, substations: 3, profile: 'eu', mislabelShare: 0, readingIntervalMs: 10_000 });
    const from = Date.UTC(2026, 10, 23, 0, 0, 0);
    const sim = createSimulation({
      topology: actual, from, to: from + 3 * 3_600_000, intervalMs: 10_000, seed: 7, randomFaults: 0, clockDrift: false, delivery: { lateShare: 0, duplicateShare: 0 },
      faults: [
        { type: 'outage', scope: 'transformer', target: 'sub-02-f01-t002', start: '20m', duration: '12m' },
        { type: 'outage', scope: 'feeder', target: 'sub-01-f02', start: '60m', duration: '25m' },
        { type: 'momentary', scope: 'transformer', target: 'sub-02-f01-t001', start: '100m', duration: '10s', magnitude: 0.02 },
        { type: 'momentary', scope: 'transformer', target: 'sub-01-f01-t001', start: '120m', duration: '20s', magnitude: 0.02 },
      ],
    });
    const truth = sim.truth;
    expect(truth.map((t) => t.type).sort()).toEqual(['momentary', 'momentary', 'outage', 'outage']);
    const topology = new Topology(actual);
    const { events } = truthToDetections(truth);
    const { interruptions } = interruptionsFrom(events, topology);
    const served = customersServed(topology, 'substation');
    const rows = computeReliability(interruptions, { level: 'substation', period: 'range', from, to: from + 86_400_000, placeOf: (m) => topology.meter(m), served });

    // By hand from the truth: customers = meters the fault touched, minutes = its duration.
    for (const sub of served.keys()) {
      const inSub = truth.filter((t) => t.substationId === sub);
      const sustained = inSub.filter((t) => t.type === 'outage');
      const ci = sustained.reduce((n, t) => n + t.meters.length, 0);
      const cmi = sustained.reduce((n, t) => n + (t.meters.length * (t.endTs - t.startTs)) / 60_000, 0);
      const cme = inSub.filter((t) => t.type === 'momentary').reduce((n, t) => n + t.meters.length, 0);
      const n = served.get(sub)!;
      const row = rows.find((r) => r.id === sub)!;
      expect(row.customersServed).toBe(n);
      expect(row.unplanned.customersInterrupted).toBe(ci);
      expect(row.unplanned.saifi).toBeCloseTo(ci / n, 5);
      expect(row.unplanned.saidi).toBeCloseTo(cmi / n, 4);
      expect(row.unplanned.caidi === null ? null : row.unplanned.caidi).toBe(ci === 0 ? null : Math.round((cmi / ci) * 1e6) / 1e6);
      expect(row.unplanned.maifiE).toBeCloseTo(cme / n, 5);
    }
    // The scenario touches two substations, each with a sustained outage and a momentary one.
    expect(rows.filter((r) => r.unplanned.customersInterrupted > 0).map((r) => r.id).sort()).toEqual(['sub-01', 'sub-02']);
    expect(rows.filter((r) => r.unplanned.customerMomentaryEvents > 0).map((r) => r.id).sort()).toEqual(['sub-01', 'sub-02']);
  });
});
