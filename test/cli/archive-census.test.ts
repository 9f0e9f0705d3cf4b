import { describe, expect, it } from 'vitest';
import { ReadingIdentities } from '../../cli/demo/archive-census.ts';

describe('the archive census\'s reading identities', () => {
  it('counts each (meter, seq) once and finds the second as a duplicate', () => {
    const ids = new ReadingIdentities();
    expect(ids.add('m1', 5)).toBe(true);
    expect(ids.add('m1', 5)).toBe(false);
    expect(ids.add('m2', 5)).toBe(true);
    expect(ids.add('m1', 6)).toBe(true);
    expect(ids.size).toBe(3);
  });
  it('keeps what it saw when a meter\'s seq goes below its first one and far above it', () => {
    const ids = new ReadingIdentities();
    for (const seq of [1000, 3, 1_000_000, 0, 999]) expect(ids.add('m', seq)).toBe(true);
    for (const seq of [1000, 3, 1_000_000, 0, 999]) expect(ids.add('m', seq)).toBe(false);
    expect(ids.size).toBe(5);
  });
  it('keeps a seq that is no small integer as a string, still de-duplicated', () => {
    const ids = new ReadingIdentities();
    for (const seq of ['7', 1.5, -1, 2 ** 60, undefined]) expect(ids.add('m', seq)).toBe(true);
    for (const seq of ['7', 1.5, -1, 2 ** 60, undefined]) expect(ids.add('m', seq)).toBe(false);
    // A seq 2^30 past the meter's others would need a bitmap past the 16 MiB bound.
    expect(ids.add('m', 1)).toBe(true);
    expect(ids.add('m', 2 ** 30)).toBe(true);
    expect(ids.add('m', 2 ** 30)).toBe(false);
    expect(ids.size).toBe(7);
  });
  it('holds more than a Set can (2^24 entries): an hour at 10,000 readings/s is 36 million', () => {
    const ids = new ReadingIdentities();
    const meters = 5000;
    const perMeter = 3600;
    for (let seq = 0; seq < perMeter; seq++) for (let m = 0; m < meters; m++) ids.add(`meter-${m}`, seq);
    expect(ids.size).toBe(meters * perMeter);
    expect(ids.size).toBeGreaterThan(2 ** 24);
    expect(ids.add('meter-4999', 3599)).toBe(false);
  });
});
