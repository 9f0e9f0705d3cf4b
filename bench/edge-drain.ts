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
import { registerZstdCodec } from '../shared/kafka/zstd.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../shared/kafka/security.ts';
import { Forwarder, type ForwardCompression } from '../edge/forward/index.ts';
import { createRecordProducer, preloadProducerClient } from '../shared/kafka/record-producers.ts';
import { PRODUCER_CLIENTS, type ProducerClient } from '../shared/kafka/producer.ts';
import { EdgeStore, GroupCommitter, type StoredRecord } from '../edge/store/index.ts';
import { deleteTopicsWithPrefix } from './edge-fleet.ts';
import type { BenchFigure } from './figures.ts';

export interface DrainResult {
  bareProducerPerSec: number;
  /** CPU of this process per record the bare producer sent (kafkajs' encoding, zlib on the pool). */
  bareCpuUsPerRecord: number;
  /** Readings per grid.readings record in the drain (1: the v1 form, the gateway's default). */
  readingsPerRecord: number;
  /** The forwarder's live tail (backlogRecords; Infinity: off, FIFO as the gateway's default). */
  backlogRecords: number;
  /** CPU of this process per backlog reading drained (the live committer's share included). */
  cpuUsPerReading: number;
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
  /** The forwarder's producer client (GRIDWATCH_FORWARD_CLIENT). */
  client: ProducerClient;
}

const LIVE_TOPIC = 'bench.live-readings';

const q = (sorted: number[], p: number) => (sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10);

export async function drainPhase(store: EdgeStore, o: { brokers: string[]; batchMax: number; liveRate: number; compression: ForwardCompression; log: (l: string) => void; readingsPerRecord?: number; backlogRecords?: number; security?: KafkaSecurity; client?: ProducerClient }): Promise<DrainResult> {
  const perRecord = o.readingsPerRecord ?? 1;
  const client = o.client ?? 'kafkajs';
  const backlogRecords = o.backlogRecords ?? Number.POSITIVE_INFINITY;
  const prefix = `bench-edge-${Date.now().toString(36)}-${process.pid}.`;
  const security = o.security ?? kafkaSecurityFromEnv();
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
    const codec = { gzip: kafkajs.CompressionTypes.GZIP, zstd: kafkajs.CompressionTypes.ZSTD, none: kafkajs.CompressionTypes.None }[o.compression];
    const cb = process.cpuUsage();
    const tb = performance.now();
    for (let i = 0; i < sample.length; i += o.batchMax) {
      const rows = sample.slice(i, i + o.batchMax);
      await producer.sendBatch({ topicMessages: [{ topic: bareTopic, messages: rows.map((r) => ({ key: r.key, value: r.value, headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `bench:${r.id}` } })) }], acks: -1, compression: codec });
    }
    const bareRate = (sample.length / (performance.now() - tb)) * 1000;
    const bareCpu = process.cpuUsage(cb);
    await producer.disconnect();
    o.log(`bare kafkajs producer (same settings, from memory): ${Math.round(bareRate)} records/s over ${sample.length}`);

    // The drain, with live readings committed at a paced rate meanwhile.
    const backlog = store.stats().depth;
    const committer = new GroupCommitter(store, { maxDelayMs: 2, maxRecords: 2000 });
    // The library is loaded before the clock starts: a gateway loads it once, at its first connect.
    await preloadProducerClient(client);
    const fwKafka = createKafkaClient({ brokers: o.brokers, clientId: 'bench-edge', kafkajsLogs: 'debug', retries: 3, security });
    const producers = client === 'kafkajs' ? {} : { createProducer: () => createRecordProducer({ client, kafka: fwKafka, brokers: o.brokers, clientId: 'bench-edge', security, retries: 3 }) };
    const fw = new Forwarder({ store, kafka: fwKafka, ...producers, clientId: 'bench-edge', logger: silentLogger(), batchMax: o.batchMax, topicMap, compression: o.compression, readingsPerRecord: perRecord, backlogRecords });
    const c0 = process.cpuUsage();
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
    const cpu = process.cpuUsage(c0);
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
          // One reading per record, or JSON lines of several (forwarded-reading-batch/v1).
          for (const line of message.value!.toString().split('\n')) delays.push(Number(message.timestamp) - (JSON.parse(line) as { committedAt: number }).committedAt);
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
      bareCpuUsPerRecord: Math.round(((bareCpu.user + bareCpu.system) / Math.max(1, sample.length)) * 10) / 10,
      readingsPerRecord: perRecord,
      backlogRecords,
      cpuUsPerReading: Math.round(((cpu.user + cpu.system) / Math.max(1, backlog)) * 10) / 10,
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
      client,
    };
    o.log(`forwarder drain (${client}), ${o.compression}, ${perRecord} per record${Number.isFinite(backlogRecords) ? `, live tail past ${backlogRecords}` : ''}: ${r.drainPerSec} readings/s, ${r.cpuUsPerReading} µs CPU each (bare ${r.bareCpuUsPerRecord}) (${backlog} backlog records in ${s.toFixed(1)} s with ${liveSent} live at ${o.liveRate}/s, ${errors} errors), ${Math.round((rate / bareRate) * 100)}% of the bare producer; live delay p50 ${r.liveDelayP50Ms} p99 ${r.liveDelayP99Ms} ms (${delays.length}/${liveSent} seen, ${fw.tailBatches} tail batches)`);
    return r;
  } finally {
    await deleteTopicsWithPrefix(o.brokers, prefix).catch((err: Error) => o.log(`could not delete the bench topics ${prefix}*: ${err.message}`));
  }
}

