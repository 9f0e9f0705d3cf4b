import { createKafkaClient, ensureTopicsOn } from './shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from './shared/kafka/security.ts';
import { kafkajsRecordProducer, type OutRecord, type RecordProducer } from './shared/kafka/producer.ts';
import { platformaticRecordProducer } from './shared/kafka/platformatic-producer.ts';
const brokers = (process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(',');
const n = Number(process.argv[2] ?? 100_000);
const only = process.argv[3];
const sec = kafkaSecurityFromEnv();
function value(m: number, seq: number): string {
  const ts = Date.UTC(2026, 0, 1) + seq * 1000;
  return JSON.stringify({ meterId: `m-${m}`, ts, seq, voltage: 229.41, current: 3.19, power: 0.731, frequency: 50.012, energy: 1003.7 + seq, edgeId: 'edge-1', substationId: 'sub-1', feederId: 'fdr-3', transformerId: 'tx-17', receivedAt: ts + 40 });
}
async function run(client: 'kafkajs' | 'platformatic') {
  const topic = `pkab2-${Date.now().toString(36)}-${client}`;
  const kafka = createKafkaClient({ brokers, clientId: 'pkab', security: sec });
  await ensureTopicsOn(kafka, [{ topic }], { partitions: 6 });
  const p: RecordProducer = client === 'kafkajs' ? kafkajsRecordProducer(kafka) : platformaticRecordProducer({ brokers, clientId: 'pkab', security: sec });
  await p.connect();
  const batches: OutRecord[][] = [];
  for (let from = 0; from < n; from += 5000) batches.push(Array.from({ length: 5000 }, (_, j) => { const i = from + j; return { key: `m-${i % 10000}`, value: value(i % 10000, i), headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `pkab:${i}` } }; }));
  for (let a = 0; ; a++) { try { await p.send([{ topic, records: batches[0]!.slice(0, 10) }], 'gzip'); break; } catch (e) { if (a > 20) throw e; await new Promise((r) => setTimeout(r, 300)); } }
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (const b of batches) await p.send([{ topic, records: b }], 'gzip');
  const wall = performance.now() - t0; const c = process.cpuUsage(c0);
  await p.disconnect();
  const admin = kafka.admin(); await admin.connect(); await admin.deleteTopics({ topics: [topic] }).catch(() => undefined); await admin.disconnect();
  console.log(JSON.stringify({ client, cpuUsPerRecord: +((c.user + c.system) / n).toFixed(2), perSec: Math.round(n / (wall / 1000)) }));
}
for (let r = 0; r < 2; r++) for (const c of ['kafkajs', 'platformatic'] as const) if (!only || only === c) await run(c);
process.exit(0);
