// The central benchmark: one instance against the real Kafka (and MinIO and InfluxDB when the
// services' variables are set, as after `eval "$(gridwatch services env)"`). Three phases, each on
// topics of its own (unique per run, deleted at the end):
//  1. readings: N forwarded readings are produced first (not timed). A bare kafkajs consumer
//     (same fetch settings, no processing) reads them: the baseline. Then one central instance
//     consumes them: records/s consumed, and archived (objects written, offsets committed).
//  2. anomalies: sag opens of M/2 meters (transformer by transformer, so they roll up) and then
//     their closes, produced first over a topology of those meters; baseline as above; then one
//     central instance (the correlator's default settings): records/s consumed and correlated,
//     and archived and committed.
//  3. delay: rounds of three sag anomalies under one transformer (correlator holds at 0); the delay
//     from the third anomaly entering Kafka (its record timestamp) to its grid event's record on the
//     events topic, and to a reader seeing it.
// `npm run bench -- --only central` (bench/main.ts), or
// `node --import tsx bench/central.ts [--readings N] [--anomalies M] [--rounds R] [--archive minio|dir|off]
//  [--no-influx] [--phase readings|anomalies|delay]...`; BENCH_CPU_PROF=<dir> writes CPU profiles.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs, { type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { CentralConfigSchema, type CentralConfig } from '../central/config.ts';
import { Aggregator, GROUP_FETCH_BYTES_PER_PARTITION } from '../central/aggregator.ts';
import { anomaliesGroupId } from '../central/consume/groups.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { writeTopologyFile } from '../shared/topology/load.ts';
import { TopologyRegistry } from '../central/registry/index.ts';
import type { BenchFigure, MachineLoad } from './figures.ts';
import { loadavg, cpus } from 'node:os';
import { benchKafka, type BenchKafka } from './kafka-env.ts';
import { traceCentral } from './central-trace.ts';
import { createInfluxDatabase } from '../deploy/services/influxdb.ts';
import { createLogger, loadConfig, Metrics, silentLogger, type Anomaly, type GridEvent, type TopologyEntry } from '../shared/index.ts';

export interface CentralBenchOptions {
  brokers?: string[];
  readings?: number;
  /** Anomaly records: half opens, half their closes. */
  anomalies?: number;
  latencyRounds?: number;
  /** Where the archive goes: MinIO when GRIDWATCH_S3_ENDPOINT is set, else a local directory. */
  archive?: 'minio' | 'dir' | 'off';
  /** Feeder aggregates, anomalies and events to InfluxDB (default: when GRIDWATCH_INFLUX_URL is set). */
  influx?: boolean;
  partitions?: number;
  /** Meters of the topology phase (default 1,000,000). */
  topologyMeters?: number;
  /** Which phases to run (default all three). */
  phases?: Phase[];
  log?: (line: string) => void;
}

type Phase = 'readings' | 'anomalies' | 'delay' | 'topology';

interface Env {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  brokers: string[];
  /** The connection's GRIDWATCH_KAFKA_* (TLS, SASL), given to the central instances' config. */
  kafkaEnv: BenchKafka['env'];
  archive: 'minio' | 'dir' | 'off';
  influx: { url: string; token: string; org: string } | null;
  partitions: number;
  log: (line: string) => void;
  cleanup: (() => Promise<unknown>)[];
}

// Every topic central reads or writes, the workflow's and the model registry's too: ensureTopics is
// off, and on a Kafka that never ran central (a new machine) the default names do not exist.
type Topics = Record<'readings' | 'anomalies' | 'events' | 'edgeStatus' | 'gaps' | 'topology' | 'state' | 'eventActions' | 'maintenance' | 'models', string>;

const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);
// As central's group consumer (central/aggregator.ts, consume/runner.ts), so the yardstick fetches alike.
const FETCH = { maxBytesPerPartition: GROUP_FETCH_BYTES_PER_PARTITION, maxWaitTimeInMs: 200 };

const name = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const perSec = (n: number, s: number): number => Math.round(n / s);

async function waitFor(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metricSum(metrics: Metrics, metric: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.registry.getSingleMetric(metric)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

/** CPU of this process and of the whole machine (from /proc/stat, Linux) over a phase. */
function cpuWindow(): () => { processCores: number; machineBusyPct: number | null } {
  const machine = (): { busy: number; total: number } | null => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
      const total = f.reduce((a, b) => a + b, 0);
      return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
    } catch {
      return null;
    }
  };
  const p0 = process.cpuUsage();
  const m0 = machine();
  const t0 = performance.now();
  return () => {
    const p = process.cpuUsage(p0);
    const m1 = machine();
    const secs = (performance.now() - t0) / 1000;
    return {
      processCores: Number(((p.user + p.system) / 1e6 / secs).toFixed(2)),
      machineBusyPct: m0 && m1 && m1.total > m0.total ? Math.round((100 * (m1.busy - m0.busy)) / (m1.total - m0.total)) : null,
    };
  };
}

