import { describe, expect, it } from 'vitest';
import { validators, type Reading } from '../../shared/index.ts';
import { simulateToArrays, type SimulationOptions } from '../../simulator/generate.ts';
import type { FaultSpec } from '../../simulator/faults.ts';
import { generateTopology } from '../../simulator/topology.ts';

const FROM = Date.UTC(2026, 10, 23, 12, 0, 0);
const MIN = 60_000;
const topo = generateTopology({ meters: 240, seed: 11, substations: 2 });
const actual = topo.actual;
const base: SimulationOptions = { topology: actual, from: FROM, to: FROM + 40 * MIN, intervalMs: 10_000, seed: 5 };

const byMeter = (readings: Reading[]) => {
  const m = new Map<string, Reading[]>();
  for (const r of readings) (m.get(r.meterId) ?? m.set(r.meterId, []).get(r.meterId)!).push(r);
  return m;
};
const inside = (r: Reading, start: number, end: number) => (r.ts as number) >= start && (r.ts as number) < end;
const pu = (r: Reading) => r.voltage / actual.find((e) => e.meterId === r.meterId)!.nominalVoltage;

describe('meter model', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const opts = { ...base, to: FROM + 5 * MIN, randomFaults: 0 };
    const a = simulateToArrays(opts);
    const b = simulateToArrays(opts);
    const c = simulateToArrays({ ...opts, seed: 6 });
    expect(a.readings.length).toBe(240 * 30);
    expect(a.readings).toEqual(b.readings);
    expect(c.readings).not.toEqual(a.readings);
  });

  it('sends valid v1 readings with increasing seq, in event-time order, at normal voltage and frequency', () => {
    const { readings, items } = simulateToArrays({ ...base, to: FROM + 5 * MIN });
    expect(readings.every((r) => validators.reading.check(r))).toBe(true);
    for (const list of byMeter(readings).values()) {
      for (let i = 1; i < list.length; i++) {
        expect(list[i]!.seq).toBe(list[i - 1]!.seq! + 1);
        expect(list[i]!.energy!).toBeGreaterThanOrEqual(list[i - 1]!.energy!);
      }
    }
    for (let i = 1; i < items.length; i++) expect(items[i]!.deliverAt).toBeGreaterThanOrEqual(items[i - 1]!.deliverAt);
    for (const r of readings) {
      expect(pu(r)).toBeGreaterThan(0.95);
      expect(pu(r)).toBeLessThan(1.05);
      expect(Math.abs(r.frequency! / 50 - 1)).toBeLessThan(0.005);
    }
  });

  it('couples the voltages of meters under one transformer', () => {
    const { readings } = simulateToArrays({ ...base, to: FROM + 2 * MIN });
    const t = actual[0]!.transformerId;
    const same = readings.filter((r) => actual.find((e) => e.meterId === r.meterId)!.transformerId === t).map(pu);
    const spread = Math.max(...same) - Math.min(...same);
    const all = readings.map(pu);
    expect(spread).toBeLessThanOrEqual(Math.max(...all) - Math.min(...all));
  });

  it('offsets meter clocks when clock drift is on, and only then', () => {
    const opts = { ...base, to: FROM + 60_000 };
    const plain = simulateToArrays(opts).items.filter((i) => i.kind === 'reading');
    expect(plain.every((i) => i.kind === 'reading' && i.reading.ts === i.at)).toBe(true);
    const drifted = simulateToArrays({ ...opts, clockDrift: true }).items.filter((i) => i.kind === 'reading');
    const skews = drifted.map((i) => (i.kind === 'reading' ? (i.reading.ts as number) - i.at : 0));
    expect(skews.filter((s) => s !== 0).length).toBeGreaterThan(drifted.length * 0.9);
    expect(Math.max(...skews.map(Math.abs))).toBeLessThan(10_000);
  });

  it('applies late and duplicate delivery when asked', () => {
    const { readings, items } = simulateToArrays({ ...base, to: FROM + 5 * MIN, delivery: { lateShare: 0.1, duplicateShare: 0.05 } });
    expect(readings.length).toBeGreaterThan(240 * 30);
    const outOfOrder = items.filter((it, i) => i > 0 && it.kind === 'reading' && it.at < items[i - 1]!.at).length;
    expect(outOfOrder).toBeGreaterThan(0);
    const keys = readings.map((r) => `${r.meterId}:${r.seq}`);
    expect(new Set(keys).size).toBe(240 * 30);
  });
});

