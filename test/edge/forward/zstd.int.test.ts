import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger } from '../../../shared/index.ts';
import { EdgeStore } from '../../../edge/store/index.ts';
import { Forwarder } from '../../../edge/forward/index.ts';
import { testEndpoints } from '../../harness/env.ts';
import { reading, tempDir } from '../store/helpers.ts';
import { consume, ensureTestTopics, forwarderKafka, seqsByMeter, uniqueTopics } from './kafka-helpers.ts';

const brokers = (): string[] => testEndpoints().kafkaBrokers;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Compression codec ids of the record batches in a topic partition's log segments (Kafka's own files). */
function codecsOnTheLog(topic: string): Set<number> {
  const dir = join(testEndpoints().cacheDir, 'data', 'kafka', 'node-1');
  const codecs = new Set<number>();
  for (const d of existsSync(dir) ? readdirSync(dir) : []) {
    if (!d.startsWith(`${topic}-`)) continue;
    for (const f of readdirSync(join(dir, d)).filter((n) => n.endsWith('.log'))) {
      const b = readFileSync(join(dir, d, f));
      // RecordBatch v2: baseOffset 8, batchLength 4, leaderEpoch 4, magic 1, crc 4, attributes 2 (low 3 bits: codec).
      for (let at = 0; at + 23 <= b.length; at += 12 + b.readInt32BE(at + 8)) codecs.add(b.readInt16BE(at + 21) & 7);
    }
  }
  return codecs;
}

describe('zstd record batches (forwardCompression=zstd) against the real Kafka', () => {
  it('the forwarder writes zstd batches that a consumer of this codebase reads back whole and in order', async () => {
    const topics = uniqueTopics('fw-zstd');
    await ensureTestTopics(brokers(), topics.names, 3);
    const store = EdgeStore.open({ dir: tempDir(), edgeId: 'edge-it', budgetBytes: 1e10, synchronous: 'NORMAL', clock: new ManualClock(), logger: silentLogger() });
    const forwarder = new Forwarder({ store, kafka: forwarderKafka(brokers(), 'gw-fw-zstd'), clientId: 'gw-fw-zstd', logger: silentLogger(), topicMap: topics.map, compression: 'zstd' });
    cleanups.push(async () => {
      await forwarder.stop({ drainTimeoutMs: 0 });
      store.close();
    });
    for (let seq = 0; seq < 20; seq++) store.commit({ records: Array.from({ length: 100 }, (_, m) => reading(`m${m}`, seq)) });
    await forwarder.start();
    for (const end = Date.now() + 60_000; store.stats().depth > 0; ) {
      if (Date.now() > end) throw new Error('outbox not drained within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const got = await consume(brokers(), [topics.names.readings], (all) => all.length >= 2000);
    expect(got).toHaveLength(2000);
    const byMeter = seqsByMeter(got);
    expect(byMeter.size).toBe(100);
    for (const seqs of byMeter.values()) expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The broker kept what the producer sent (compression.type=producer): codec 4 is zstd.
    expect(codecsOnTheLog(topics.names.readings)).toEqual(new Set([4]));
  }, 120_000);
});