/** Produces n records, up to 8 requests in flight; `batch` records per request (the broker takes at most 1 MB per partition). */
/**
 * With BENCH_CPU_PROF=<dir>, a CPU profile of this process while central consumes (the phase's
 * timed part only), written as <dir>/central-<phase>.cpuprofile (open in Chrome DevTools).
 */
async function profile(phase: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile: p } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `central-${phase}.cpuprofile`), JSON.stringify(p));
    session.disconnect();
  };
}

async function produceAll(p: Producer, topic: string, n: number, make: (i: number) => { key: string; value: string }, batch = 2000): Promise<number> {
  const started = performance.now();
  const inflight: Promise<unknown>[] = [];
  let failure: unknown = null;
  for (let i = 0; i < n && failure === null; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + batch); j++) messages.push(make(j));
    // Caught at once, so that a refused request fails the bench instead of an unhandled rejection.
    inflight.push(p.send({ topic, acks: 1, compression: kafkajs.CompressionTypes.None, messages }).catch((err: unknown) => (failure ??= err)));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  if (failure !== null) throw failure;
  return (performance.now() - started) / 1000;
}

async function createTopics(env: Env, tag: string): Promise<Topics> {
  const u = name(`bench-central-${tag}`);
  const topics: Topics = { readings: `${u}.readings`, anomalies: `${u}.anomalies`, events: `${u}.events`, edgeStatus: `${u}.edge-status`, gaps: `${u}.gaps`, topology: `${u}.topology`, state: `${u}.state`, eventActions: `${u}.event-actions`, maintenance: `${u}.maintenance`, models: `${u}.models` };
  const compacted = (k: string): boolean => k === 'topology' || k === 'state' || k === 'maintenance' || k === 'models';
  await env.admin.createTopics({
    waitForLeaders: true,
    topics: Object.entries(topics).map(([k, topic]) => ({ topic, numPartitions: compacted(k) ? 1 : env.partitions, configEntries: compacted(k) ? [{ name: 'cleanup.policy', value: 'compact' }] : [] })),
  });
  env.cleanup.push(() => env.admin.deleteTopics({ topics: Object.values(topics) }));
  return topics;
}

/** A central instance on `topics`, archiving where the run says. */
async function startPipeline(env: Env, topics: Topics, tag: string, correlate?: Record<string, unknown>, settings: Record<string, unknown> = {}): Promise<{ pipeline: Aggregator; metrics: Metrics; config: CentralConfig; startS: number }> {
  const u = name(`bench-${tag}`);
  const archive: Record<string, unknown> = {};
  if (env.archive === 'dir') {
    const dir = mkdtempSync(join(tmpdir(), 'bench-central-'));
    env.cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    archive.archiveDir = dir;
  } else if (env.archive === 'minio') {
    archive.s3Endpoint = process.env.GRIDWATCH_S3_ENDPOINT;
    archive.s3AccessKey = process.env.GRIDWATCH_S3_ACCESS_KEY;
    archive.s3SecretKey = process.env.GRIDWATCH_S3_SECRET_KEY;
    archive.s3Bucket = u;
    env.cleanup.push(() => removeBucket(u));
  }
  if (env.influx) {
    const db = u.replace(/-/g, '_');
    archive.influxUrl = env.influx.url;
    archive.influxToken = env.influx.token;
    archive.influxOrg = env.influx.org;
    archive.influxBucket = await createInfluxDatabase(env.influx.url, db);
    const url = env.influx.url;
    env.cleanup.push(() => fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) }));
  }
  const config = loadConfig(CentralConfigSchema, {
    env: env.kafkaEnv,
    overrides: {
      kafkaBrokers: env.brokers,
      centralGroup: `${u}-group`,
      instanceId: tag,
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
      topicEventActions: topics.eventActions,
      topicMaintenance: topics.maintenance,
      topicModels: topics.models,
      archiveMaxAgeMs: 1000,
      commitIntervalMs: 200,
      logLevel: 'warn',
      ...archive,
      ...settings,
    },
  });
  const metrics = new Metrics('central', { defaultMetrics: false });
  const logger = process.env.BENCH_LOG ? createLogger({ program: 'central', level: 'warn' }) : silentLogger();
  const pipeline = new Aggregator({ config, logger, metrics, ...(correlate ? { correlate } : {}) });
  env.cleanup.push(() => pipeline.stop());
  const t0 = performance.now();
  await pipeline.start();
  return { pipeline, metrics, config, startS: (performance.now() - t0) / 1000 };
}