/**
 * `gridwatch bench --only edge-drain`: goals 2 and 3 alone. One gateway intake path (bench/edge.ts
 * `startGateway`, SQLite FULL, retainForReplay) takes `readings` single QoS 1 readings from one
 * MQTT publisher (the intake rate, the 2 x yardstick); the backlog it left is drained by the real
 * Forwarder with the gateway's defaults (one reading per record, FIFO) while live readings are
 * committed at 2,000/s; then the intake fills the outbox again and it is drained with several
 * readings per record (BENCH_EDGE_DRAIN_PER_RECORD, default 100; 0 skips) and the live tail on
 * (backlogRecords 4 x batchMax), the form the soak and the demo's own edges use. The default
 * drain runs once per producer client (BENCH_EDGE_DRAIN_CLIENTS, default kafkajs,platformatic;
 * the intake refills the outbox between them). Each drain has its bare kafkajs producer (same
 * records, from memory) measured just before it.
 */
export async function benchEdgeDrain(opts: { log?: (line: string) => void; readings?: number } = {}): Promise<Record<string, unknown>> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startGateway, phase } = await import('./edge.ts');
  const { loadProbe } = await import('./report.ts');
  const { benchKafka } = await import('./kafka-env.ts');
  const log = opts.log ?? (() => undefined);
  const probe = loadProbe();
  const k = benchKafka();
  const { brokers, security } = k;
  // The topics' cleanup reads the GRIDWATCH_KAFKA_* variables: the harness's listener when none were set.
  for (const [name, value] of Object.entries(k.env)) process.env[name] ??= value;
  const n = opts.readings ?? 100_000;
  const perRecord = Number(process.env.BENCH_EDGE_DRAIN_PER_RECORD ?? 100);
  // The batched drain's codec (BENCH_EDGE_DRAIN_COMPRESSION: gzip, the gateway's default, zstd or none).
  const batchedCodec = (process.env.BENCH_EDGE_DRAIN_COMPRESSION ?? 'gzip') as ForwardCompression;
  // zstd's level for this process (BENCH_EDGE_DRAIN_ZSTD_LEVEL, default the gateway's 9).
  if (process.env.BENCH_EDGE_DRAIN_ZSTD_LEVEL) registerZstdCodec(Number(process.env.BENCH_EDGE_DRAIN_ZSTD_LEVEL));
  const batchMax = 5000;
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-bench-drain-'));
  const gw = await startGateway(dir, {}, 'FULL');
  const results: Record<string, unknown> = {};
  try {
    const common = { n, meters: 2000, window: 1000, log, qos: 1 as const, size: 1 };
    const clients = (process.env.BENCH_EDGE_DRAIN_CLIENTS ?? PRODUCER_CLIENTS.join(',')).split(',').filter((c): c is ProducerClient => (PRODUCER_CLIENTS as readonly string[]).includes(c));
    await phase(gw, results, { ...common, name: 'intakeQos1SinglePerSec' });
    const intake = results.intakeQos1SinglePerSec as number;
    const singles: DrainResult[] = [];
    // Each drain beside the intake phase that filled its backlog (the first: the one above).
    const intakeOf = new Map<DrainResult, number>();
    for (const [i, client] of clients.entries()) {
      if (i > 0) await phase(gw, results, { ...common, name: `intakeQos1Single${client}PerSec` });
      const d = await drainPhase(gw.store, { brokers, security, batchMax, liveRate: 2000, compression: 'gzip', log, client });
      intakeOf.set(d, i === 0 ? intake : (results[`intakeQos1Single${client}PerSec`] as number));
      singles.push(d);
    }
    const single = singles[0] ?? null;
    let batched: DrainResult | null = null;
    if (perRecord > 1) {
      await phase(gw, results, { ...common, name: 'intakeQos1SingleAgainPerSec' });
      batched = await drainPhase(gw.store, { brokers, security, batchMax, liveRate: 2000, compression: batchedCodec, log, readingsPerRecord: perRecord, backlogRecords: 4 * batchMax });
    }
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const figures: BenchFigure[] = [];
    const rows: [DrainResult | null, string, string][] = [
      // kafkajs, the default client, keeps the ids without a suffix (--compare with earlier runs).
      ...singles.map((d): [DrainResult, string, string] => [d, d.client === 'kafkajs' ? '' : `_${d.client}`, `one reading per record, FIFO (the default)${d.client === 'kafkajs' ? '' : `, producer client ${d.client}`}`]),
      [batched, '_batched', `${perRecord} readings per record, live tail on${batchedCodec === 'gzip' ? '' : `, ${batchedCodec}`}`],
    ];
    for (const [d, id, what] of rows) {
      if (d === null) continue;
      figures.push(
        { id: `edge.drain.vs_bare_producer${id}`, figure: `edge forwarder drain of a backlog, ${what}, live load on`, value: d.drainPerSec, unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'bare kafkajs producer, one reading per record', value: d.bareProducerPerSec }, ratio: r2(d.drainPerSec / d.bareProducerPerSec), goal: { text: '>= 1.0 x bare kafkajs producer', on: 'ratio', min: 1 } },
        { id: `edge.drain.vs_intake${id}`, figure: `edge forwarder drain against its own single-reading intake, ${what}`, value: d.drainPerSec, unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'single QoS 1 intake', value: intakeOf.get(d) ?? intake }, ratio: r2(d.drainPerSec / (intakeOf.get(d) ?? intake)), goal: { text: '>= 2 x single QoS 1 intake', on: 'ratio', min: 2 } },
        { id: `edge.drain.live_p99${id}`, figure: `edge live readings (${d.liveRatePerSec}/s) to Kafka during the drain, p99, ${what}`, value: d.liveDelayP99Ms ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '< 2000 ms', on: 'value', max: 1999.9 } },
        { id: `edge.drain.cpu_per_reading${id}`, figure: `edge CPU per reading drained, ${what}`, value: d.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, yardstick: { name: 'bare kafkajs producer, per record', value: d.bareCpuUsPerRecord }, ratio: r2(d.cpuUsPerReading / d.bareCpuUsPerRecord) },
      );
    }
    return { figures, load: probe.end(), intakePerSec: intake, intakeAgainPerSec: results.intakeQos1SingleAgainPerSec ?? null, single, singles, batched };
  } finally {
    // Also after a failure: the broker's listener would keep the process (and the measure lock) alive.
    await gw.close();
    gw.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
