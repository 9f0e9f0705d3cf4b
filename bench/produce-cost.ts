/**
 * What a reading costs kafkajs to produce, in CPU time of this process (main thread, zlib pool,
 * everything: process.cpuUsage), to a real Kafka, for the record shapes the forwarder could send:
 *
 * - `single+headers`: one Kafka record per reading with the forwarder's two headers (today);
 * - `single`: the same without headers (what the headers cost);
 * - `per-meter x50`: one Kafka record per 50 readings of one meter (a JSON array), the "fewer,
 *   larger records" option; the readings encoding itself belongs to central's contract (helper
 *   `wan`), so this measures what that option would save, it does not propose a format.
 *
 *   eval "$(gridwatch services env)"; node --import tsx bench/produce-cost.ts [readings=100000]
 *
 * Idempotent producer, acks=all, one request in flight, gzip, 5,000 readings per sendBatch, as the
 * Forwarder sends. The connection's TLS/SASL come from the GRIDWATCH_KAFKA_* variables.
 */
import kafkajs, { type Message } from 'kafkajs';
import { createKafkaClient, ensureTopicsOn } from '../shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from '../shared/kafka/security.ts';

const brokers = (process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
if (brokers.length === 0) {
  console.error('bench/produce-cost.ts: no Kafka: set the GRIDWATCH_KAFKA_* variables (eval "$(gridwatch services env)")');
  process.exit(2);
}
const n = Number(process.argv[2] ?? 100_000);
const perBatch = 5000;
const meters = 10_000;

function value(m: number, seq: number): string {
  const ts = Date.UTC(2026, 0, 1) + seq * 1000;
  return JSON.stringify({ meterId: `m-${m}`, ts, seq, voltage: 229.41, current: 3.19, power: 0.731, reactivePower: 0.163, powerFactor: 0.95, frequency: 50.012, energy: 1003.7 + seq, edgeId: 'edge-1', substationId: 'sub-1', feederId: 'fdr-3', transformerId: 'tx-17', receivedAt: ts + 40 });
}

type Shape = 'single+headers' | 'single' | 'per-meter x50';

/** The messages of one sendBatch carrying `count` readings starting at reading `from`. */
function messages(shape: Shape, from: number, count: number): Message[] {
  const out: Message[] = [];
  if (shape === 'per-meter x50') {
    // 50 consecutive readings of each meter in one record: meters round-robin over the batch.
    for (let i = 0; i < count; i += 50) {
      const m = (from + i) % meters;
      const vals: string[] = [];
      for (let k = 0; k < 50; k++) vals.push(value(m, from + i + k));
      out.push({ key: `m-${m}`, value: `[${vals.join(',')}]`, headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `bench:${from + i}` } });
    }
    return out;
  }
  for (let i = 0; i < count; i++) {
    const m = (from + i) % meters;
    const msg: Message = { key: `m-${m}`, value: value(m, from + i) };
    if (shape === 'single+headers') msg.headers = { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `bench:${from + i}` };
    out.push(msg);
  }
  return out;
}

async function run(shape: Shape): Promise<Record<string, number | string>> {
  const topic = `edgecpu-produce-${Date.now().toString(36)}-${shape.replace(/[^a-z0-9]/g, '')}`;
  const kafka = createKafkaClient({ brokers, clientId: 'edgecpu-bench', security: kafkaSecurityFromEnv() });
  await ensureTopicsOn(kafka, [{ topic }], { partitions: 6 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  // The values are built before the clock starts: only the produce path is timed.
  const batches: Message[][] = [];
  for (let from = 0; from < n; from += perBatch) batches.push(messages(shape, from, Math.min(perBatch, n - from)));
  // Warm-up, and wait for the new topic's leaders.
  for (let attempt = 0; ; attempt++) {
    try {
      await producer.sendBatch({ topicMessages: [{ topic, messages: messages(shape, n, 1000) }], acks: -1, compression: kafkajs.CompressionTypes.GZIP });
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches) await producer.sendBatch({ topicMessages: [{ topic, messages: b }], acks: -1, compression: kafkajs.CompressionTypes.GZIP });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return { shape, readings: n, records: batches.reduce((s, b) => s + b.length, 0), cpuUsPerReading: +((c.user + c.system) / n).toFixed(2), readingsPerSec: Math.round(n / (wall / 1000)) };
}

const shapes: Shape[] = ['single+headers', 'single', 'per-meter x50'];
// Twice, interleaved: this machine's load moves between runs.
for (let round = 0; round < 2; round++) for (const s of shapes) process.stdout.write(`${JSON.stringify(await run(s))}\n`);
process.exit(0);