async function removeBucket(bucket: string): Promise<void> {
  const u = new URL(process.env.GRIDWATCH_S3_ENDPOINT ?? '');
  const useSSL = u.protocol === 'https:';
  const c = new MinioClient({ endPoint: u.hostname, port: Number(u.port) || (useSSL ? 443 : 80), useSSL, accessKey: process.env.GRIDWATCH_S3_ACCESS_KEY ?? '', secretKey: process.env.GRIDWATCH_S3_SECRET_KEY ?? '' });
  if (!(await c.bucketExists(bucket))) return;
  const names: string[] = [];
  for await (const o of c.listObjectsV2(bucket, '', true)) if ((o as { name?: string }).name) names.push((o as { name: string }).name);
  for (let i = 0; i < names.length; i += 1000) await c.removeObjects(bucket, names.slice(i, i + 1000));
  await c.removeBucket(bucket);
}

/** The baseline: a bare kafkajs consumer, same fetch settings as central's, counting records only. */
async function bareConsume(env: Env, topic: string, n: number): Promise<{ perSec: number; processCores: number; cpuUsPerRecord: number }> {
  const consumer = env.kafka.consumer({ groupId: name('bench-bare'), ...FETCH, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let got = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 4, // as central's group consumer
    eachBatch: async ({ batch }) => {
      got += batch.messages.length;
      if (got >= n) done();
    },
  });
  const cpu = cpuWindow(); // run() returns once the group is joined, as pipeline.start() does
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((_, fail) => (timer = setTimeout(() => fail(new Error('bench: baseline consumer timed out')), 600_000)))]).finally(() => clearTimeout(timer));
  const secs = (performance.now() - t0) / 1000;
  const c = cpu();
  await consumer.disconnect();
  return { perSec: perSec(n, secs), processCores: c.processCores, cpuUsPerRecord: Number(((c.processCores * secs * 1e6) / n).toFixed(1)) };
}

async function committed(env: Env, groupId: string, topic: string): Promise<number> {
  const [t] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

// ------------------------------------------------------------------------------------ readings

/**
 * Meters of the readings phase, one reading a minute each (the shipped model's interval): 500,000
 * readings are 50 minutes of 10,000 meters, so the learned scorer closes and scores 10-minute windows.
 */
const READING_METERS = 10_000;

function reading(i: number, meters: number): { key: string; value: string } {
  const m = i % meters;
  const meterId = `M${m}`;
  const seq = Math.floor(i / meters);
  const ts = T0 + seq * 60_000;
  const sub = `S${m % 20}`;
  return {
    key: meterId,
    value: JSON.stringify({ meterId, ts, seq, voltage: 229 + (i % 7) * 0.3, current: 4.2, power: 0.96, frequency: 50.01, readingId: `${meterId}:${seq}`, edgeId: `edge-${sub}`, substationId: sub, feederId: `${sub}-F${m % 4}`, transformerId: `${sub}-T${m % 40}`, receivedAt: ts + 40 }),
  };
}

/** One central instance consumes (and archives) the readings already on `topics`; learned scoring on or off. */
async function consumeReadings(env: Env, topics: Topics, n: number, learned: 'on' | 'off'): Promise<Record<string, unknown> & { consumedPerSec: number }> {
  const tag = learned === 'on' ? 'bench-r' : 'bench-r-rules';
  const { pipeline, metrics, config } = await startPipeline(env, topics, tag, undefined, { learnedScoring: learned, learnedRegistry: 'off' });
  const stopProfile = await profile(learned === 'on' ? 'readings' : 'readings-rules');
  // BENCH_TRACE=<dir>: where the instance waits (bench/central-trace.ts), <dir>/central-<tag>.jsonl.
  const trace = process.env.BENCH_TRACE ? traceCentral(pipeline, metrics, join(process.env.BENCH_TRACE, `central-${tag}.jsonl`)) : null;
  const cpu = cpuWindow();
  let rssPeak = 0;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 200);
  const t0 = performance.now();
  await waitFor(async () => (await metricSum(metrics, 'gridwatch_central_records_consumed_total', { topic: topics.readings, consumer: 'group' })) >= n, 600_000, 'readings consumed');
  const consumedS = (performance.now() - t0) / 1000;
  const consumeCpu = cpu();
  // The consumer does not wait for the archive: what it ran ahead by is held in memory.
  const mem = process.memoryUsage();
  const rssMiBWhenConsumed = Math.round(mem.rss / 1048576);
  // Where the RSS is: the JavaScript heap of this thread, and Buffers (external) outside it.
  const memWhenConsumedMiB = { heapUsed: Math.round(mem.heapUsed / 1048576), heapTotal: Math.round(mem.heapTotal / 1048576), external: Math.round(mem.external / 1048576), arrayBuffers: Math.round(mem.arrayBuffers / 1048576) };
  let archived: Record<string, unknown> = {};
  if (env.archive !== 'off') {
    await waitFor(async () => (await committed(env, config.centralGroup, topics.readings)) >= n, 600_000, 'readings archived and committed');
    const archivedS = (performance.now() - t0) / 1000;
    const all = cpu();
    archived = {
      archivedAndCommittedPerSec: perSec(n, archivedS),
      // The process's CPU time (every thread) per reading consumed, archived and committed.
      cpuUsPerReading: Number(((all.processCores * archivedS * 1e6) / n).toFixed(1)),
      archiveObjects: await metricSum(metrics, 'gridwatch_archive_objects_total', { topic: topics.readings }),
      archiveMiB: Number(((await metricSum(metrics, 'gridwatch_archive_bytes_total', { topic: topics.readings })) / 1048576).toFixed(1)),
      cpu: all,
    };
  }
  // With the model: its windows (scored, skipped) as evidence that it did the work.
  const scorer = pipeline.learned?.scorer;
  if (scorer) await scorer.flush();
  const learnedWork = scorer ? (({ readings, rows, scored, partial, late, batches }) => ({ readings, rows, scored, partial, late, batches }))(scorer.counters) : null;
  clearInterval(rssTimer);
  const traced = trace?.stop();
  await stopProfile();
  await pipeline.stop();
  archived.rssPeakMiB = Math.round(rssPeak / 1048576);
  return { learnedScoring: learned, consumedPerSec: perSec(n, consumedS), consumeCpu, rssMiBWhenConsumed, memWhenConsumedMiB, ...archived, ...(learnedWork ? { learnedWork } : {}), ...(traced ? { trace: traced } : {}) };
}

