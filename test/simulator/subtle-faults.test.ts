import { describe, expect, it } from 'vitest';
import type { Reading } from '../../shared/index.ts';
import { parseScenario, type FaultSpec } from '../../simulator/faults.ts';
import { simulateToArrays, type SimulationOptions } from '../../simulator/generate.ts';
import { subtleVisibleAt } from '../../simulator/subtle-faults.ts';
import { generateTopology } from '../../simulator/topology.ts';

const MIN = 60_000;
const topo = generateTopology({ meters: 160, seed: 3, substations: 1 });
const actual = topo.actual;
const meter = actual[10]!.meterId;
const transformer = actual[10]!.transformerId;
const nominal = new Map(actual.map((e) => [e.meterId, e.nominalVoltage]));
const opts = (hourUtc: number, faults: FaultSpec[]): SimulationOptions => {
  const from = Date.UTC(2026, 10, 23, hourUtc);
  return { topology: actual, from, to: from + 60 * MIN, intervalMs: 30_000, seed: 9, faults };
};
const of = (rs: Reading[], id: string, after = 0) => rs.filter((r) => r.meterId === id && (r.ts as number) >= after);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const start = (o: SimulationOptions) => o.from + 20 * MIN;

/** Runs with and without the fault; the model's RNG draws the same numbers in both (except neutral). */
function pair(hour: number, spec: FaultSpec) {
  const faulted = opts(hour, [spec]);
  return { with: simulateToArrays(faulted), without: simulateToArrays(opts(hour, [])), from: start(faulted) };
}

function withinLimits(rs: Reading[]) {
  for (const r of rs) {
    const pu = r.voltage / nominal.get(r.meterId)!;
    expect(pu).toBeGreaterThan(0.9);
    expect(pu).toBeLessThan(1.1);
  }
}

describe('subtle faults', () => {
  it('energy diversion: consumption falls by more than half, voltage stays exactly as before', () => {
    const p = pair(19, { type: 'diversion', target: meter, start: '20m', duration: '40m' });
    const a = of(p.with.readings, meter, p.from);
    const b = of(p.without.readings, meter, p.from);
    expect(mean(a.map((r) => r.power!)) / mean(b.map((r) => r.power!))).toBeCloseTo(0.35, 2);
    expect(a.map((r) => r.voltage)).toEqual(b.map((r) => r.voltage));
    withinLimits(p.with.readings);
    expect(p.with.truth[0]).toMatchObject({ type: 'diversion', scope: 'meter', rootId: meter, meters: [meter], expect: { anomalyTypes: ['pattern'] } });
  });

  it('failed PV inverter: exports before the fault, none during it, while neighbours with PV still export', () => {
    const p = pair(12, { type: 'pv_inverter', target: meter, start: '20m', duration: '40m' });
    expect(Math.min(...of(p.with.readings, meter).filter((r) => (r.ts as number) < p.from).map((r) => r.power!))).toBeLessThan(-0.5);
    expect(Math.min(...of(p.with.readings, meter, p.from).map((r) => r.power!))).toBeGreaterThan(0);
    const exporting = new Set(p.with.readings.filter((r) => (r.ts as number) >= p.from && r.power! < 0).map((r) => r.meterId));
    expect(exporting.size).toBeGreaterThan(3);
    withinLimits(p.with.readings);
    const f = p.with.truth[0]!;
    expect(subtleVisibleAt(f, f.startTs)).toBe(true);
    expect(subtleVisibleAt(f, f.startTs + 10 * 3_600_000)).toBe(false); // 22:00: nothing to export
  });

  it('degrading transformer: every meter under it drops further with load, the others not at all', () => {
    const p = pair(19, { type: 'transformer_degrading', scope: 'transformer', target: transformer, start: '20m', duration: '40m' });
    const under = actual.filter((e) => e.transformerId === transformer).map((e) => e.meterId);
    const late = p.from + 20 * MIN;
    for (const id of under) {
      const drop = mean(of(p.without.readings, id, late).map((r) => r.voltage)) - mean(of(p.with.readings, id, late).map((r) => r.voltage));
      expect(drop / nominal.get(id)!).toBeGreaterThan(0.004);
    }
    const other = actual.find((e) => e.transformerId !== transformer)!.meterId;
    expect(of(p.with.readings, other).map((r) => r.voltage)).toEqual(of(p.without.readings, other).map((r) => r.voltage));
    withinLimits(p.with.readings);
    expect(p.with.truth[0]).toMatchObject({ scope: 'transformer', rootId: transformer, meters: under });
  });

  it('abnormal load profile: a constant heavy night load where there was none', () => {
    const p = pair(1, { type: 'load_profile', target: meter, start: '20m', duration: '40m' });
    const extra = mean(of(p.with.readings, meter, p.from).map((r) => r.power!)) - mean(of(p.without.readings, meter, p.from).map((r) => r.power!));
    const peak = Math.max(...of(p.without.readings, meter).map((r) => r.power!));
    expect(extra).toBeGreaterThan(peak); // 0.6 x the customer's peak, while night load is ~0.15 x
    expect(std(of(p.with.readings, meter, p.from).map((r) => r.power!))).toBeLessThan(0.2);
    withinLimits(p.with.readings);
  });

  it('loose neutral: the voltage swings with load, far more than a neighbour, within the limits', () => {
    const p = pair(19, { type: 'neutral', target: meter, start: '20m', duration: '40m' });
    const swing = std(of(p.with.readings, meter, p.from).map((r) => r.voltage));
    const before = std(of(p.with.readings, meter).filter((r) => (r.ts as number) < p.from).map((r) => r.voltage));
    const neighbour = actual.find((e) => e.transformerId === transformer && e.meterId !== meter)!.meterId;
    const theirs = std(of(p.with.readings, neighbour, p.from).map((r) => r.voltage));
    expect(swing).toBeGreaterThan(3 * before);
    expect(swing).toBeGreaterThan(3 * theirs);
    withinLimits(p.with.readings);
  });

  it('scenario files accept the subtle kinds at their scopes and refuse others', () => {
    const ok = parseScenario('faults:\n  - { type: neutral, start: 1h, duration: 2d }\n  - { type: transformer_degrading, scope: transformer, start: 0s, duration: 1d }\n', 'yaml');
    expect(ok.faults).toHaveLength(2);
    expect(() => parseScenario('faults:\n  - { type: diversion, scope: feeder, start: 0s, duration: 1h }\n', 'yaml')).toThrow(/diversion cannot be injected at scope feeder/);
  });
});
