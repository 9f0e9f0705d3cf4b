/**
 * Goals 2 and 3 of the edge: the forwarder drains the outbox the intake phases filled (real
 * forwarded-reading records, `FULL`, retainForReplay) while a paced live load keeps committing new
 * readings into the same outbox, as after a link outage. Yardstick in the same run: a bare kafkajs
 * producer with the Forwarder's settings (idempotent, acks=all, one request in flight, same
 * compression, same batch size) sending the same records from memory, no SQLite.
 *
 * Live readings are stored under their own topic name, mapped to a topic of their own created
 * with `message.timestamp.type=LogAppendTime`, so each record's timestamp is the moment the broker
 * appended it; their value carries the moment they were committed. Delay = append - commit.
 */
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import { silentLogger, TOPICS } from '../shared/index.ts';
import { createKafkaClient, ensureTopicsOn, topicSpecs } from '../shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from '../shared/kafka/security.ts';
import { Forwarder, type ForwardCompression } from '../edge/forward/index.ts';
import { EdgeStore, GroupCommitter, type StoredRecord } from '../edge/store/index.ts';
import { deleteTopicsWithPrefix } from './edge-fleet.ts';

export interface DrainResult {
  bareProducerPerSec: number;
  drainPerSec: number;
  drained: number;
  errors: number;
  liveRatePerSec: number;
  liveSent: number;
  liveArrived: number;
  liveDelayP50Ms: number | null;
  liveDelayP99Ms: number | null;
  tailBatches: number;
  batchMax: number;
  compression: ForwardCompression;
}

const LIVE_TOPIC = 'bench.live-readings';

const q = (sorted: number[], p: number) => (sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10);

export async function drainPhase(store: EdgeStore, o: { brokers: string[]; batchMax: number; liveRate: number; compression: ForwardCompression; log: (l: string) => void }): Promise<DrainResult> {
  const prefix = `bench-edge-${Date.now().toString(36)}-${process.pid}.`;
  const security = kafkaSecurityFromEnv();
  const kafka = createKafkaClient({ clientId: 'bench-edge-bare', brokers: o.brokers, security });
  const bareTopic = `${prefix}bare`;
  const liveTopic = `${prefix}live`;
  const names = Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [k, `${prefix}${v}`]));
  await ensureTopicsOn(kafka, topicSpecs(names as never), { partitions: 6 });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: bareTopic, numPartitions: 6 }, { topic: liveTopic, numPartitions: 6, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
  await admin.disconnect();
  const topicMap: Record<string, string> = { ...Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [v, names[k]!])), [LIVE_TOPIC]: liveTopic };
  try {
    // Yardstick: up to 100,000 of the waiting records, from memory, as the Forwarder sends them.
    const sample: StoredRecord[] = store.peek('readings', Math.min(100_000, store.waitingIn('readings')));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const codec = o.compression === 'gzip' ? kafkajs.CompressionTypes.GZIP : kafkajs.CompressionTypes.None;
    const tb = performance.now();
    for (let i = 0; i < sample.length; i += o.batchMax) {
      const rows = sample.slice(i, i + o.batchMax);
      await producer.sendBatch({ topicMessages: [{ topic: bareTopic, messages: rows.map((r) => ({ key: r.key, value: r.value, headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `bench:${r.id}` } })) }], acks: -1, compression: codec });
    }
    const bareRate = (sample.length / (performance.now() - tb)) * 1000;
    await producer.disconnect();
    o.log(`bare kafkajs producer (same settings, from memory): ${Math.round(bareRate)} records/s over ${sample.length}`);

    // The drain, with live readings committed at a paced rate meanwhile.
    const backlog = store.stats().depth;
    const committer = new GroupCommitter(store, { maxDelayMs: 2, maxRecords: 2000 });
    const fw = new Forwarder({ store, kafka: createKafkaClient({ brokers: o.brokers, clientId: 'bench-edge', kafkajsLogs: 'debug', retries: 3, security }), clientId: 'bench-edge', logger: silentLogger(), batchMax: o.batchMax, topicMap, compression: o.compression });
    let liveSent = 0;
    let seq = 0;
    const t0 = performance.now();
    const live = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * o.liveRate) - liveSent;
      if (due <= 0) return;
      const at = Date.now();
      const records = Array.from({ length: due }, (_, i) => {
        const meterId = `live-${(liveSent + i) % 500}`;
        return { topic: LIVE_TOPIC, key: meterId, value: JSON.stringify({ meterId, seq: seq++, committedAt: at }), lane: 'readings' as const, ts: at, meterId, seq };
      });
      liveSent += due;
      committer.submit({ records }, () => fw.wake());
      void committer.flush();
    }, 10);
    await fw.start();
    let last = { depth: backlog, at: t0 };
    // The backlog is drained when every row waiting at the start is gone; live rows keep coming.
    const backlogTop = store.newestId();
    while (store.peek('readings', 1)[0]?.id !== undefined && store.peek('readings', 1)[0]!.id <= backlogTop) {
      await new Promise((r) => setTimeout(r, 20));
      const d = store.waitingIn('readings') + store.waitingIn('control');
      if (d < last.depth) last = { depth: d, at: performance.now() };
      else if (performance.now() - last.at > 30_000) throw new Error(`forwarder made no progress for 30 s (${d} left): ${fw.status().lastError ?? 'no error reported'}`);
    }
    const s = (performance.now() - t0) / 1000;
    clearInterval(live);
    await committer.close();
    await fw.stop({ drainTimeoutMs: 20_000 });
    const errors = fw.status().errors;
    const rate = backlog / s; // the backlog alone: the live rows it also carried are not counted

    // Live delays from the live topic: broker append time - commit time.
    const delays: number[] = [];
    const consumer = kafka.consumer({ groupId: `${prefix}reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: liveTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => resolve(), 30_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          const v = JSON.parse(message.value!.toString()) as { committedAt: number };
          delays.push(Number(message.timestamp) - v.committedAt);
          if (delays.length >= liveSent) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    delays.sort((a, b) => a - b);
    const r: DrainResult = {
      bareProducerPerSec: Math.round(bareRate),
      drainPerSec: Math.round(rate),
      drained: backlog,
      errors,
      liveRatePerSec: o.liveRate,
      liveSent,
      liveArrived: delays.length,
      liveDelayP50Ms: q(delays, 0.5),
      liveDelayP99Ms: q(delays, 0.99),
      tailBatches: fw.tailBatches,
      batchMax: o.batchMax,
      compression: o.compression,
    };
    o.log(`forwarder drain: ${r.drainPerSec} records/s (${backlog} backlog records in ${s.toFixed(1)} s with ${liveSent} live at ${o.liveRate}/s, ${errors} errors), ${Math.round((rate / bareRate) * 100)}% of the bare producer; live delay p50 ${r.liveDelayP50Ms} p99 ${r.liveDelayP99Ms} ms (${delays.length}/${liveSent} seen, ${fw.tailBatches} tail batches)`);
    return r;
  } finally {
    await deleteTopicsWithPrefix(o.brokers, prefix).catch((err: Error) => o.log(`could not delete the bench topics ${prefix}*: ${err.message}`));
  }
}