async function readingsPhase(env: Env, n: number): Promise<Record<string, unknown>> {
  const topics = await createTopics(env, 'r');
  env.log(`readings: producing ${n} ...`);
  const produceS = await produceAll(env.producer, topics.readings, n, (i) => reading(i, READING_METERS));
  env.log('readings: baseline (bare consumer) ...');
  const baseline = await bareConsume(env, topics.readings, n);
  env.log(`readings: baseline ${baseline.perSec}/s; central without the model ...`);
  // The same backlog twice, in the same run: rules only (the yardstick of learned scoring), then
  // with the shipped model (features, batched inference in its worker, anomalies produced).
  // BENCH_LEARNED=off: the rules-only instance alone (a shorter run, for profiles and traces).
  const rules = await consumeReadings(env, topics, n, 'off');
  if (process.env.BENCH_LEARNED === 'off') return { n, meters: READING_METERS, producedPerSec: perSec(n, produceS), baselinePerSec: baseline.perSec, baselineProcessCores: baseline.processCores, baselineCpuUsPerReading: baseline.cpuUsPerRecord, ...rules, consumedVsBaseline: Number((rules.consumedPerSec / baseline.perSec).toFixed(2)) };
  env.log(`readings: central without the model ${rules.consumedPerSec}/s; with the model ...`);
  const learned = await consumeReadings(env, topics, n, 'on');
  const { consumedPerSec } = learned;
  return {
    n,
    meters: READING_METERS,
    producedPerSec: perSec(n, produceS),
    baselinePerSec: baseline.perSec,
    baselineProcessCores: baseline.processCores,
    baselineCpuUsPerReading: baseline.cpuUsPerRecord,
    ...learned,
    consumedVsBaseline: Number((consumedPerSec / baseline.perSec).toFixed(2)),
    withoutModel: rules,
    withModelVsWithout: Number((consumedPerSec / rules.consumedPerSec).toFixed(3)),
  };
}

// ----------------------------------------------------------------------------------- anomalies

/** Meters under substations of 5 feeders x 25 transformers x 20 meters (2,500 each). */
function benchMeter(j: number): TopologyEntry {
  const s = Math.floor(j / 2500);
  const f = Math.floor((j % 2500) / 500);
  const t = Math.floor((j % 500) / 20);
  return { meterId: `A${j}`, transformerId: `S${s}-F${f}-T${t}`, feederId: `S${s}-F${f}`, substationId: `S${s}`, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 };
}

function sag(e: TopologyEntry, j: number, state: 'open' | 'closed'): Anomaly {
  const startTs = T0 + j * 5;
  return {
    anomalyId: `sag-${e.meterId}-${startTs}`, edgeId: `edge-${e.substationId}`, meterId: e.meterId, substationId: e.substationId, feederId: e.feederId, transformerId: e.transformerId,
    type: 'sag', channel: 'voltage', state, severity: 'minor', startTs, endTs: state === 'closed' ? startTs + 600_000 : null, observed: 196, baseline: 230, detectedAt: state === 'closed' ? startTs + 600_000 : startTs,
  };
}

