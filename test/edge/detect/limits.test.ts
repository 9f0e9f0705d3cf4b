import { describe, expect, it } from 'vitest';
import type { ReadingIn } from '../../../edge/detect/index.ts';
import { EU, NA, STEP, T0, feed, makeDetector, normal, summary, warm, type System } from './helpers.ts';

/** Readings i.. with voltage set to pu * nominal (other channels normal). */
function volts(sys: System, from: number, pus: number[], z: () => number): ReadingIn[] {
  return pus.map((pu, k) => ({ ...normal(sys, from + k, z), voltage: pu * sys.nominalVoltage }));
}

describe.each([
  ['230 V / 50 Hz', EU],
  ['120 V / 60 Hz', NA],
])('voltage limits, %s', (_name, sys) => {
  it('raises nothing on normal noise over 2,000 readings', () => {
    const { detector } = makeDetector(sys);
    const { anomalies } = warm(detector, sys, 2000, 3);
    expect(anomalies).toEqual([]);
  });

  it('a short sag opens once and closes once, with duration, peak and the same id', () => {
    const { detector, clock } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    clock.set(T0 + 999);
    const out = feed(detector, volts(sys, next, [0.87, 0.84, 0.88, 1.0], z));
    expect(summary(out)).toEqual(['sag/voltage/open', 'sag/voltage/closed']);
    const [open, closed] = out;
    const startTs = T0 + next * STEP;
    expect(open).toMatchObject({ anomalyId: `edge-1:m1:sag:voltage:${startTs}`, state: 'open', severity: 'minor', startTs, endTs: null, baseline: sys.nominalVoltage, detectedAt: T0 + 999 });
    expect(open?.observed).toBeCloseTo(0.87 * sys.nominalVoltage, 9);
    expect(closed).toMatchObject({ anomalyId: open?.anomalyId, state: 'closed', startTs, endTs: startTs + 3 * STEP, durationMs: 3 * STEP });
    expect(closed?.peak).toBeCloseTo(0.84 * sys.nominalVoltage, 9);
    expect(closed?.observed).toBeCloseTo(0.88 * sys.nominalVoltage, 9);
    expect(open).toMatchObject({ edgeId: 'edge-1', meterId: 'm1', substationId: 'sub-1', feederId: 'fdr-1', transformerId: 'tx-1' });
  });

  it('a sag below 0.7 pu is major', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    const out = feed(detector, volts(sys, next, [0.65, 1], z));
    expect(out.map((a) => a.severity)).toEqual(['major', 'major']);
  });

  it('a sag that lasts beyond one minute becomes undervoltage with the original start', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    const low = Array.from({ length: 16 }, () => 0.86); // 16 readings, 75 s
    const out = feed(detector, volts(sys, next, [...low, 1.0], z));
    expect(summary(out)).toEqual(['sag/voltage/open', 'sag/voltage/closed', 'undervoltage/voltage/open', 'undervoltage/voltage/closed']);
    const startTs = T0 + next * STEP;
    expect(out[1]).toMatchObject({ endTs: startTs + 12 * STEP, durationMs: 60_000 });
    expect(out[2]).toMatchObject({ startTs, severity: 'major', anomalyId: `edge-1:m1:undervoltage:voltage:${startTs}` });
    expect(out[3]).toMatchObject({ startTs, endTs: startTs + 16 * STEP, durationMs: 16 * STEP, severity: 'major' });
  });

  it('undervoltage below 0.85 pu is critical', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    const out = feed(detector, volts(sys, next, [...Array.from({ length: 13 }, () => 0.82), 1], z));
    expect(out.map((a) => `${a.type}:${a.severity}`)).toEqual(['sag:minor', 'sag:minor', 'undervoltage:critical', 'undervoltage:critical']);
  });

  it('an interruption opens and closes without current, power or frequency verdicts', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    const dead = [0, 1, 2].map((k) => ({ ...normal(sys, next + k, z), voltage: 0, current: 0, power: 0, frequency: 0 }));
    const out = feed(detector, [...dead, normal(sys, next + 3, z), normal(sys, next + 4, z)]);
    expect(summary(out)).toEqual(['interruption/voltage/open', 'interruption/voltage/closed']);
    expect(out[0]?.severity).toBe('critical');
    expect(out[1]).toMatchObject({ peak: 0, durationMs: 3 * STEP });
  });

  it('a swell opens and closes; one lasting beyond a minute becomes overvoltage', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    let out = feed(detector, volts(sys, next, [1.12, 1.13, 1.0], z));
    expect(summary(out)).toEqual(['swell/voltage/open', 'swell/voltage/closed']);
    expect(out[1]?.peak).toBeCloseTo(1.13 * sys.nominalVoltage, 9);
    out = feed(detector, volts(sys, next + 3, [...Array.from({ length: 13 }, () => 1.15), 1.0], z));
    expect(summary(out)).toEqual(['swell/voltage/open', 'swell/voltage/closed', 'overvoltage/voltage/open', 'overvoltage/voltage/closed']);
    expect(out[2]?.severity).toBe('major');
  });

  it('hysteresis: a value oscillating around 0.9 pu is one sag, not a flapping series', () => {
    const { detector } = makeDetector(sys);
    const { next, z } = warm(detector, sys);
    const wobble = Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? 0.895 : 0.912));
    const out = feed(detector, volts(sys, next, [...wobble, 1.0], z));
    expect(summary(out)).toEqual(['sag/voltage/open', 'sag/voltage/closed']);
  });

  it('without the exit band the same series flaps (the test above can fail)', () => {
    const { detector } = makeDetector(sys, { sagExitPu: 0.9 });
    const { next, z } = warm(detector, sys);
    const wobble = Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? 0.895 : 0.912));
    const out = feed(detector, volts(sys, next, wobble, z)).filter((a) => a.type === 'sag');
    expect(out.length).toBe(10); // 5 opens, 5 closes
    expect(new Set(out.map((a) => a.anomalyId)).size).toBe(5);
  });
});

