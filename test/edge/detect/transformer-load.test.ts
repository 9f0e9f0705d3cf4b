// Transformer overload: the summed apparent power of a transformer's meters against its rating.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import type { Anomaly } from '../../../shared/contracts/index.ts';
import { Detector, type ReadingIn } from '../../../edge/detect/index.ts';
import { apparentKva } from '../../../edge/detect/transformer-load.ts';
import { EU, STEP, T0, context } from './helpers.ts';

// Four meters under tx-1 rated 10 kVA: 230 V x 10 A = 2.3 kVA each, 9.2 kVA in all (0.92 pu).
const METERS = ['m1', 'm2', 'm3', 'm4'];
const RATING = 10;

function setup(kva: number | null = RATING) {
  const clock = new ManualClock(T0);
  const detector = new Detector({ edgeId: 'edge-1', clock, context: (id) => context(EU, { transformerId: id === 'other' ? 'tx-2' : 'tx-1', ...(kva === null ? {} : { transformerKva: kva }) }) });
  return { clock, detector };
}

const overloads = (list: Anomaly[]) => list.filter((a) => a.type === 'overcurrent');

/** One interval i: every meter reads at `amps`. The overcurrent anomalies it caused (a step in load is also a statistical spike: not looked at here). */
function interval(d: Detector, i: number, amps: number, meters = METERS): Anomaly[] {
  return overloads(allOf(d, i, amps, meters));
}

function allOf(d: Detector, i: number, amps: number, meters = METERS): Anomaly[] {
  const out: Anomaly[] = [];
  for (const [k, meterId] of meters.entries()) {
    // Tiny jitter so that no channel looks stuck (+-0.1 %).
    const j = 1 + (((i * 7 + k * 3) % 5) - 2) * 0.0005;
    const r: ReadingIn = { meterId, ts: T0 + i * STEP, seq: i, voltage: 230 * j, current: amps * j, power: (230 * amps * j * j) / 1000, frequency: 50 * (1 + (j - 1) / 10) };
    out.push(...d.onReading(r).anomalies);
  }
  return out;
}

describe('transformer overload', () => {
  it('computes apparent power from V x I, else |P| / power factor', () => {
    expect(apparentKva({ meterId: 'm', ts: 0, voltage: 230, current: 10 })).toBeCloseTo(2.3);
    expect(apparentKva({ meterId: 'm', ts: 0, voltage: 230, power: -1.8, powerFactor: 0.9 })).toBeCloseTo(2);
    expect(apparentKva({ meterId: 'm', ts: 0, voltage: 230 })).toBe(0);
  });

  it('stays quiet below the rating, however long', () => {
    const { detector } = setup();
    const out: Anomaly[] = [];
    for (let i = 0; i < 200; i++) out.push(...allOf(detector, i, 10));
    expect(out).toEqual([]);
  });

  it('opens one overcurrent per meter after the hold, and closes each once below the exit level', () => {
    const { detector } = setup();
    for (let i = 0; i < 70; i++) expect(interval(detector, i, 10)).toEqual([]);
    // 13.5 A each: 12.4 kVA, 1.24 pu (major). Held for 3 intervals before anything opens.
    const opened: Anomaly[] = [];
    for (let i = 70; i < 73; i++) expect(interval(detector, i, 13.5)).toEqual([]);
    for (let i = 73; i < 90; i++) opened.push(...interval(detector, i, 13.5));
    expect(opened.map((a) => `${a.meterId}/${a.type}/${a.channel}/${a.state}/${a.severity}`)).toEqual(METERS.map((m) => `${m}/overcurrent/power/open/major`));
    expect(opened[0]).toMatchObject({ startTs: T0 + 70 * STEP, baseline: RATING, transformerId: 'tx-1' });
    expect(opened[0]!.observed).toBeGreaterThan(RATING);
    // Back to 0.97 pu: inside the hysteresis band, still open.
    expect(interval(detector, 90, 10.55)).toEqual([]);
    expect(overloads(detector.openAnomalies())).toHaveLength(4);
    // Below 0.95 pu: each closes once (on its first reading after the sum fell below).
    const closed = [...interval(detector, 91, 10), ...interval(detector, 92, 10)];
    expect(closed.map((a) => `${a.meterId}/${a.state}`).sort()).toEqual(METERS.map((m) => `${m}/closed`));
    expect(closed.find((a) => a.meterId === 'm1')).toMatchObject({ anomalyId: opened[0]!.anomalyId, severity: 'major' });
    expect(overloads(detector.openAnomalies())).toEqual([]);
  });

  it('does not open for an overload shorter than the hold, nor for another transformer', () => {
    const { detector } = setup();
    for (let i = 0; i < 10; i++) interval(detector, i, 10, [...METERS, 'other']);
    const out: Anomaly[] = [];
    for (let i = 10; i < 12; i++) out.push(...interval(detector, i, 14));
    for (let i = 12; i < 40; i++) out.push(...interval(detector, i, 10, [...METERS, 'other']));
    expect(out).toEqual([]);
  });

  it('is off without a rating in the topology', () => {
    const { detector } = setup(null);
    const out: Anomaly[] = [];
    for (let i = 0; i < 40; i++) out.push(...interval(detector, i, 30));
    expect(out).toEqual([]);
  });

  it('keeps an open overload across a restart without flapping, and closes it once the load is back', () => {
    const { detector } = setup();
    for (let i = 0; i < 20; i++) interval(detector, i, 14);
    expect(overloads(detector.openAnomalies())).toHaveLength(4);
    const snapshot = detector.exportAll();
    const { detector: restored } = setup();
    restored.importAll(JSON.parse(JSON.stringify(snapshot)) as typeof snapshot);
    expect(overloads(restored.openAnomalies())).toHaveLength(4);
    // The first interval after the restart rebuilds the sums: nothing closes or re-opens.
    expect(interval(restored, 20, 14)).toEqual([]);
    expect(interval(restored, 21, 14)).toEqual([]);
    const out = [...interval(restored, 22, 10), ...interval(restored, 23, 10)];
    expect(out.map((a) => a.state)).toEqual(['closed', 'closed', 'closed', 'closed']);
  });
});