async function anomaliesPhase(env: Env, n: number): Promise<Record<string, unknown>> {
  const topics = await createTopics(env, 'a');
  const meters = Math.max(1, Math.floor(n / 2));
  env.log(`anomalies: topology of ${meters} meters, producing ${n} anomalies ...`);
  await produceAll(env.producer, topics.topology, meters, (j) => {
    const e = benchMeter(j);
    return { key: e.meterId, value: JSON.stringify(e) };
  });
  const produceS = await produceAll(env.producer, topics.anomalies, n, (i) => {
    const j = i % meters;
    const a = sag(benchMeter(j), j, i < meters ? 'open' : 'closed');
    return { key: a.substationId as string, value: JSON.stringify(a) };
  });
  const baseline = await bareConsume(env, topics.anomalies, n);
  env.log(`anomalies: baseline ${baseline.perSec}/s; central ...`);
  const { pipeline, metrics, config } = await startPipeline(env, topics, 'bench-a');
  const stopProfile = await profile('anomalies');
  const cpu = cpuWindow();
  const t0 = performance.now();
  await waitFor(async () => (await metricSum(metrics, 'gridwatch_central_records_consumed_total', { topic: topics.anomalies, consumer: 'group' })) >= n, 600_000, 'anomalies consumed');
  const consumedS = (performance.now() - t0) / 1000;
  const consumeCpu = cpu();
  const correlator = pipeline.stats().correlator as { anomalies?: number };
  const eventsPublished = await metricSum(metrics, 'gridwatch_central_grid_events_total');
  let archived: Record<string, unknown> = {};
  if (env.archive !== 'off') {
    await waitFor(async () => (await committed(env, anomaliesGroupId(config.centralGroup), topics.anomalies)) >= n, 600_000, 'anomalies archived and committed');
    archived = { archivedAndCommittedPerSec: perSec(n, (performance.now() - t0) / 1000) };
  }
  await stopProfile();
  await pipeline.stop();
  const correlatedPerSec = perSec(n, consumedS);
  return {
    n,
    meters,
    producedPerSec: perSec(n, produceS),
    baselinePerSec: baseline.perSec,
    consumedAndCorrelatedPerSec: correlatedPerSec,
    consumedVsBaseline: Number((correlatedPerSec / baseline.perSec).toFixed(2)),
    correlatorTookIn: correlator.anomalies ?? null,
    eventsPublishedMeanwhile: eventsPublished,
    consumeCpu,
    ...archived,
    note: 'pre-produced, so the broadcast consumer (fromBeginning: false) does not read them; correlator defaults (holds in clock time: events still pending when the phase ends)',
  };
}

// --------------------------------------------------------------------------------------- delay

