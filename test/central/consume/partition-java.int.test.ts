import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../central/consume/kafka.ts';
import { kafkaClasspath } from '../../../deploy/services/index.ts';

const PROGRAM = join(import.meta.dirname, 'java', 'KafkaPartitions.java');

/** Kafka's own answer (the broker jars' kafka-clients, run with `java` in single-file source mode). */
function javaPartitions(classpath: string, counts: number[], keys: string[]): Map<string, number> {
  const out = execFileSync('java', ['-cp', classpath, PROGRAM, counts.join(','), ...keys], { encoding: 'utf8', timeout: 90_000 });
  return new Map(out.trim().split('\n').map((line) => {
    const [n, key, p] = line.split('\t') as [string, string, string];
    return [`${n}/${key}`, Number(p)];
  }));
}

describe('partitionOf against Kafka\'s Java partitioner', () => {
  it('agrees on every key for every partition count', async () => {
    const classpath = await kafkaClasspath();
    const keys = [
      ...Array.from({ length: 120 }, (_, i) => `sub-${String(i).padStart(2, '0')}`),
      ...Array.from({ length: 60 }, (_, i) => `edge-${i}`),
      ...Array.from({ length: 40 }, (_, i) => `S${i}`),
      'grid', 'a', 'ab', 'abc', 'abcd', 'Ümlaut-ß', 'подстанция-1', '変電所-7', 'x'.repeat(300),
    ];
    const counts = [1, 2, 3, 6, 7, 12, 64, 1000];
    const java = javaPartitions(classpath, counts, keys);
    expect(java.size).toBe(keys.length * counts.length);
    const ours = new Map(counts.flatMap((n) => keys.map((k) => [`${n}/${k}`, partitionOf(k, n)] as const)));
    expect(ours).toEqual(java);
    // Not trivially equal: the keys spread over the partitions.
    expect(new Set(keys.map((k) => java.get(`64/${k}`))).size).toBeGreaterThan(40);
  }, 120_000);
});
