import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import type { MeterEventType } from '../../../shared/contracts/index.ts';
import { Detector, type DetectConfigInput, type ReadingIn } from '../../../edge/detect/index.ts';
import { RollingStats } from '../../../edge/detect/window.ts';
import { EU, NA, STEP, T0, context, noise } from './helpers.ts';

type Op = { now: number } & ({ k: 'r'; r: ReadingIn } | { k: 'e'; e: { meterId: string; ts: number; type: MeterEventType } } | { k: 't' });

const CFG: DetectConfigInput = { windowSize: 20, warmupReadings: 20, driftLongReadings: 60, stuckReadings: { voltage: 8, current: 8, power: 8 }, latenessMs: 30_000 };

/** A messy stream for three meters: noise, sags, swells, spikes, flatlines, gaps, reorderings, duplicates, events. */
function scenario(seed: number, steps = 400): Op[] {
  const z = noise(seed);
  let s = seed * 7919 + 1;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
  const ops: Op[] = [];
  const meters = [
    { id: 'a', sys: EU, mode: 'normal', left: 0, seq: 0 },
    { id: 'b', sys: NA, mode: 'normal', left: 0, seq: 0 },
    { id: 'c', sys: EU, mode: 'normal', left: 0, seq: 0 },
  ];
  const last = new Map<string, ReadingIn>();
  for (let i = 0; i < steps; i++) {
    const now = T0 + i * STEP + 50;
    for (const m of meters) {
      if (m.left <= 0) {
        const u = rnd();
        m.mode = u < 0.9 ? 'normal' : (['sag', 'swell', 'spike', 'stuck', 'gap', 'ramp', 'dead'][Math.floor(rnd() * 7)] as string);
        m.left = m.mode === 'normal' ? 5 + Math.floor(rnd() * 20) : 1 + Math.floor(rnd() * 25);
      }
      m.left--;
      if (m.mode === 'gap') continue;
      const vn = m.sys.nominalVoltage;
      let v = vn * (1 + 0.004 * z());
      if (m.mode === 'sag') v = vn * (0.75 + 0.1 * rnd());
      else if (m.mode === 'swell') v = vn * (1.11 + 0.05 * rnd());
      else if (m.mode === 'spike') v = vn * 1.05;
      else if (m.mode === 'stuck') v = vn;
      else if (m.mode === 'ramp') v = vn * (1 + 0.002 * (25 - m.left));
      else if (m.mode === 'dead') v = 0;
      const dead = m.mode === 'dead';
      const r: ReadingIn = { meterId: m.id, ts: T0 + i * STEP, seq: m.seq++, voltage: v, current: dead ? 0 : 10 + z(), power: dead ? 0 : 2 + 0.2 * z(), frequency: dead ? 0 : m.sys.nominalFrequency * (1 + (rnd() < 0.02 ? 0.012 : 0.0003 * z())) };
      const u = rnd();
      if (u < 0.03 && last.has(m.id)) ops.push({ now, k: 'r', r: last.get(m.id) as ReadingIn }); // duplicate
      if (u > 0.97) ops.push({ now, k: 'r', r: { ...r, ts: r.ts - Math.floor(rnd() * 60_000), seq: undefined } }); // out of order or late
      ops.push({ now, k: 'r', r });
      last.set(m.id, r);
      if (dead && rnd() < 0.3) ops.push({ now, k: 'e', e: { meterId: m.id, ts: r.ts, type: 'last_gasp' } });
      if (!dead && rnd() < 0.02) ops.push({ now, k: 'e', e: { meterId: m.id, ts: r.ts, type: rnd() < 0.5 ? 'power_restored' : 'magnet' } });
    }
    if (i % 3 === 0) ops.push({ now, k: 't' });
  }
  return ops;
}

function make(clock: ManualClock): Detector {
  return new Detector({ edgeId: 'edge-1', clock, config: { ...CFG, tamperClearMs: 120_000 }, context: (id) => context(id === 'b' ? NA : EU, { ratedCurrentA: 12 }) });
}

function apply(d: Detector, op: Op): string {
  if (op.k === 'r') return JSON.stringify(d.onReading(op.r));
  if (op.k === 'e') return JSON.stringify(d.onMeterEvent(op.e));
  return JSON.stringify(d.tick());
}

