/**
 * `gridwatch bench --only producer-clients`: what a record costs each producer client of the
 * edge's forwarder through the port (shared/kafka/producer.ts), kafkajs the yardstick: the same
 * records (one JSON reading each, ~270 bytes, key meterId, the forwarder's two headers, as strings
 * the way the outbox holds them), 5,000 per send, gzip, idempotent, acks=all, to the harness's
 * SASL_SSL listener, in this one process, the clients alternating (BENCH_PRODUCER_ROUNDS, default
 * 2; the medians are the figures). CPU is this process's (process.cpuUsage: every thread, the zlib
 * pool where kafkajs compresses and platformatic-thread's producer thread included; @platformatic/kafka
 * compresses on the thread it runs on); the main thread's own busy time is its event loop
 * utilization, what the gateway's MQTT intake waits behind. The
 * library of each client is loaded, and its connection made, before the clock starts.
 */
import type { BenchFigure } from './figures.ts';
import { createKafkaClient, ensureTopicsOn } from '../shared/kafka/index.ts';
import { PRODUCER_CLIENTS, type OutRecord, type ProducerClient, type RecordProducer } from '../shared/kafka/producer.ts';
import { createRecordProducer, preloadProducerClient } from '../shared/kafka/record-producers.ts';

const PER_SEND = 5000;
const METERS = 10_000;

function value(m: number, seq: number): string {
  const ts = Date.UTC(2026, 0, 1) + seq * 1000;
  return JSON.stringify({ meterId: `m-${m}`, ts, seq, voltage: 229.41 + (seq % 7) / 10, current: 3.19, power: 0.731, reactivePower: 0.163, powerFactor: 0.95, frequency: 50.012, energy: 1003.7 + seq, edgeId: 'edge-1', substationId: 'sub-1', feederId: 'fdr-3', transformerId: 'tx-17', receivedAt: ts + 40 });
}

interface ClientRun {
  client: ProducerClient;
  round: number;
  cpuUsPerRecord: number;
  /** Main thread busy per record (event loop utilization's active time). */
  mainUsPerRecord: number;
  recordsPerSec: number;
}

async function run(client: ProducerClient, round: number, n: number, brokers: string[], security: import('../shared/kafka/security.ts').KafkaSecurity): Promise<ClientRun> {
  const topic = `bench-producer-${client}-${Date.now().toString(36)}-${process.pid}`;
  const kafka = createKafkaClient({ brokers, clientId: 'bench-producer-clients', security });
  await ensureTopicsOn(kafka, [{ topic }], { partitions: 6 });
  await preloadProducerClient(client);
  const p: RecordProducer = createRecordProducer({ client, kafka, brokers, clientId: 'bench-producer-clients', security });
  await p.connect();
  try {
    const sends: OutRecord[][] = [];
    for (let from = 0; from < n; from += PER_SEND) {
      sends.push(Array.from({ length: Math.min(PER_SEND, n - from) }, (_, j) => {
        const i = from + j;
        return { key: `m-${i % METERS}`, value: value(i % METERS, i), headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `bench:${i}` } };
      }));
    }
    // Warm-up, and the new topic's leaders.
    for (let attempt = 0; ; attempt++) {
      try {
        await p.send([{ topic, records: sends[0]!.slice(0, 100) }], 'gzip');
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    const c0 = process.cpuUsage();
    const e0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    for (const records of sends) await p.send([{ topic, records }], 'gzip');
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    // The main thread's busy time (its event loop not idle): what a gateway's MQTT intake waits behind.
    const busyMs = performance.eventLoopUtilization(e0).active;
    return { client, round, cpuUsPerRecord: Math.round(((c.user + c.system) / n) * 10) / 10, mainUsPerRecord: Math.round(((busyMs * 1000) / n) * 10) / 10, recordsPerSec: Math.round(n / (wall / 1000)) };
  } finally {
    await p.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function benchProducerClients(opts: { log?: (line: string) => void; readings?: number } = {}): Promise<Record<string, unknown>> {
  const { loadProbe } = await import('./report.ts');
  const { benchKafka } = await import('./kafka-env.ts');
  const log = opts.log ?? (() => undefined);
  const probe = loadProbe();
  const { brokers, security } = benchKafka();
  const n = opts.readings ?? 100_000;
  const rounds = Number(process.env.BENCH_PRODUCER_ROUNDS ?? 2);
  const runs: ClientRun[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const client of PRODUCER_CLIENTS) {
      const r = await run(client, round, n, brokers, security);
      runs.push(r);
      log(`${client} (round ${round + 1}): ${r.cpuUsPerRecord} µs CPU per record (main thread busy ${r.mainUsPerRecord} µs), ${r.recordsPerSec} records/s over ${n}`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const of = (c: ProducerClient, f: (r: ClientRun) => number) => median(runs.filter((r) => r.client === c).map(f));
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const base = { cpu: of('kafkajs', (r) => r.cpuUsPerRecord), main: of('kafkajs', (r) => r.mainUsPerRecord), rate: of('kafkajs', (r) => r.recordsPerSec) };
  const figures: BenchFigure[] = PRODUCER_CLIENTS.filter((c) => c !== 'kafkajs').flatMap((c): BenchFigure[] => {
    const cpu = of(c, (r) => r.cpuUsPerRecord);
    const rate = of(c, (r) => r.recordsPerSec);
    const main = of(c, (r) => r.mainUsPerRecord);
    return [
      { id: `producer.${c}.main_thread_per_record`, figure: `producer client ${c}: main thread busy per record (event loop utilization; what MQTT intake waits behind)`, value: main, unit: 'µs/record', higherIsBetter: false, yardstick: { name: 'kafkajs, same records', value: base.main }, ratio: r2(main / base.main) },
      { id: `producer.${c}.cpu_per_record`, figure: `producer client ${c}: CPU per record through the port (gzip, 5,000 per send, SASL_SSL)`, value: cpu, unit: 'µs/record', higherIsBetter: false, yardstick: { name: 'kafkajs, same records', value: base.cpu }, ratio: r2(cpu / base.cpu) },
      { id: `producer.${c}.records_per_sec`, figure: `producer client ${c}: records/s through the port, one send in flight`, value: rate, unit: 'records/s', higherIsBetter: true, yardstick: { name: 'kafkajs, same records', value: base.rate }, ratio: r2(rate / base.rate) },
    ];
  });
  return { figures, load: probe.end(), runs };
}
