/**
 * Forwarder drain rate to a real Kafka: fills an outbox with N readings (many meters), then
 * measures how fast the Forwarder empties it, with gzip and without.
 *
 *   eval "$(gridwatch services env)"; node --import tsx edge/forward/bench.ts [brokers=$GRIDWATCH_KAFKA_BROKERS] [readings=200000] [batchMax=2000]
 *
 * The connection's TLS/SASL come from the GRIDWATCH_KAFKA_* variables, as the edge reads them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock, silentLogger, TOPICS } from '../../shared/index.ts';
import { EdgeStore, type OutboxRecord } from '../store/index.ts';
import { Forwarder } from './forwarder.ts';
import { createKafkaClient, ensureTopicsOn } from '../../shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from '../../shared/kafka/security.ts';

const brokers = (process.argv[2] ?? process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
if (brokers.length === 0) {
  console.error('edge/forward/bench.ts: no Kafka: give brokers or set the GRIDWATCH_KAFKA_* variables (eval "$(gridwatch services env)")');
  process.exit(2);
}
const security = kafkaSecurityFromEnv();
const n = Number(process.argv[3] ?? 200_000);
const batchMax = Number(process.argv[4] ?? 2000);

async function drain(compression: 'gzip' | 'none'): Promise<Record<string, number>> {
  const suffix = `${Date.now().toString(36)}-${compression}`;
  const topic = `bench-readings-${suffix}`;
  const kafka = createKafkaClient({ brokers, clientId: 'bench', security });
  await ensureTopicsOn(kafka, [{ topic }], { partitions: 6 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fwbench-'));
  const store = EdgeStore.open({ dir, edgeId: 'bench', budgetBytes: 1e12, synchronous: 'NORMAL', clock: new ManualClock(), logger: silentLogger() });
  for (let k = 0; k < n; k += 1000) {
    const records: OutboxRecord[] = [];
    for (let i = 0; i < 1000; i++) {
      const m = (k + i) % 5000;
      const meterId = `meter-${m}`;
      const ts = Date.UTC(2026, 0, 1) + k;
      records.push({ topic: TOPICS.readings, key: meterId, lane: 'readings', ts, meterId, seq: k, value: JSON.stringify({ meterId, ts, seq: k, voltage: 229 + (i % 30) / 10, current: 12.1, power: 2.7, frequency: 50.01, edgeId: 'edge-1', substationId: 'sub-1', feederId: 'fdr-3', transformerId: 'tx-17', receivedAt: ts + 40 }) });
    }
    store.commit({ records });
  }
  const fw = new Forwarder({ store, kafka, clientId: 'bench', logger: silentLogger(), compression, batchMax, topicMap: { [TOPICS.readings]: topic } });
  const t0 = performance.now();
  await fw.start();
  while (store.stats().depth > 0) await new Promise((r) => setTimeout(r, 20));
  const s = (performance.now() - t0) / 1000;
  await fw.stop({ drainTimeoutMs: 1000 });
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { records: n, seconds: +s.toFixed(2), recordsPerSec: Math.round(n / s), errors: fw.status().errors };
}

for (const c of ['none', 'gzip'] as const) process.stdout.write(`forwarder drain ${c} batchMax=${batchMax}: ${JSON.stringify(await drain(c))}\n`);
process.exit(0);
