// The forwarder's live tail during a backlog drain, against the real Kafka, with grid.readings in
// the Avro single-object encoding read back through central's decode step (central/flows/records.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger } from '../../../shared/index.ts';
import { createKafkaClient } from '../../../shared/kafka/index.ts';
import { EdgeStore } from '../../../edge/store/index.ts';
import { Forwarder } from '../../../edge/forward/index.ts';
import { valueText } from '../../../central/flows/records.ts';
import { testEndpoints, testKafkaSecurity } from '../../harness/env.ts';
import { reading, tempDir } from '../store/helpers.ts';
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

describe('Forwarder live tail (real Kafka, Avro readings)', () => {
  it('live readings committed during a backlog drain go ahead of the backlog; every reading arrives once, decodable, in order per meter', async () => {
    const brokers = testEndpoints().kafkaBrokers;
    const security = testKafkaSecurity();
    const prefix = `livetail-${Date.now().toString(36)}`;
    const topics = uniqueTopics(prefix);
    await ensureTestTopics(brokers, { readings: topics.names.readings }, 3);
    const store = EdgeStore.open({ dir: tempDir(), edgeId: 'edge-it', budgetBytes: 1e10, synchronous: 'NORMAL', clock: new ManualClock(), logger: silentLogger() });
    // 3,000 waiting readings of 10 meters: a backlog for batchMax 200 and backlogRecords 1,000.
    for (let seq = 0; seq < 300; seq++) store.commit({ records: Array.from({ length: 10 }, (_, m) => reading(`b${m}`, seq)) });
    const kafka = createKafkaClient({ brokers, clientId: `gw-${prefix}`, kafkajsLogs: 'debug', retries: 3, security });
    const forwarder = new Forwarder({ store, kafka, clientId: `gw-${prefix}`, logger: silentLogger(), topicMap: topics.map, batchMax: 200, backlogRecords: 1000, readingsEncoding: 'avro' });
    cleanups.push(async () => {
      await forwarder.stop({ drainTimeoutMs: 0 });
      store.close();
    });
    await forwarder.start();
    await waitFor(() => forwarder.status().forwarded > 0, 60_000, 'the first backlog batch');
    for (let seq = 0; seq < 10; seq++) store.commit({ records: Array.from({ length: 5 }, (_, m) => reading(`l${m}`, seq)) });
    await waitFor(() => store.stats().depth === 0, 90_000, 'the outbox to drain');
    expect(forwarder.tailBatches).toBeGreaterThan(0);

    const got: { partition: number; offset: number; meterId: string; seq: number }[] = [];
    const consumer = createKafkaClient({ brokers, clientId: `rd-${prefix}`, security }).consumer({ groupId: `rd-${prefix}` });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: topics.names.readings, fromBeginning: true });
    let undecodable = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        expect(message.value![0]).toBe(0xc3); // Avro single object on the wire
        const t = valueText(message.value!);
        if (t.undecodable) undecodable++;
        const v = JSON.parse(t.text) as { meterId: string; seq: number; voltage: number; readingId?: string };
        got.push({ partition, offset: Number(message.offset), meterId: v.meterId, seq: v.seq });
      },
    });
    await waitFor(() => got.length >= 3050, 60_000, 'every reading from Kafka');
    expect(undecodable).toBe(0);
    expect(got.length).toBe(3050);
    const bySeq = new Map<string, number[]>();
    for (const g of [...got].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) (bySeq.get(g.meterId) ?? bySeq.set(g.meterId, []).get(g.meterId)!).push(g.seq);
    for (const [meter, seqs] of bySeq) expect(seqs, meter).toEqual(Array.from({ length: meter.startsWith('b') ? 300 : 10 }, (_, i) => i));
    // Ahead of the backlog: in a partition holding a live meter, backlog readings follow its live ones.
    const ahead = got.filter((g) => g.meterId.startsWith('l')).some((l) => got.some((b) => b.meterId.startsWith('b') && b.partition === l.partition && b.offset > l.offset));
    expect(ahead).toBe(true);
  });
});