async function delayPhase(env: Env, rounds: number): Promise<Record<string, unknown>> {
  const topics = await createTopics(env, 'l');
  // One transformer per round (LT-T<r>) with 4 meters.
  const topo: TopologyEntry[] = Array.from({ length: rounds }, (_, r) =>
    [1, 2, 3, 4].map((i): TopologyEntry => ({ meterId: `L${r}-${i}`, transformerId: `LT-T${r}`, feederId: `LT-F${r % 8}`, substationId: 'LT', phase: 'A', nominalVoltage: 230, nominalFrequency: 50 })),
  ).flat();
  await env.producer.send({ topic: topics.topology, messages: topo.map((e) => ({ key: e.meterId, value: JSON.stringify(e) })) });
  const { metrics, pipeline } = await startPipeline(env, topics, 'bench-l', { openHoldMs: 0, meterHoldMs: 0, growthPublishMs: 0 });
  // Where the delay goes: when the group consumer starts the batch that holds each round's third
  // anomaly (wall clock, as the record timestamps).
  const group = (pipeline as unknown as { group: { consumer: Consumer } }).group.consumer;
  const batchStarts: { at: number; last: number }[] = [];
  group.on(group.events.START_BATCH_PROCESS, (e) => {
    if (e.payload.topic === topics.anomalies) batchStarts.push({ at: Date.now(), last: Number(e.payload.lastOffset) });
  });

  const arrivals = new Map<string, { eventTs: number; seenAt: number }>();
  const reader = env.kafka.consumer({ groupId: name('bench-events'), maxWaitTimeInMs: 20 });
  env.cleanup.push(() => reader.disconnect());
  await reader.connect();
  await reader.subscribe({ topic: topics.events, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const e = JSON.parse(String(message.value)) as GridEvent;
      if (e.rootId.startsWith('LT-T') && e.state === 'open' && !arrivals.has(e.rootId)) arrivals.set(e.rootId, { eventTs: Number(message.timestamp), seenAt: Date.now() });
    },
  });
  await new Promise((r) => setTimeout(r, 2000));
  const toRecord: number[] = [];
  const toReader: number[] = [];
  const sendAck: number[] = [];
  const toBatch: number[] = [];
  const ackToBatch: number[] = [];
  const batchToEvent: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ts = T0 + 3_600_000 + r * 600_000;
    const mk = (meterId: string, state: 'open' | 'closed'): Anomaly => ({ ...sag(topo[r * 4] as TopologyEntry, 0, state), anomalyId: `lat-${meterId}`, meterId, edgeId: 'edge-LT', substationId: 'LT', feederId: `LT-F${r % 8}`, transformerId: `LT-T${r}`, severity: 'major', startTs: ts, endTs: state === 'closed' ? ts + 2000 : null, detectedAt: ts });
    await env.producer.send({ topic: topics.anomalies, acks: -1, messages: [`L${r}-1`, `L${r}-2`].map((m) => ({ key: 'LT', value: JSON.stringify(mk(m, 'open')) })) });
    await new Promise((res) => setTimeout(res, 50));
    const enteredAt = Date.now(); // the record's timestamp (CreateTime): when it entered Kafka
    const [meta] = await env.producer.send({ topic: topics.anomalies, acks: -1, messages: [{ key: 'LT', timestamp: String(enteredAt), value: JSON.stringify(mk(`L${r}-3`, 'open')) }] });
    sendAck.push(Date.now() - enteredAt);
    await waitFor(() => arrivals.has(`LT-T${r}`), 60_000, `delay round ${r}`);
    const offset = Number(meta?.baseOffset ?? -1);
    const start = batchStarts.find((b) => b.last >= offset);
    if (start) {
      toBatch.push(start.at - enteredAt);
      ackToBatch.push(start.at - enteredAt - (sendAck[sendAck.length - 1] as number));
      batchToEvent.push(arrivals.get(`LT-T${r}`)!.eventTs - start.at);
    }
    const got = arrivals.get(`LT-T${r}`) as { eventTs: number; seenAt: number };
    toRecord.push(got.eventTs - enteredAt);
    toReader.push(got.seenAt - enteredAt);
    await env.producer.send({ topic: topics.anomalies, acks: -1, messages: [1, 2, 3].map((i) => ({ key: 'LT', value: JSON.stringify(mk(`L${r}-${i}`, 'closed')) })) });
    await new Promise((res) => setTimeout(res, 100));
  }
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const a = sorted(toRecord);
  const b = sorted(toReader);
  const h = await metrics.registry.getSingleMetric('gridwatch_central_anomaly_to_event_seconds')?.get();
  const part = (suffix: string): number => h?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith(suffix))?.value ?? 0;
  const sum = part('_sum');
  const count = part('_count');
  return {
    rounds,
    anomalyToEventRecordMs: { p50: pct(a, 50), p95: pct(a, 95), p99: pct(a, 99), max: a[a.length - 1] },
    anomalyToReaderMs: { p50: pct(b, 50), p95: pct(b, 95), max: b[b.length - 1] },
    // The breakdown: the anomaly's own produce (acks=all) acknowledged, and central starting the batch that holds it.
    anomalySendAckMs: { p50: pct(sorted(sendAck), 50), p99: pct(sorted(sendAck), 99) },
    anomalyToBatchStartMs: { p50: pct(sorted(toBatch), 50), p99: pct(sorted(toBatch), 99), rounds: toBatch.length },
    ackToBatchStartMs: { p50: pct(sorted(ackToBatch), 50), p99: pct(sorted(ackToBatch), 99) },
    batchStartToEventRecordMs: { p50: pct(sorted(batchToEvent), 50), p99: pct(sorted(batchToEvent), 99) },
    anomalyToEventComputedMeanMs: count > 0 ? Math.round((1000 * sum) / count) : null,
    note: 'idle instance; correlator openHoldMs=0 (by default a device event is held 10 s by design before it is published)',
  };
}

// ------------------------------------------------------------------------------------ topology

/**
 * A topology of `meters` meters (substations of 5 feeders x 25 transformers x 20 meters) loaded as
 * central loads GRIDWATCH_TOPOLOGY at start: the file read, parsed, validated and indexed. The
 * yardstick is a bare JSON.parse of the same entries as one JSON array.
 */