describe('injected faults show in the readings', () => {
  const feeder = actual.find((e) => e.substationId === 'sub-01')!.feederId;
  const otherFeeder = actual.find((e) => e.substationId === 'sub-02')!.feederId;
  const transformer = actual.find((e) => e.feederId === otherFeeder)!.transformerId;
  const meters = actual.filter((e) => e.substationId === 'sub-02' && e.transformerId !== transformer).map((e) => e.meterId);
  const faults: FaultSpec[] = [
    { type: 'sag', scope: 'feeder', target: feeder, start: '15m', duration: '3m' },
    { type: 'outage', scope: 'transformer', target: transformer, start: '15m', duration: '5m' },
    { type: 'spike', target: meters[0], start: '15m', duration: '10s' },
    { type: 'stuck', target: meters[1], start: '15m', duration: '5m' },
    { type: 'drift', target: meters[2], start: '15m', duration: '10m' },
    { type: 'dropout', target: meters[3], start: '15m', duration: '3m' },
    { type: 'tamper', target: meters[4], start: '15m', duration: '5m' },
    { type: 'frequency', scope: 'grid', start: '30m', duration: '2m' },
    { type: 'swell', scope: 'feeder', target: feeder, start: '30m', duration: '2m' },
  ];
  const sim = simulateToArrays({ ...base, faults });
  const readings = byMeter(sim.readings);
  const truth = Object.fromEntries(sim.truth.map((t) => [`${t.type}:${t.scope}`, t]));
  const T = (k: string) => truth[k]!;

  it('writes one truth record per fault with its meters and expectations', () => {
    expect(sim.truth).toHaveLength(faults.length);
    expect(T('sag:feeder').meters).toEqual(actual.filter((e) => e.feederId === feeder).map((e) => e.meterId));
    expect(T('sag:feeder').expect).toEqual({ anomalyTypes: ['sag', 'undervoltage'], eventType: 'undervoltage' });
    expect(T('frequency:grid')).toMatchObject({ rootId: 'grid', substationId: null, magnitude: -0.015 });
    expect(T('frequency:grid').meters).toHaveLength(240);
    expect(T('outage:transformer').expect).toEqual({ anomalyTypes: ['outage'], eventType: 'outage' });
  });

  it('feeder sag: affected voltages in the sag band during the fault, normal outside', () => {
    const f = T('sag:feeder');
    for (const m of f.meters) {
      for (const r of readings.get(m)!) {
        if (inside(r, f.startTs, f.endTs)) {
          expect(pu(r)).toBeGreaterThan(0.8);
          expect(pu(r)).toBeLessThan(0.85);
        } else if (!inside(r, T('swell:feeder').startTs, T('swell:feeder').endTs)) {
          expect(pu(r)).toBeGreaterThan(0.95);
        }
      }
    }
    const swell = T('swell:feeder');
    for (const m of swell.meters) {
      for (const r of readings.get(m)!.filter((r) => inside(r, swell.startTs, swell.endTs))) {
        expect(pu(r)).toBeGreaterThan(1.12);
        expect(pu(r)).toBeLessThan(1.15);
      }
    }
  });

  it('outage: no readings during the fault, one last gasp per meter (all at once per concentrator), power restored after', () => {
    const f = T('outage:transformer');
    expect(f.meters.length).toBeGreaterThan(5);
    for (const m of f.meters) {
      const list = readings.get(m)!;
      expect(list.filter((r) => inside(r, f.startTs, f.endTs))).toHaveLength(0);
      expect(list.some((r) => (r.ts as number) >= f.endTs)).toBe(true);
    }
    const gasps = sim.events.filter((e) => e.type === 'last_gasp');
    expect(gasps.map((g) => g.meterId).sort()).toEqual([...f.meters].sort());
    expect(new Set(gasps.map((g) => g.ts)).size).toBe(1);
    const delay = (gasps[0]!.ts as number) - f.startTs;
    expect(delay).toBeGreaterThanOrEqual(30_000);
    expect(delay).toBeLessThanOrEqual(45_000);
    const restored = sim.events.filter((e) => e.type === 'power_restored');
    expect(restored.map((g) => g.meterId).sort()).toEqual([...f.meters].sort());
    expect(restored.every((e) => (e.ts as number) >= f.endTs)).toBe(true);
    expect([...gasps, ...restored].every((e) => validators.meterEvent.check(e))).toBe(true);
  });

  it('meter faults: spike, stuck, drift, dropout, tamper', () => {
    const spike = T('spike:meter');
    const sp = readings.get(spike.meters[0]!)!.filter((r) => inside(r, spike.startTs, spike.endTs));
    expect(sp).toHaveLength(1);
    expect(pu(sp[0]!)).toBeGreaterThan(1.15);

    const stuck = T('stuck:meter');
    const st = readings.get(stuck.meters[0]!)!.filter((r) => inside(r, stuck.startTs, stuck.endTs));
    expect(st.length).toBeGreaterThanOrEqual(29);
    expect(new Set(st.map((r) => JSON.stringify({ ...r, ts: 0, seq: 0 }))).size).toBe(1);

    const drift = T('drift:meter');
    const dr = readings.get(drift.meters[0]!)!.filter((r) => inside(r, drift.startTs, drift.endTs));
    const before = readings.get(drift.meters[0]!)!.filter((r) => (r.ts as number) < drift.startTs).slice(-10);
    const mean = (l: Reading[]) => l.reduce((s, r) => s + pu(r), 0) / l.length;
    expect(mean(dr.slice(-6)) - mean(before)).toBeGreaterThan(0.045);

    const dropout = T('dropout:meter');
    const dl = readings.get(dropout.meters[0]!)!;
    expect(dl.filter((r) => inside(r, dropout.startTs, dropout.endTs))).toHaveLength(0);
    const after = dl.find((r) => (r.ts as number) >= dropout.endTs)!;
    const last = [...dl].reverse().find((r) => (r.ts as number) < dropout.startTs)!;
    expect(after.seq! - last.seq!).toBeGreaterThanOrEqual(18); // readings taken but never delivered

    const tamper = T('tamper:meter');
    const tl = readings.get(tamper.meters[0]!)!.filter((r) => inside(r, tamper.startTs, tamper.endTs));
    expect(Math.max(...tl.map((r) => Math.abs(r.power!)))).toBeLessThan(0.1);
    expect(tl.every((r) => pu(r) > 0.95)).toBe(true);
    expect(sim.events.filter((e) => e.type === 'tamper').map((e) => e.meterId)).toEqual(tamper.meters);
  });

  it('frequency excursion shows on every meter, and only during the fault', () => {
    const f = T('frequency:grid');
    for (const [, list] of readings) {
      for (const r of list) {
        const dev = r.frequency! / 50 - 1;
        if (inside(r, f.startTs, f.endTs)) expect(dev).toBeLessThan(-0.013);
        else expect(Math.abs(dev)).toBeLessThan(0.005);
      }
    }
    const during = [...readings.values()].filter((l) => l.some((r) => inside(r, f.startTs, f.endTs)));
    expect(during).toHaveLength(240);
  });

  it('transformer overload: summed apparent power reaches the magnitude times the rating', () => {
    const t = actual[0]!;
    const s = simulateToArrays({ ...base, to: FROM + 20 * MIN, faults: [{ type: 'overload', target: t.transformerId, start: '10m', duration: '5m' }] });
    const f = s.truth[0]!;
    const window = s.readings.filter((r) => f.meters.includes(r.meterId) && inside(r, f.startTs + 0.3 * (f.endTs - f.startTs) + 10_000, f.endTs - 10_000)); // after the ramp-in
    const perTick = new Map<number, number>();
    for (const r of window) {
      const k = Math.floor(((r.ts as number) - FROM) / 10_000);
      perTick.set(k, (perTick.get(k) ?? 0) + Math.abs(r.power!) / r.powerFactor!);
    }
    for (const kva of perTick.values()) expect(kva / t.transformerKva!).toBeGreaterThan(1.25);
    const normal = s.readings.filter((r) => f.meters.includes(r.meterId) && (r.ts as number) < f.startTs - 10_000);
    const normalKva = normal.reduce((sum, r) => sum + Math.abs(r.power!) / r.powerFactor!, 0) / (normal.length / f.meters.length);
    expect(normalKva / t.transformerKva!).toBeLessThan(1);
  });
});
