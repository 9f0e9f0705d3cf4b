import { describe, expect, it } from 'vitest';
import type { ReadingIn } from '../../../edge/detect/index.ts';
import { EU, NA, STEP, T0, feed, makeDetector, noise, normal, summary, warm } from './helpers.ts';

describe('spike and dip', () => {
  it('one far reading opens a spike and the next normal one closes it', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const out = feed(detector, [{ ...normal(EU, next, z), voltage: 245 }, normal(EU, next + 1, z)]);
    expect(summary(out)).toEqual(['spike/voltage/open', 'spike/voltage/closed']);
    expect(out[0]).toMatchObject({ severity: 'major', observed: 245, startTs: T0 + next * STEP });
    expect(out[0]?.baseline).toBeGreaterThan(229);
    expect(out[0]?.baseline).toBeLessThan(231);
    expect(out[1]).toMatchObject({ peak: 245, durationMs: STEP, anomalyId: out[0]?.anomalyId });
  });

  it('a frequency dip within the EN 50160 band is a dip (60 Hz)', () => {
    const { detector } = makeDetector(NA);
    const { next, z } = warm(detector, NA);
    const out = feed(detector, [{ ...normal(NA, next, z), frequency: 59.8 }, normal(NA, next + 1, z)]);
    expect(summary(out)).toEqual(['dip/frequency/open', 'dip/frequency/closed']);
    expect(out[0]?.severity).toBe('minor');
  });

  it('gives no statistical verdict during warm-up (fewer than W readings in the window)', () => {
    const { detector } = makeDetector(EU, { windowSize: 60, warmupReadings: 60 });
    const z = noise(11);
    const rs: ReadingIn[] = [];
    for (let i = 0; i < 60; i++) rs.push(i === 59 ? { ...normal(EU, i, z), voltage: 245, power: 9 } : normal(EU, i, z));
    expect(feed(detector, rs)).toEqual([]);
    // Reading 61 meets a full window: the same outlier is now a spike.
    const out = feed(detector, [{ ...normal(EU, 60, z), voltage: 248 }]);
    expect(summary(out)).toEqual(['spike/voltage/open']);
  });

  it('outliers do not poison the baseline: a second, smaller spike is still seen against ~230 V', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const out = feed(detector, [
      { ...normal(EU, next, z), voltage: 300 },
      normal(EU, next + 1, z),
      { ...normal(EU, next + 2, z), voltage: 240 },
      normal(EU, next + 3, z),
    ]);
    expect(summary(out)).toEqual(['swell/voltage/open', 'swell/voltage/closed', 'spike/voltage/open', 'spike/voltage/closed']);
    const again = feed(detector, [{ ...normal(EU, next + 4, z), voltage: 253 }, normal(EU, next + 5, z), { ...normal(EU, next + 6, z), voltage: 240 }]);
    expect(summary(again)).toEqual(['spike/voltage/open', 'spike/voltage/closed', 'spike/voltage/open']);
    expect(Math.abs((again[2]?.baseline ?? 0) - 230)).toBeLessThan(1);
  });

  it('a level shift is one dip that closes once the window has followed the new level', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const rs = Array.from({ length: 60 }, (_, k) => ({ ...normal(EU, next + k, z), voltage: 224 + 0.9 * z() }));
    const out = feed(detector, rs);
    expect(summary(out)).toEqual(['dip/voltage/open', 'dip/voltage/closed']);
    expect(out[1]?.durationMs).toBeGreaterThan(5 * STEP);
    expect(out[1]?.durationMs).toBeLessThan(40 * STEP);
  });

  it('a value hovering between the exit and enter thresholds does not flap', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU, 80, 5);
    // sigma is at the floor (0.92 V): 5 sigma = 4.6 V to open, 3 sigma = 2.76 V to close.
    const rs = Array.from({ length: 5 }, (_, k) => ({ ...normal(EU, next + k, z), voltage: k % 2 === 0 ? 236 : 234 }));
    const out = feed(detector, [...rs, normal(EU, next + 5, z)]);
    expect(summary(out)).toEqual(['spike/voltage/open', 'spike/voltage/closed']);
  });
});

