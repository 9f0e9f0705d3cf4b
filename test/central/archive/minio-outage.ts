// The "MinIO stopped under load" scenario (issue 14 item 4, first part; issue 12 goal 5), shared by
// the short integration test and the long reliability test. A MinIO of the test's own (never the
// shared one) archives for a real `gridwatch central` process; readings are produced, MinIO is
// stopped, more readings are produced while it is down, and after the outage MinIO is started again.
// Measured: the central process's RSS (from /proc) and its archive's held bytes (from /metrics)
// while the sink is down, pauses and resumes, and at the end every reading in the archive exactly
// once, with every offset committed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { topicPrefix } from '../../../central/archive/index.ts';
import { throwawayMinio } from '../../../deploy/services/minio.ts';
import { createKafkaClient } from '../../../shared/kafka/client.ts';
import { testKafkaSecurity, uniqueName } from '../../harness/env.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);
const METRICS_TOKEN = 'outage-test-metrics-token-0123456789';

export interface OutageOptions {
  outageMs: number;
  readingsBefore: number;
  readingsDuring: number;
  budgetMiB: number;
  partitions: number;
  log?: (line: string) => void;
}

export interface OutageResult {
  produced: number;
  archivedLines: number;
  uniqueReadings: number;
  committed: number;
  rssBeforeMiB: number;
  rssPeakDuringMiB: number;
  heldPeakMiB: number;
  pauses: number;
  resumes: number;
  /** Readings central had consumed when MinIO came back (less than produced: it paused). */
  consumedAtRestart: number;
  recoverySeconds: number;
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    // MinIO's console takes port + 1.
    if (port < 65_000) return port;
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(5000) });
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const i = line.lastIndexOf(' ');
    const k = line.slice(0, i);
    out.set(k, (out.get(k) ?? 0) + Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of a metric's series whose labels include all of `labels`. */
const metric = (m: Map<string, number>, name: string, labels: Record<string, string> = {}): number =>
  [...m].filter(([k]) => (k === name || k.startsWith(`${name}{`)) && Object.entries(labels).every(([l, v]) => k.includes(`${l}="${v}"`))).reduce((n, [, v]) => n + v, 0);

function reading(i: number): { key: string; value: string } {
  const m = i % 5000;
  const meterId = `M${m}`;
  const seq = Math.floor(i / 5000);
  const ts = T0 + seq * 15_000;
  const sub = `S${m % 10}`;
  return { key: meterId, value: JSON.stringify({ meterId, ts, seq, voltage: 229 + (i % 7) * 0.3, current: 4.2, power: 0.96, frequency: 50.01, readingId: `${meterId}:${seq}`, edgeId: `edge-${sub}`, substationId: sub, feederId: `${sub}-F${m % 4}`, transformerId: `${sub}-T${m % 40}`, receivedAt: ts + 40 }) };
}

export async function runMinioOutage(o: OutageOptions): Promise<OutageResult> {
  const log = o.log ?? (() => undefined);
  const prefix = uniqueName('outage');
  const dir = mkdtempSync(join(tmpdir(), 'gw-outage-'));
  const minio = throwawayMinio({ port: await freePort(), dataDir: join(dir, 'minio') });
  const httpPort = await freePort();
  const kafka = createKafkaClient({ clientId: prefix, brokers: (process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(','), security: testKafkaSecurity() });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const topic = `${prefix}.grid.readings`;
  const group = `${prefix}-central`;
  const bucket = prefix.slice(0, 63);
  let central: ChildProcess | null = null;
  const stderr: string[] = [];
  try {
    await minio.start();
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: o.partitions }] });
    let produced = 0;
    const produce = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 2000) {
        const batch = Array.from({ length: Math.min(2000, n - i) }, (_, j) => reading(produced + i + j));
        await producer.send({ topic, acks: -1, compression: kafkajs.CompressionTypes.None, messages: batch });
      }
      produced += n;
    };
    // Only the Kafka settings come from the harness; the archive is this test's MinIO.
    const kafkaEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('GRIDWATCH_KAFKA_')));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDWATCH_')));
    central = spawn(process.execPath, [join(ROOT, 'bin/gridwatch.js'), 'central'], {
      env: {
        ...base, ...kafkaEnv,
        GRIDWATCH_KAFKA_TOPIC_PREFIX: `${prefix}.`, GRIDWATCH_CENTRAL_GROUP: group, GRIDWATCH_HTTP_HOST: '127.0.0.1', GRIDWATCH_HTTP_PORT: String(httpPort),
        GRIDWATCH_METRICS_TOKEN: METRICS_TOKEN, GRIDWATCH_LOG_LEVEL: 'info',
        GRIDWATCH_S3_ENDPOINT: minio.endpoint, GRIDWATCH_S3_ACCESS_KEY: minio.accessKey, GRIDWATCH_S3_SECRET_KEY: minio.secretKey, GRIDWATCH_S3_BUCKET: bucket,
        GRIDWATCH_ARCHIVE_MAX_AGE_MS: '1000', GRIDWATCH_ARCHIVE_MAX_BUFFERED_BYTES: String(o.budgetMiB * 1048576),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The last lines of its log go into any failure message.
    const keep = (d: Buffer): void => {
      stderr.push(d.toString());
      if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
    };
    central.stdout?.on('data', keep);
    central.stderr?.on('data', keep);
    const pid = central.pid as number;
    const committed = async (): Promise<number> => {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    const until = async (what: string, ms: number, pred: () => Promise<boolean>): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await pred().catch(() => false))) {
        if (central?.exitCode !== null) throw new Error(`central exited (${String(central?.exitCode)}; the test's MinIO: ${minio.lastExit() ?? 'running'}): ${stderr.join('').slice(-2000)}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; central's log: ${stderr.join('').slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    await produce(o.readingsBefore);
    await until('the first readings archived', 120_000, async () => (await committed()) >= o.readingsBefore);
    const rssBeforeMiB = rssMiB(pid);
    log(`archived ${o.readingsBefore} with MinIO up; RSS ${rssBeforeMiB} MiB; stopping MinIO for ${o.outageMs / 1000} s`);

    await minio.stop();
    const downAt = Date.now();
    let rssPeakDuringMiB = rssBeforeMiB;
    let heldPeak = 0;
    const sample = async (): Promise<void> => {
      rssPeakDuringMiB = Math.max(rssPeakDuringMiB, rssMiB(pid));
      heldPeak = Math.max(heldPeak, metric(await scrape(httpPort), 'gridwatch_archive_held_bytes'));
    };
    const sampler = setInterval(() => void sample().catch(() => undefined), 500);
    await produce(o.readingsDuring);
    log(`produced ${o.readingsDuring} more while MinIO is down`);
    while (Date.now() - downAt < o.outageMs) await new Promise((r) => setTimeout(r, 500));
    await sample();
    clearInterval(sampler);
    const m = await scrape(httpPort);
    const consumedAtRestart = metric(m, 'gridwatch_central_records_consumed_total', { topic, consumer: 'group' });
    log(`MinIO back after ${Math.round((Date.now() - downAt) / 1000)} s; consumed ${consumedAtRestart}/${produced}, RSS peak ${rssPeakDuringMiB} MiB, held peak ${(heldPeak / 1048576).toFixed(1)} MiB`);

    await minio.start();
    const upAt = Date.now();
    await until('every reading archived and committed', 180_000, async () => (await committed()) >= produced);
    const recoverySeconds = Math.round((Date.now() - upAt) / 100) / 10;
    const after = await scrape(httpPort);

    // Every reading in the archive exactly once.
    const s3 = new URL(minio.endpoint);
    const client = new MinioClient({ endPoint: s3.hostname, port: Number(s3.port), useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey });
    const names: string[] = [];
    for await (const obj of client.listObjectsV2(bucket, `${topicPrefix(topic)}/`, true)) if ((obj as { name?: string }).name) names.push((obj as { name: string }).name);
    const ids = new Set<string>();
    let lines = 0;
    for (const name of names) {
      const chunks: Buffer[] = [];
      for await (const c of await client.getObject(bucket, name)) chunks.push(c as Buffer);
      for (const line of gunzipSync(Buffer.concat(chunks)).toString('utf8').split('\n')) {
        if (line === '') continue;
        lines++;
        ids.add(String((JSON.parse(line) as { readingId: string }).readingId));
      }
    }
    return {
      produced,
      archivedLines: lines,
      uniqueReadings: ids.size,
      committed: await committed(),
      rssBeforeMiB,
      rssPeakDuringMiB,
      heldPeakMiB: Number((heldPeak / 1048576).toFixed(1)),
      pauses: metric(after, 'gridwatch_central_backpressure_total', { action: 'pause' }),
      resumes: metric(after, 'gridwatch_central_backpressure_total', { action: 'resume' }),
      consumedAtRestart,
      recoverySeconds,
    };
  } finally {
    if (central && central.exitCode === null) {
      const c = central;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(t);
    }
    await minio.stop();
    const mine = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`${prefix}.`));
    await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