describe('snapshot and restore', () => {
  it.each([1, 2, 3, 4, 5, 6])('a detector restored after op k behaves exactly as the original (seed %i)', (seed) => {
    const ops = scenario(seed);
    let withOpen = 0;
    let total = 0;
    for (const k of [5, 40, Math.floor(ops.length / 3), Math.floor(ops.length / 2), ops.length - 30]) {
      const clock = new ManualClock(T0);
      const a = make(clock);
      for (let i = 0; i < k; i++) {
        clock.set((ops[i] as Op).now);
        apply(a, ops[i] as Op);
      }
      if (a.openAnomalies().length > 0) withOpen++;
      const snap = JSON.parse(JSON.stringify(a.exportAll())) as ReturnType<Detector['exportAll']>;
      const b = make(clock);
      b.importAll(snap);
      expect(b.openAnomalies()).toEqual(a.openAnomalies());
      expect(b.meterCount()).toBe(a.meterCount());
      for (let i = k; i < ops.length; i++) {
        const op = ops[i] as Op;
        clock.set(op.now);
        const ra = apply(a, op);
        expect(apply(b, op)).toBe(ra);
        if (ra.includes('"state"')) total++;
      }
      expect(JSON.stringify(b.exportAll())).toBe(JSON.stringify(a.exportAll()));
    }
    // The property is only worth something if the stream was eventful.
    expect(withOpen).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(20);
  });

  it('restores a meter in warm-up with its counters (no verdict until W readings in total)', () => {
    const clock = new ManualClock(T0);
    const a = make(clock);
    const z = noise(2);
    for (let i = 0; i < 10; i++) a.onReading({ meterId: 'a', ts: T0 + i * STEP, voltage: 230 + z() });
    const b = make(clock);
    b.importMeter('a', JSON.parse(JSON.stringify(a.exportMeter('a'))));
    for (let i = 10; i < 19; i++) expect(b.onReading({ meterId: 'a', ts: T0 + i * STEP, voltage: 230 + z() }).anomalies).toEqual([]);
    // Reading 20 is still warm-up (19 in the window); reading 21 meets a full window and is judged.
    expect(b.onReading({ meterId: 'a', ts: T0 + 19 * STEP, voltage: 240 }).anomalies).toEqual([]);
    expect(b.onReading({ meterId: 'a', ts: T0 + 20 * STEP, voltage: 250 }).anomalies.map((x) => x.type)).toEqual(['spike']);
    expect(a.exportMeter('zz')).toBeUndefined();
  });

  it('snapshots are compact plain JSON', () => {
    const clock = new ManualClock(T0);
    const a = make(clock);
    const z = noise(3);
    for (let i = 0; i < 200; i++) a.onReading({ meterId: 'a', ts: T0 + i * STEP, seq: i, voltage: 230 + z(), current: 10 + z(), power: 2 + z() * 0.1, frequency: 50 + 0.01 * z() });
    const s = a.exportMeter('a');
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(JSON.stringify(s).length).toBeLessThan(4 * 20 * 22 + 1000);
  });
});

describe('RollingStats', () => {
  it('matches a two-pass mean and sample deviation across wraps and recomputes', () => {
    const z = noise(5);
    const w = new RollingStats(50);
    const all: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      const x = 1e4 + 3 * z();
      w.push(x);
      all.push(x);
      if (i % 97 === 0 || i === 4_999) {
        const last = all.slice(-50);
        const mean = last.reduce((p, c) => p + c, 0) / last.length;
        const sd = last.length < 2 ? 0 : Math.sqrt(last.reduce((p, c) => p + (c - mean) ** 2, 0) / (last.length - 1));
        expect(w.mean()).toBeCloseTo(mean, 9);
        expect(w.std()).toBeCloseTo(sd, 9);
      }
    }
  });

  it('replays a snapshot from another window size oldest first', () => {
    const w = new RollingStats(10);
    for (let i = 1; i <= 25; i++) w.push(i);
    const r = RollingStats.import(5, w.export());
    expect(r.count).toBe(5);
    expect(r.mean()).toBe(23); // 21..25
    const same = RollingStats.import(10, w.export());
    expect(same.mean()).toBe(w.mean());
    expect(same.std()).toBe(w.std());
  });
});