describe('stuck', () => {
  it('opens at the 20th identical voltage with the start of the run, closes on the next change', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const flat = Array.from({ length: 19 }, (_, k) => ({ ...normal(EU, next + k, z), voltage: 231 }));
    expect(feed(detector, flat)).toEqual([]);
    const out = feed(detector, [{ ...normal(EU, next + 19, z), voltage: 231 }, { ...normal(EU, next + 20, z), voltage: 231 }, normal(EU, next + 21, z)]);
    expect(summary(out)).toEqual(['stuck/voltage/open', 'stuck/voltage/closed']);
    expect(out[0]).toMatchObject({ startTs: T0 + next * STEP, observed: 231, severity: 'minor' });
    expect(out[1]).toMatchObject({ endTs: T0 + (next + 21) * STEP, durationMs: 21 * STEP });
  });

  it('exact zeros of current and power (night, empty house) are never stuck', () => {
    const { detector } = makeDetector(EU);
    const z = noise(4);
    const rs = Array.from({ length: 200 }, (_, i) => ({ ...normal(EU, i, z), current: 0, power: 0 }));
    expect(feed(detector, rs)).toEqual([]);
  });

  it('a constant residual voltage during an interruption is not stuck', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const rs = Array.from({ length: 40 }, (_, k) => ({ ...normal(EU, next + k, z), voltage: 1.5, current: 0, power: 0, frequency: 0 }));
    expect(summary(feed(detector, rs))).toEqual(['interruption/voltage/open']);
  });

  it('meters are judged independently', () => {
    const { detector } = makeDetector(EU);
    const a = warm(detector, EU, 80, 1, 'a');
    const b = warm(detector, EU, 80, 2, 'b');
    const out = feed(detector, [{ ...normal(EU, a.next, a.z, 'a'), voltage: 195 }, normal(EU, b.next, b.z, 'b'), normal(EU, a.next + 1, a.z, 'a')]);
    expect(out.map((x) => `${x.meterId}:${x.type}:${x.state}`)).toEqual(['a:sag:open', 'a:sag:closed']);
    expect(detector.meterCount()).toBe(2);
  });

  it('a constant non-zero power is stuck after 30 readings', () => {
    const { detector } = makeDetector(EU);
    const z = noise(4);
    const rs = Array.from({ length: 30 }, (_, i) => ({ ...normal(EU, i, z), power: 1.25 }));
    expect(summary(feed(detector, rs))).toEqual(['stuck/power/open']);
  });
});

describe('drift', () => {
  const cfg = { windowSize: 20, warmupReadings: 20, driftLongReadings: 100 };

  it('a slow ramp away from the long baseline opens drift, returning closes it, nothing else fires', () => {
    const { detector } = makeDetector(EU, cfg);
    const { next, z } = warm(detector, EU, 150, 9);
    const up = Array.from({ length: 100 }, (_, k) => ({ ...normal(EU, next + k, z), voltage: 230 + 0.19 * k + 0.9 * z() }));
    const opened = feed(detector, up);
    expect(summary(opened)).toEqual(['drift/voltage/open']);
    const base = opened[0]?.baseline ?? 0;
    expect(Math.abs(base - 230)).toBeLessThan(15);
    expect(Math.abs((opened[0]?.observed ?? 0) - base) / base).toBeGreaterThan(0.04);
    const top = 230 + 0.19 * 99;
    const down = Array.from({ length: 300 }, (_, k) => ({ ...normal(EU, next + 100 + k, z), voltage: Math.max(base, top - 0.19 * k) + 0.9 * z() }));
    const closed = feed(detector, down);
    expect(summary(closed)).toEqual(['drift/voltage/closed']);
    expect(closed[0]?.anomalyId).toBe(opened[0]?.anomalyId);
  });

  it('a single spike does not cause drift', () => {
    const { detector } = makeDetector(EU, cfg);
    const { next, z } = warm(detector, EU, 150, 9);
    const out = feed(detector, [{ ...normal(EU, next, z), voltage: 250 }, ...Array.from({ length: 50 }, (_, k) => normal(EU, next + 1 + k, z))]);
    expect(summary(out)).toEqual(['spike/voltage/open', 'spike/voltage/closed']);
  });
});
