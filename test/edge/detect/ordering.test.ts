import { describe, expect, it } from 'vitest';
import { EMPTY_RESULT } from '../../../edge/detect/index.ts';
import { EU, STEP, T0, feed, makeDetector, normal, summary, warm } from './helpers.ts';

describe('event time, lateness and duplicates', () => {
  it('a repeated seq is duplicate_seq and is not judged, even with a different value', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const r = normal(EU, next, z);
    expect(detector.onReading(r)).toBe(EMPTY_RESULT);
    const again = detector.onReading({ ...r, voltage: 150 }); // the replacement of an estimate
    expect(again.flags).toEqual(['duplicate_seq']);
    expect(again.anomalies).toEqual([]);
  });

  it('a duplicate of the reading that opened a sag never opens it twice', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const sag = { ...normal(EU, next, z), voltage: 195 };
    const out = [...detector.onReading(sag).anomalies];
    expect(detector.onReading(sag)).toEqual({ anomalies: [], flags: ['duplicate_seq'] });
    out.push(...feed(detector, [sag, { ...sag, seq: undefined }, normal(EU, next + 1, z)]));
    expect(summary(out)).toEqual(['sag/voltage/open', 'sag/voltage/closed']);
  });

  it('a redelivery without seq (same ts) is judged once', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const sag = { ...normal(EU, next, z), voltage: 195, seq: undefined };
    const out = feed(detector, [sag, sag, sag]);
    expect(summary(out)).toEqual(['sag/voltage/open']);
  });

  it('seq arriving out of order is out_of_order, not duplicate; its repeat is duplicate_seq', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const a = normal(EU, next, z);
    const b = normal(EU, next + 1, z);
    expect(detector.onReading(b)).toBe(EMPTY_RESULT);
    expect(detector.onReading(a).flags).toEqual(['out_of_order']);
    expect(detector.onReading(a).flags).toEqual(['duplicate_seq']);
    expect(detector.onReading(b).flags).toEqual(['duplicate_seq']);
  });

  it('an out-of-order reading within the bound opens nothing and closes nothing', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const late = { ...normal(EU, next - 3, z), seq: undefined, voltage: 190 };
    const r = detector.onReading(late);
    expect(r).toEqual({ anomalies: [], flags: ['out_of_order'] });
    // An open sag is not closed by an older normal reading either.
    const out = feed(detector, [{ ...normal(EU, next, z), voltage: 195 }]);
    expect(detector.onReading({ ...normal(EU, next - 1, z), seq: undefined })).toEqual({ anomalies: [], flags: ['out_of_order'] });
    out.push(...feed(detector, [normal(EU, next + 1, z)]));
    expect(summary(out)).toEqual(['sag/voltage/open', 'sag/voltage/closed']);
    expect(out[1]?.endTs).toBe(T0 + (next + 1) * STEP);
  });

  it('a reading older than the lateness bound is late as well as out_of_order', () => {
    const { detector } = makeDetector(EU, { latenessMs: 60_000 });
    const { next, z } = warm(detector, EU);
    const old = { ...normal(EU, next - 14, z), seq: 10_000 };
    expect(detector.onReading(old)).toEqual({ anomalies: [], flags: ['out_of_order', 'late'] });
    const edge = { ...normal(EU, next - 13, z), ts: T0 + (next - 1) * STEP - 60_000, seq: 10_001 };
    expect(detector.onReading(edge).flags).toEqual(['out_of_order']);
  });

  it('a late reading does not enter the statistics (the window is unchanged)', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const before = JSON.stringify(detector.exportMeter('m1')?.c[0]?.w);
    detector.onReading({ ...normal(EU, next - 100, z), seq: undefined });
    expect(JSON.stringify(detector.exportMeter('m1')?.c[0]?.w)).toBe(before);
  });

  it('a seq counter that restarts (far lower seq, newer ts) is accepted', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    expect(detector.onReading({ ...normal(EU, next, z), seq: 5 })).toBe(EMPTY_RESULT);
    expect(detector.onReading({ ...normal(EU, next + 1, z), seq: 6 })).toBe(EMPTY_RESULT);
    expect(detector.onReading({ ...normal(EU, next + 2, z), seq: 6 }).flags).toEqual(['duplicate_seq']);
  });

  it('the shared empty result is frozen', () => {
    const { detector } = makeDetector(EU);
    const { next, z } = warm(detector, EU);
    const r = detector.onReading(normal(EU, next, z));
    expect(r).toBe(EMPTY_RESULT);
    expect(() => r.anomalies.push({} as never)).toThrow(TypeError);
  });
});