async function topologyPhase(env: Env, meters: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-topology-'));
  env.cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'topology.csv');
  const entries = Array.from({ length: meters }, (_, j) => benchMeter(j));
  writeTopologyFile(file, entries);
  const json = JSON.stringify(entries);
  entries.length = 0;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const registry = new TopologyRegistry({ logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), file });
  const loadS = (performance.now() - t0) / 1000;
  const rssAfterMiB = Math.round(process.memoryUsage().rss / 1048576);
  const t1 = performance.now();
  const bare = (JSON.parse(json) as unknown[]).length;
  const bareS = (performance.now() - t1) / 1000;
  return { meters: registry.topology.size, bareParsed: bare, fileMiB: Number((readFileSync(file).length / 1048576).toFixed(1)), loadS: Number(loadS.toFixed(2)), bareJsonParseS: Number(bareS.toFixed(2)), rssGrowthMiB: Math.round((process.memoryUsage().rss - rss0) / 1048576), rssAfterMiB };
}

// ------------------------------------------------------------------------------------- figures

/** The bench/figures.ts shape of what the phases measured. */
function centralFigures(r: Record<string, unknown>): BenchFigure[] {
  const out: BenchFigure[] = [];
  const rd = r.readings as { consumedPerSec: number; baselinePerSec: number; archivedAndCommittedPerSec?: number; cpuUsPerReading?: number; baselineCpuUsPerReading?: number; rssPeakMiB?: number; withoutModel?: { consumedPerSec: number } } | undefined;
  if (rd) {
    const bare = { name: 'bare kafkajs consumer, same topic and fetch settings', value: rd.baselinePerSec };
    out.push({ id: 'central.readings.consumed', figure: 'central: readings consumed per instance', value: rd.consumedPerSec, unit: 'readings/s', higherIsBetter: true, yardstick: bare, ratio: rd.consumedPerSec / rd.baselinePerSec });
    if (rd.withoutModel) out.push({ id: 'central.readings.consumed_with_model', figure: 'central: readings consumed with learned scoring on, against the same instance without the model', value: rd.consumedPerSec, unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'central without the model (learnedScoring=off, same run)', value: rd.withoutModel.consumedPerSec }, ratio: rd.consumedPerSec / rd.withoutModel.consumedPerSec, goal: { text: '>= 0.8 x central without the model', on: 'ratio', min: 0.8 } });
    if (rd.archivedAndCommittedPerSec !== undefined) {
      const v = rd.archivedAndCommittedPerSec;
      out.push({ id: 'central.readings.archived', figure: 'central: readings archived (MinIO + InfluxDB) and committed per instance', value: v, unit: 'readings/s', higherIsBetter: true, yardstick: bare, ratio: v / rd.baselinePerSec, goal: { text: '>= 0.5 x bare kafkajs consumer', on: 'ratio', min: 0.5 } });
      out.push({ id: 'central.readings.archived_abs', figure: 'central: readings archived and committed, absolute', value: v, unit: 'readings/s', higherIsBetter: true, goal: { text: '>= 100,000 readings/s', on: 'value', min: 100_000 } });
    }
    if (rd.cpuUsPerReading !== undefined && rd.baselineCpuUsPerReading !== undefined) {
      // Under a loaded machine the rates follow the CPU each reading costs: this is the figure that load does not move much.
      out.push({ id: 'central.readings.cpu_per_reading', figure: 'central: process CPU time per reading consumed, archived and committed', value: rd.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, yardstick: { name: 'bare kafkajs consumer, CPU per reading', value: rd.baselineCpuUsPerReading }, ratio: rd.cpuUsPerReading / rd.baselineCpuUsPerReading });
    }
    if (rd.rssPeakMiB !== undefined) out.push({ id: 'central.readings.rss_peak', figure: 'central: RSS peak while consuming and archiving readings', value: rd.rssPeakMiB, unit: 'MB', higherIsBetter: false });
  }
  const an = r.anomalies as { consumedAndCorrelatedPerSec: number; baselinePerSec: number; archivedAndCommittedPerSec?: number } | undefined;
  if (an) {
    const bare = { name: 'bare kafkajs consumer, anomalies topic', value: an.baselinePerSec };
    out.push({ id: 'central.anomalies.correlated', figure: 'central: anomalies consumed and correlated', value: an.consumedAndCorrelatedPerSec, unit: 'records/s', higherIsBetter: true, yardstick: bare, ratio: an.consumedAndCorrelatedPerSec / an.baselinePerSec });
    if (an.archivedAndCommittedPerSec !== undefined) out.push({ id: 'central.anomalies.archived', figure: 'central: anomalies archived and committed', value: an.archivedAndCommittedPerSec, unit: 'records/s', higherIsBetter: true, yardstick: bare, ratio: an.archivedAndCommittedPerSec / an.baselinePerSec });
  }
  const d = r.delay as { anomalyToEventRecordMs: Record<string, number> } | undefined;
  if (d) out.push({ id: 'central.delay.anomaly_to_event_p99', figure: 'central: anomaly entering Kafka to its grid event record, holds at 0, p99', value: d.anomalyToEventRecordMs.p99 as number, unit: 'ms', higherIsBetter: false, goal: { text: 'p99 <= 50 ms', on: 'value', max: 50 } });
  const t = r.topology as { meters: number; loadS: number; bareJsonParseS: number; rssAfterMiB: number } | undefined;
  if (t) {
    out.push({ id: 'central.topology.load', figure: `central: ${t.meters.toLocaleString('en')}-meter topology file loaded`, value: t.loadS, unit: 's', higherIsBetter: false, yardstick: { name: 'bare JSON.parse of the same entries', value: t.bareJsonParseS }, ratio: t.loadS / t.bareJsonParseS, goal: { text: '<= 10 s (1,000,000 meters)', on: 'value', max: 10 } });
    out.push({ id: 'central.topology.rss', figure: 'central: RSS with the topology loaded', value: t.rssAfterMiB, unit: 'MB', higherIsBetter: false });
  }
  return out;
}

