// Several readings per grid.readings record (GRIDWATCH_READINGS_PER_RECORD, contract
// forwarded-reading-batch/v1) against the real Kafka, read back through central's decode step
// (central/flows/records.ts dispatch), in both encodings.
import kafkajs, { type Batch } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger } from '../../../shared/index.ts';
import { createKafkaClient } from '../../../shared/kafka/index.ts';
import { READINGS_BATCH_CONTRACT } from '../../../shared/contracts/forwarded-reading-avro.ts';
import { EdgeStore, type OutboxRecord } from '../../../edge/store/index.ts';
import { Forwarder } from '../../../edge/forward/index.ts';
import { dispatch, onRaw } from '../../../central/flows/records.ts';
import { testEndpoints, testKafkaSecurity } from '../../harness/env.ts';
import { tempDir } from '../store/helpers.ts';
import { ensureTestTopics, uniqueTopics } from './kafka-helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function reading(meterId: string, seq: number): OutboxRecord {
  const ts = 1_790_000_000_000 + seq * 1000;
  const value = JSON.stringify({ meterId, ts, seq, voltage: 230.1 + seq / 100, current: 1.25, readingId: `${meterId}:${seq}`, edgeId: 'edge-it', substationId: 'S1', feederId: 'F1', transformerId: 'T1', receivedAt: ts + 4 });
  return { topic: 'grid.readings', key: meterId, value, lane: 'readings', ts, meterId, seq };
}

const PARTITIONS = 3;
const METERS = 20;

describe.each(['json', 'avro'] as const)('Forwarder with several readings per record (real Kafka, %s)', (encoding) => {
  it('sends each meter to the partition its key hashes to, in order, fewer records than readings, each reading once through central', async () => {
    const brokers = testEndpoints().kafkaBrokers;
    const security = testKafkaSecurity();
    const prefix = `batched-${encoding}-${Date.now().toString(36)}`;
    const topics = uniqueTopics(prefix);
    await ensureTestTopics(brokers, { readings: topics.names.readings, anomalies: topics.names.anomalies }, PARTITIONS);
    const store = EdgeStore.open({ dir: tempDir(), edgeId: 'edge-it', budgetBytes: 1e10, synchronous: 'NORMAL', clock: new ManualClock(), logger: silentLogger() });
    const kafka = createKafkaClient({ brokers, clientId: `gw-${prefix}`, kafkajsLogs: 'debug', retries: 3, security });
    const forwarder = new Forwarder({ store, kafka, clientId: `gw-${prefix}`, logger: silentLogger(), topicMap: topics.map, batchMax: 400, lingerMs: 0, readingsEncoding: encoding, readingsPerRecord: 50 });
    cleanups.push(async () => {
      await forwarder.stop({ drainTimeoutMs: 0 });
      store.close();
    });
    // 100 seqs of 20 meters = 2,000 readings: the first 20 alone (the send that learns the
    // topic's partition count goes one reading per record), then the rest at once.
    await forwarder.start();
    store.commit({ records: Array.from({ length: METERS }, (_, m) => reading(`m${m}`, 0)) });
    await waitFor(() => store.stats().depth === 0, 60_000, 'the first readings');
    for (let s = 1; s < 100; s++) store.commit({ records: Array.from({ length: METERS }, (_, m) => reading(`m${m}`, s)) });
    await waitFor(() => store.stats().depth === 0, 90_000, 'the outbox to drain');

    const got: { partition: number; offset: number; key: string | null; meterId: string; seq: number; readingId: string }[] = [];
    let records = 0;
    let batchRecords = 0;
    let invalid = 0;
    const consumer = createKafkaClient({ brokers, clientId: `rd-${prefix}`, security }).consumer({ groupId: `rd-${prefix}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: topics.names.readings, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }: { batch: Batch }) => {
        for (const m of batch.messages) {
          records++;
          if (String(m.headers?.['gridwatch-contract']) === READINGS_BATCH_CONTRACT) {
            batchRecords++;
            expect(m.key).toBeNull();
            if (encoding === 'avro') expect(m.value![0]).toBe(0xc3);
          }
        }
        dispatch(batch, onRaw((r) => {
          const v = JSON.parse(r.value!) as { meterId: string; seq: number; readingId: string };
          got.push({ partition: r.partition, offset: Number(r.offset), key: r.key, meterId: v.meterId, seq: v.seq, readingId: v.readingId });
        }), {}, { inc: () => void invalid++ } as never);
      },
    });
    await waitFor(() => got.length >= 2000, 60_000, 'every reading from Kafka');
    await new Promise((r) => setTimeout(r, 500)); // nothing more (no duplicates on a clean run)
    expect(invalid).toBe(0);
    expect(got.length).toBe(2000);
    expect(new Set(got.map((g) => g.readingId)).size).toBe(2000);
    // The first send learns the partition count (one reading per record); the rest are batches
    // of up to 50 readings of one partition (1,980 readings in sends of at most 400 over 3 partitions).
    expect(records - batchRecords).toBe(METERS);
    expect(batchRecords).toBeGreaterThanOrEqual(Math.ceil(1980 / 50));
    expect(batchRecords).toBeLessThanOrEqual(Math.ceil(1980 / 400) * PARTITIONS * Math.ceil(400 / 50));
    // Central keys each reading by its meter; each meter lives on the partition its key hashes to.
    const partitionOf = kafkajs.Partitioners.DefaultPartitioner();
    const meta = Array.from({ length: PARTITIONS }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const g of got) {
      expect(g.key).toBe(g.meterId);
      expect(g.partition, g.meterId).toBe(partitionOf({ topic: topics.names.readings, partitionMetadata: meta, message: { key: g.meterId, value: null } }));
    }
    // Order per meter: by partition offset, then the order inside a record.
    const seqs = new Map<string, number[]>();
    for (const g of got) (seqs.get(g.meterId) ?? seqs.set(g.meterId, []).get(g.meterId)!).push(g.seq);
    for (const [meter, s] of seqs) expect(s, meter).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
