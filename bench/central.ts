// The central benchmark: one instance against the real Kafka.
//  1. readings: N forwarded readings are produced first (not timed), then one central instance
//     consumes them; records/s consumed (+ archived to a local directory: time until the archive
//     holds them all and their offsets are committed).
//  2. anomalies: M anomalies over many substations, consumed and correlated; records/s.
//  3. latency: rounds of three sag anomalies under one transformer; the delay from the third
//     anomaly entering Kafka (its log-append timestamp) to its grid event appearing on grid.events.
// Topics are unique per run. `npm run bench` (bench/main.ts) or `node --import tsx bench/central.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { CentralConfigSchema, type CentralConfig } from '../central/config.ts';
import { createCentralPipeline, type CentralPipeline } from '../central/pipeline.ts';
import { createLogger, loadConfig, Metrics, silentLogger, type Anomaly, type GridEvent, type TopologyEntry } from '../shared/index.ts';

export interface CentralBenchOptions {
  brokers?: string[];
  readings?: number;
  anomalies?: number;
  latencyRounds?: number;
  archive?: boolean;
  partitions?: number;
  log?: (line: string) => void;
}

const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);

function name(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

async function produceAll(p: Producer, topic: string, n: number, make: (i: number) => { key: string; value: string }): Promise<number> {
  const started = performance.now();
  const batch = 5000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + batch); j++) messages.push(make(j));
    inflight.push(p.send({ topic, acks: 1, compression: CompressionTypes.None, messages }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  return (performance.now() - started) / 1000;
}

async function waitFor(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function counter(metrics: Metrics, metric: string, labels: Record<string, string>): Promise<number> {
  const m = await metrics.registry.getSingleMetric(metric)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function reading(i: number, meters: number): { key: string; value: string } {
  const m = i % meters;
  const meterId = `M${m}`;
  const seq = Math.floor(i / meters);
  const ts = T0 + seq * 15_000;
  const sub = `S${m % 20}`;
  return {
    key: meterId,
    value: JSON.stringify({ meterId, ts, seq, voltage: 229 + (i % 7) * 0.3, current: 4.2, power: 0.96, frequency: 50.01, readingId: `${meterId}:${seq}`, edgeId: `edge-${sub}`, substationId: sub, feederId: `${sub}-F${m % 4}`, transformerId: `${sub}-T${m % 40}`, receivedAt: ts + 40 }),
  };
}

function anomaly(i: number, over: Partial<Anomaly> = {}): Anomaly {
  const m = i % 20_000;
  const sub = `S${m % 50}`;
  return {
    anomalyId: `a-${i}`,
    edgeId: `edge-${sub}`,
    meterId: `M${m}`,
    substationId: sub,
    feederId: `${sub}-F${m % 4}`,
    transformerId: `${sub}-T${m % 400}`,
    type: i % 3 === 0 ? 'spike' : 'sag',
    channel: 'voltage',
    state: i % 2 === 0 ? 'open' : 'closed',
    severity: 'minor',
    startTs: T0 + i,
    endTs: i % 2 === 0 ? null : T0 + i + 500,
    observed: 190,
    baseline: 230,
    detectedAt: T0 + i,
    ...over,
  };
}

export async function benchCentral(opts: CentralBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const brokers = opts.brokers ?? (process.env.GRIDWATCH_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
  const nReadings = opts.readings ?? 500_000;
  const nAnomalies = opts.anomalies ?? 50_000;
  const rounds = opts.latencyRounds ?? 20;
  const archive = opts.archive ?? true;
  const partitions = opts.partitions ?? 6;
  const u = name('bench-central');
  const archiveDir = mkdtempSync(join(tmpdir(), 'bench-central-'));
  const kafka = new Kafka({ clientId: u, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = { readings: `${u}.readings`, anomalies: `${u}.anomalies`, events: `${u}.events`, edgeStatus: `${u}.edge-status`, gaps: `${u}.gaps`, topology: `${u}.topology`, state: `${u}.state` };
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.entries(topics).map(([k, topic]) => ({ topic, numPartitions: k === 'topology' || k === 'state' ? 1 : partitions, configEntries: k === 'topology' || k === 'state' ? [{ name: 'cleanup.policy', value: 'compact' }] : [] })),
  });
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const result: Record<string, unknown> = { readings: nReadings, anomalies: nAnomalies, partitions, archive: archive ? 'local directory (gzip JSONL)' : 'off', node: process.version };

  // Topology for the latency rounds: one transformer per round (LT-T<r>) with 4 meters.
  const topo: TopologyEntry[] = Array.from({ length: rounds }, (_, r) =>
    [1, 2, 3, 4].map((i): TopologyEntry => ({ meterId: `L${r}-${i}`, transformerId: `LT-T${r}`, feederId: `LT-F${r % 8}`, substationId: 'LT', phase: 'A', nominalVoltage: 230, nominalFrequency: 50 })),
  ).flat();
  await producer.send({ topic: topics.topology, messages: topo.map((e) => ({ key: e.meterId, value: JSON.stringify(e) })) });

  log(`bench central: producing ${nReadings} readings ...`);
  const produceS = await produceAll(producer, topics.readings, nReadings, (i) => reading(i, 50_000));
  result.produceReadingsPerSec = Math.round(nReadings / produceS);

  const config: CentralConfig = loadConfig(CentralConfigSchema, {
    env: {},
    overrides: {
      kafkaBrokers: brokers,
      centralGroup: `${u}-group`,
      instanceId: 'bench',
      httpHost: '127.0.0.1',
      httpPort: 0,
      ensureTopics: false,
      topicReadings: topics.readings,
      topicAnomalies: topics.anomalies,
      topicEvents: topics.events,
      topicEdgeStatus: topics.edgeStatus,
      topicGaps: topics.gaps,
      topicTopology: topics.topology,
      topicState: topics.state,
      ...(archive ? { archiveDir, archiveMaxAgeMs: 1000 } : {}),
      commitIntervalMs: 200,
      tickMs: 50,
      logLevel: 'warn',
    },
  });
  const metrics = new Metrics('central', { defaultMetrics: false });
  let pipeline: CentralPipeline | null = null;
  try {
    pipeline = await createCentralPipeline({ config, logger: process.env.BENCH_LOG ? createLogger({ program: 'central', level: 'warn' }) : silentLogger(), metrics, correlate: { openHoldMs: 0, meterHoldMs: 0, growthPublishMs: 0 } });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pipeline.start();
    const startedS = (performance.now() - t0) / 1000;
    const consumed = () => counter(metrics, 'gridwatch_central_records_consumed_total', { topic: topics.readings, consumer: 'group' });
    await waitFor(async () => (await consumed()) >= nReadings, 600_000, 'readings consumed');
    const consumedS = (performance.now() - t0) / 1000 - startedS;
    const cpu = process.cpuUsage(cpu0);
    result.readingsConsumedPerSec = Math.round(nReadings / consumedS);
    result.readingsCpuSecondsPerSec = Number(((cpu.user + cpu.system) / 1e6 / (consumedS + startedS)).toFixed(2));
    if (archive) {
      await waitFor(async () => {
        const [t] = await admin.fetchOffsets({ groupId: config.centralGroup, topics: [topics.readings] });
        return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= nReadings;
      }, 600_000, 'readings archived and committed');
      const archivedS = (performance.now() - t0) / 1000 - startedS;
      result.readingsArchivedAndCommittedPerSec = Math.round(nReadings / archivedS);
    }
    log(`bench central: readings ${JSON.stringify(result)}`);

    // Anomalies: consumed and correlated (the broadcast consumer reads them too, for the API view).
    const a0 = await counter(metrics, 'gridwatch_central_records_consumed_total', { topic: topics.anomalies, consumer: 'group' });
    const ta = performance.now();
    await produceAll(producer, topics.anomalies, nAnomalies, (i) => {
      const a = anomaly(i);
      return { key: a.substationId as string, value: JSON.stringify(a) };
    });
    let lastLog = Date.now();
    await waitFor(async () => {
      const got = (await counter(metrics, 'gridwatch_central_records_consumed_total', { topic: topics.anomalies, consumer: 'group' })) - a0;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`bench central: anomalies consumed ${got}/${nAnomalies}`);
      }
      return got >= nAnomalies;
    }, 600_000, 'anomalies consumed');
    result.anomaliesConsumedAndCorrelatedPerSec = Math.round(nAnomalies / ((performance.now() - ta) / 1000));
    result.anomaliesNote = 'includes producing them (started together)';

    // Latency: anomaly into Kafka -> grid event on the events topic.
    const seen = new Map<string, GridEvent>();
    const eventConsumer = kafka.consumer({ groupId: `${u}-events`, maxWaitTimeInMs: 20 });
    await eventConsumer.connect();
    await eventConsumer.subscribe({ topic: topics.events, fromBeginning: true });
    const arrivals: { rootId: string; at: number }[] = [];
    await eventConsumer.run({
      eachMessage: async ({ message }) => {
        const e = JSON.parse(String(message.value)) as GridEvent;
        if (e.rootId.startsWith('LT-T') && e.state === 'open' && !seen.has(e.eventId)) {
          seen.set(e.eventId, e);
          arrivals.push({ rootId: e.rootId, at: Date.now() });
        }
      },
    });
    await new Promise((r) => setTimeout(r, 2000));
    const delays: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const ts = T0 + 3_600_000 + r * 600_000;
      const mk = (meterId: string, state: 'open' | 'closed'): Anomaly => ({ ...anomaly(0), anomalyId: `lat-${meterId}`, meterId, edgeId: 'edge-LT', substationId: 'LT', feederId: `LT-F${r % 8}`, transformerId: `LT-T${r}`, type: 'sag', severity: 'major', state, startTs: ts, endTs: state === 'closed' ? ts + 2000 : null, detectedAt: ts });
      const before = arrivals.length;
      await producer.send({ topic: topics.anomalies, acks: -1, messages: [`L${r}-1`, `L${r}-2`].map((m) => ({ key: 'LT', value: JSON.stringify(mk(m, 'open')) })) });
      const [meta] = await producer.send({ topic: topics.anomalies, acks: -1, messages: [{ key: 'LT', value: JSON.stringify(mk(`L${r}-3`, 'open')) }] });
      const sentAt = Date.now();
      void meta;
      await waitFor(() => arrivals.length > before, 60_000, `latency round ${r}`);
      delays.push((arrivals[arrivals.length - 1] as { at: number }).at - sentAt);
      await producer.send({ topic: topics.anomalies, acks: -1, messages: [1, 2, 3].map((i) => ({ key: 'LT', value: JSON.stringify(mk(`L${r}-${i}`, 'closed')) })) });
      await new Promise((res) => setTimeout(res, 100));
    }
    await eventConsumer.disconnect();
    delays.sort((x, y) => x - y);
    result.anomalyToEventMs = { rounds, p50: pct(delays, 50), p95: pct(delays, 95), max: delays[delays.length - 1] };
    result.latencyNote = 'correlator openHoldMs=0 (its default 10 s hold is added by design before a device event is published)';
    log(`bench central: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await pipeline?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    rmSync(archiveDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(process.argv[2] ?? 500_000);
  benchCentral({ readings: n, archive: process.argv[3] !== 'noarchive', ...(process.argv[4] ? { anomalies: Number(process.argv[4]) } : {}) })
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