// ---------------------------------------------------------------------------------------- main

export async function benchCentral(opts: CentralBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const k = benchKafka();
  const brokers = opts.brokers ?? k.brokers;
  log(`bench central: Kafka ${brokers.join(',')} ${k.security.describe()}`);
  const archive = opts.archive ?? (process.env.GRIDWATCH_S3_ENDPOINT ? 'minio' : 'dir');
  const influxUrl = process.env.GRIDWATCH_INFLUX_URL;
  const withInflux = (opts.influx ?? Boolean(influxUrl)) && influxUrl !== undefined && archive !== 'off';
  const kafka = createKafkaClient({ clientId: name('bench-central'), brokers, security: k.security });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const env: Env = {
    kafka, admin, producer, brokers, kafkaEnv: k.env, archive,
    influx: withInflux ? { url: influxUrl as string, token: process.env.GRIDWATCH_INFLUX_TOKEN ?? '', org: process.env.GRIDWATCH_INFLUX_ORG ?? 'gridwatch' } : null,
    partitions: opts.partitions ?? 6,
    log: (line) => log(`bench central: ${line}`),
    cleanup: [],
  };
  const result: Record<string, unknown> = { node: process.version, partitions: env.partitions, archive: archive === 'minio' ? 'MinIO (gzip JSONL)' : archive === 'dir' ? 'local directory (gzip JSONL)' : 'off', influx: withInflux ? 'on' : 'off' };
  const phases = new Set<Phase>(opts.phases ?? ['readings', 'anomalies', 'delay', 'topology']);
  const load0 = loadavg()[0] as number;
  try {
    if (phases.has('readings')) {
      result.readings = await readingsPhase(env, opts.readings ?? 500_000);
      env.log(`readings ${JSON.stringify(result.readings)}`);
    }
    if (phases.has('anomalies')) {
      result.anomalies = await anomaliesPhase(env, opts.anomalies ?? 100_000);
      env.log(`anomalies ${JSON.stringify(result.anomalies)}`);
    }
    if (phases.has('delay')) {
      result.delay = await delayPhase(env, opts.latencyRounds ?? 20);
      env.log(`delay ${JSON.stringify(result.delay)}`);
    }
    if (phases.has('topology')) {
      result.topology = await topologyPhase(env, opts.topologyMeters ?? 1_000_000);
      env.log(`topology ${JSON.stringify(result.topology)}`);
    }
    const load: MachineLoad = { loadavg1Start: load0, loadavg1End: loadavg()[0] as number, cpus: cpus().length };
    return { figures: centralFigures(result), load, ...result };
  } finally {
    for (const c of env.cleanup.reverse()) await c().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { readings: { type: 'string' }, meters: { type: 'string' }, anomalies: { type: 'string' }, rounds: { type: 'string' }, archive: { type: 'string' }, 'no-influx': { type: 'boolean' }, phase: { type: 'string', multiple: true } },
    strict: true,
  });
  const archive = values.archive as CentralBenchOptions['archive'];
  if (archive !== undefined && !['minio', 'dir', 'off'].includes(archive)) throw new Error('--archive: expected minio, dir or off');
  const phases = values.phase as Phase[] | undefined;
  if (phases?.some((p) => !['readings', 'anomalies', 'delay', 'topology'].includes(p))) throw new Error('--phase: expected readings, anomalies, delay or topology');
  benchCentral({
    ...(values.readings ? { readings: Number(values.readings) } : {}),
    ...(values.anomalies ? { anomalies: Number(values.anomalies) } : {}),
    ...(values.rounds ? { latencyRounds: Number(values.rounds) } : {}),
    ...(values.meters ? { topologyMeters: Number(values.meters) } : {}),
    ...(archive ? { archive } : {}),
    ...(values['no-influx'] ? { influx: false } : {}),
    ...(phases ? { phases } : {}),
  })
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
