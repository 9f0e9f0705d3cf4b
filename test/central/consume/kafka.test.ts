import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../central/consume/kafka.ts';

// Recorded from Kafka's own Java partitioner (kafka-clients 4.4.0, BuiltInPartitioner.partitionForKey)
// with test/central/consume/java/KafkaPartitions.java; partition-java.int.test.ts runs it live over
// many more keys. Partition choice decides which central instance owns a substation.
const GOLDEN: Record<number, Record<string, number>> = {
  6: { S01: 0, S02: 4, grid: 1, 'substation-17': 3, 'edge-1': 5, 'sub-01': 5, 'sub-02': 1, 'sub-03': 2, 'edge-sub-01': 2, 'Ümlaut-ß': 0 },
  12: { S01: 0, S02: 10, grid: 1, 'substation-17': 9, 'edge-1': 5, 'sub-01': 5, 'sub-02': 1, 'sub-03': 8, 'edge-sub-01': 8, 'Ümlaut-ß': 6 },
  64: { S01: 52, S02: 18, grid: 29, 'substation-17': 13, 'edge-1': 29, 'sub-01': 25, 'sub-02': 57, 'sub-03': 48, 'edge-sub-01': 20, 'Ümlaut-ß': 58 },
};

describe('partitionOf', () => {
  it('is stable and within range', () => {
    for (const key of ['S01', 'S02', 'grid', 'substation-17']) {
      const p = partitionOf(key, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      expect(partitionOf(key, 6)).toBe(p);
    }
  });

  it('picks the partition Kafka\'s Java partitioner picks (recorded golden values)', () => {
    for (const [n, keys] of Object.entries(GOLDEN)) {
      const ours = Object.fromEntries(Object.keys(keys).map((k) => [k, partitionOf(k, Number(n))]));
      expect(ours, `${n} partitions`).toEqual(keys);
    }
  });
});