describe('frequency deviation', () => {
  it('50 Hz: opens below 49.5 Hz, not at 49.55 Hz; critical below 47 Hz', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const f = (i: number, hz: number): ReadingIn => ({ ...normal(EU, i, z), frequency: hz });
    // 49.55 Hz is within the band: at most a statistical dip, never a frequency deviation.
    expect(feed(detector, [f(next, 49.55)]).filter((a) => a.type === 'frequency_deviation')).toEqual([]);
    const out = feed(detector, [f(next + 1, 49.4), f(next + 2, 49.58), f(next + 3, 46.5), f(next + 4, 50)]).filter((a) => a.type === 'frequency_deviation');
    expect(summary(out)).toEqual(['frequency_deviation/frequency/open', 'frequency_deviation/frequency/closed']);
    expect(out[0]).toMatchObject({ severity: 'major', baseline: 50, observed: 49.4 });
    expect(out[1]).toMatchObject({ severity: 'critical', peak: 46.5, endTs: T0 + (next + 4) * STEP });
  });

  it('60 Hz: the same 1 % band, 59.4-60.6 Hz', () => {
    const { detector } = makeDetector(NA);
    const { next, z } = warm(detector, NA);
    const f = (i: number, hz: number): ReadingIn => ({ ...normal(NA, i, z), frequency: hz });
    expect(summary(feed(detector, [f(next, 59.45), f(next + 1, 60.55)]))).toEqual(['dip/frequency/open', 'dip/frequency/closed', 'spike/frequency/open']);
    const out = feed(detector, [f(next + 2, 60.7), f(next + 3, 60)]);
    // The open spike ends when the limit rule takes the channel over, before the deviation opens.
    expect(summary(out)).toEqual(['spike/frequency/closed', 'frequency_deviation/frequency/open', 'frequency_deviation/frequency/closed']);
    expect(out[0]?.endTs).toBe(out[1]?.startTs);
    expect(out[1]?.baseline).toBe(60);
  });
});

describe('over-current', () => {
  it('opens above the rating, peaks, and closes below 0.95 of it', () => {
    const { detector } = makeDetector(EU, {}, { ratedCurrentA: 60 });
    const { next, z } = warm(detector, EU);
    const c = (i: number, a: number): ReadingIn => ({ ...normal(EU, i, z), current: a });
    const out = feed(detector, [c(next, 70), c(next + 1, 95), c(next + 2, 58), c(next + 3, 10)]);
    expect(summary(out)).toEqual(['overcurrent/current/open', 'overcurrent/current/closed']);
    expect(out[0]).toMatchObject({ severity: 'minor', observed: 70, baseline: 60 });
    expect(out[1]).toMatchObject({ severity: 'critical', peak: 95, endTs: T0 + (next + 3) * STEP });
  });

  it('is not judged without a rating (the jump is then only an info spike)', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const out = feed(detector, [{ ...normal(EU, next, z), current: 70 }, normal(EU, next + 1, z)]);
    expect(summary(out)).toEqual(['spike/current/open', 'spike/current/closed']);
    expect(out[0]?.severity).toBe('info');
  });
});
