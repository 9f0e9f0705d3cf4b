// The forwarder's two lanes, each with its own loop and producer: an anomaly committed while a
// readings request is on the wire is sent at once, not after that request (issue 12 goal 6: with
// one loop it waited for it, ~0.5 s at p50 and ~3 s at p95 at 10,000 readings/s). The outbox is
// the real SQLite store; Kafka is a fake whose readings sends are held until released, which only
// a fake can do on purpose (the real-Kafka behaviour of the same loops: forwarder.int.test.ts,
// live-tail, batched, zstd, and the 64 kbit/s link of test/reliability/link-faults.int.test.ts).
import kafkajs, { type Kafka, type ProducerBatch, type ProducerConfig, type RecordMetadata } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Forwarder } from '../../../edge/forward/index.ts';
import { silentLogger } from '../../../shared/index.ts';
import { anomaly, openStore, reading, tempDir } from '../store/helpers.ts';

const { CompressionTypes } = kafkajs;

interface Sent { producer: number; topic: string; values: string[]; at: number; compression: number | undefined }

/** A Kafka of one partition per topic; sends to `held` topics wait for release(). */
function fakeKafka(held: Set<string>) {
  const sent: Sent[] = [];
  let producers = 0;
  let release: (() => void) | null = null;
  let gate = new Promise<void>((r) => (release = r));
  const inFlight: string[] = [];
  const kafka = {
    producer(cfg: ProducerConfig) {
      const id = ++producers;
      const partitioner = cfg.createPartitioner!();
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        async sendBatch(b: ProducerBatch): Promise<RecordMetadata[]> {
          const topics = (b.topicMessages ?? []).map((t) => t.topic);
          if (topics.some((t) => held.has(t))) {
            inFlight.push(...topics);
            await gate;
          }
          const acks: RecordMetadata[] = [];
          for (const t of b.topicMessages ?? []) {
            for (const m of t.messages) partitioner({ topic: t.topic, partitionMetadata: [{ partitionId: 0, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }], message: m });
            sent.push({ producer: id, topic: t.topic, values: t.messages.map((m) => String(m.value)), at: performance.now(), compression: b.compression });
            acks.push({ topicName: t.topic, partition: 0, errorCode: 0 });
          }
          return acks;
        },
      };
    },
  } as unknown as Kafka;
  return {
    kafka,
    sent,
    inFlight,
    release: () => {
      release?.();
      gate = new Promise<void>((r) => (release = r));
    },
    producers: () => producers,
  };
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** A real outbox, the fake Kafka holding sends to `held` topics, a forwarder that never lingers. */
function setup(held: string[]) {
  const store = openStore(tempDir());
  const k = fakeKafka(new Set(held));
  const f = new Forwarder({ store, kafka: k.kafka, clientId: 'lanes', logger: silentLogger(), lingerMs: 0 });
  stops.push(async () => {
    k.release();
    await f.stop({ drainTimeoutMs: 0 });
    store.close();
  });
  return { store, k, f };
}

describe('forwarder lanes', () => {
  it('sends an anomaly committed during a readings send before that send is acknowledged', async () => {
    const { store, k, f } = setup(['grid.readings']);
    store.commit({ records: Array.from({ length: 300 }, (_, i) => reading(`m${i % 30}`, Math.floor(i / 30))) });
    await f.start();
    await waitFor(() => k.inFlight.includes('grid.readings'), 'the readings send to be on the wire');
    store.commit({ records: [anomaly('m3', 1)] });
    f.wake();
    // The anomaly reaches Kafka and leaves the outbox while the readings request is still held.
    await waitFor(() => store.waitingIn('control') === 0, 'the anomaly to be acknowledged');
    expect(k.sent.map((s) => s.topic)).toEqual(['grid.anomalies']);
    expect(store.waitingIn('readings')).toBe(300);
    // Its own producer: the readings request does not queue it.
    const anomalySend = k.sent[0]!;
    k.release();
    await waitFor(() => store.stats().depth === 0, 'the outbox to drain');
    const readingSends = k.sent.filter((s) => s.topic === 'grid.readings');
    expect(readingSends.length).toBeGreaterThan(0);
    expect(new Set(readingSends.map((s) => s.producer)).has(anomalySend.producer)).toBe(false);
    // Readings still leave in commit order (one lane, one loop).
    const seqs = readingSends.flatMap((s) => s.values.map((v) => (JSON.parse(v) as { meterId: string; seq: number })));
    expect(seqs.map((r) => `${r.meterId}:${r.seq}`)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i % 30}:${Math.floor(i / 30)}`));
    expect(f.status()).toMatchObject({ forwarded: 301, connected: true });
  });

  it('keeps sending readings while a control send is held', async () => {
    const { store, k, f } = setup(['grid.anomalies']);
    store.commit({ records: [anomaly('m1', 1)] });
    await f.start();
    await waitFor(() => k.inFlight.includes('grid.anomalies'), 'the control send to be on the wire');
    store.commit({ records: Array.from({ length: 50 }, (_, i) => reading('m1', i)) });
    f.wake();
    await waitFor(() => store.waitingIn('readings') === 0, 'the readings to be acknowledged');
    expect(store.waitingIn('control')).toBe(1);
    k.release();
    await waitFor(() => store.stats().depth === 0, 'the outbox to drain');
    expect(k.producers()).toBe(2);
  });

  it('sends a small control batch uncompressed (no queue behind the readings in the zlib pool), a storm of them and readings with the codec', async () => {
    const { store, k, f } = setup([]);
    await f.start();
    store.commit({ records: [anomaly('m1', 1), reading('m1', 1)] });
    f.wake();
    await waitFor(() => store.stats().depth === 0, 'the first two');
    store.commit({ records: Array.from({ length: 17 }, (_, i) => anomaly(`m${i}`, 2)) });
    f.wake();
    await waitFor(() => store.stats().depth === 0, 'the storm');
    const by = (topic: string) => k.sent.filter((s) => s.topic === topic).map((s) => [s.values.length, s.compression]);
    expect(by('grid.anomalies')).toEqual([[1, CompressionTypes.None], [17, CompressionTypes.GZIP]]);
    expect(by('grid.readings')).toEqual([[1, CompressionTypes.GZIP]]);
  });
});
