/**
 * The rig of the central fault tests (issue 14 item 4): real `gridwatch central` processes in one
 * consumer group of a test's own (topic prefix and group), a MinIO of the test's own (and, for the
 * InfluxDB outage, an InfluxDB of its own), readings produced straight into Kafka, and the checks:
 * every offset of the readings topic in exactly one archive line, committed offsets never past
 * what the progress marker says is archived. Ports: helper central14's range 20200-20299.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { createSink, topicPrefix, type ArchiveSink } from '../../central/archive/index.ts';
import { readProgress, type Progress } from '../../central/archive/progress.ts';
import { throwawayInflux, type ThrowawayInflux } from '../../deploy/services/influxdb.ts';
import { throwawayMinio, type ThrowawayMinio } from '../../deploy/services/minio.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import { testKafkaSecurity, uniqueName } from '../harness/env.ts';
import { exited, handleCount, rssBytes } from './child.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LOG_DIR = join(tmpdir(), 'gridwatch-central-faults');
export const METRICS_TOKEN = 'central-fault-metrics-token-0123456789';
const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);
/** Meters and substations of the produced readings: 40 substations make a flush many objects. */
const METERS = 4000;
const SUBSTATIONS = 40;

export interface RigOptions {
  name: string;
  partitions: number;
  /** Base of this test's ports: MinIO base, base+1; InfluxDB base+2, base+3; centrals base+5 to base+9 */
  portBase: number;
  influx?: boolean;
  budgetMiB?: number;
  archiveMaxAgeMs?: number;
  log?: (line: string) => void;
}

export interface Central {
  name: string;
  child: ChildProcess;
  pid: number;
  httpPort: number;
  log(): string;
  /** Sum of a metric's series from its /metrics (labels matched as substrings). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  rssMiB(): number;
  handles(): number;
}

export function reading(i: number): { key: string; value: string } {
  const m = i % METERS;
  const meterId = `M${m}`;
  const seq = Math.floor(i / METERS);
  const ts = T0 + seq * 15_000;
  const sub = `S${m % SUBSTATIONS}`;
  return { key: meterId, value: JSON.stringify({ meterId, ts, seq, voltage: 229 + (i % 7) * 0.3, current: 4.2, power: 0.96, frequency: 50.01, readingId: `${meterId}:${seq}`, edgeId: `edge-${sub}`, substationId: sub, feederId: `${sub}-F${m % 4}`, transformerId: `${sub}-T${m % 40}`, receivedAt: ts + 40 }) };
}

export class CentralRig {
  readonly prefix: string;
  readonly topic: string;
  readonly group: string;
  readonly bucket: string;
  readonly minio: ThrowawayMinio;
  readonly influx: ThrowawayInflux | null;
  readonly sink: ArchiveSink;
  produced = 0;
  private readonly dir: string;
  private readonly kafka;
  private readonly admin;
  private readonly producer;
  private readonly centrals: Central[] = [];
  private nextPort: number;
  private flooding: Promise<void> | null = null;
  private floodOn = false;

  constructor(readonly o: RigOptions) {
    this.prefix = uniqueName(o.name);
    this.topic = `${this.prefix}.grid.readings`;
    this.group = `${this.prefix}-central`;
    this.bucket = this.prefix.slice(0, 63).toLowerCase();
    this.dir = mkdtempSync(join(tmpdir(), `central14-${o.name}-`));
    this.minio = throwawayMinio({ port: o.portBase, dataDir: join(this.dir, 'minio') });
    this.influx = o.influx ? throwawayInflux({ http: o.portBase + 2, rpc: o.portBase + 3, dataDir: join(this.dir, 'influx') }) : null;
    const u = new URL(this.minio.endpoint);
    this.sink = createSink({ s3: { endPoint: u.hostname, port: Number(u.port), useSSL: false, accessKey: this.minio.accessKey, secretKey: this.minio.secretKey, bucket: this.bucket } });
    this.kafka = createKafkaClient({ clientId: this.prefix, brokers: (process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(','), security: testKafkaSecurity() });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.nextPort = o.portBase + 5;
  }

  log(line: string): void {
    this.o.log?.(line);
  }

  async start(): Promise<void> {
    await this.minio.start();
    if (this.influx) {
      await this.influx.start();
      await this.influxQuery(`CREATE DATABASE "gridwatch"`);
    }
    await this.admin.connect();
    await this.producer.connect();
    await this.admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.topic, numPartitions: this.o.partitions }] });
  }

  async influxQuery(q: string): Promise<unknown> {
    const res = await fetch(`${this.influx!.url}/query?db=gridwatch`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`influx ${q}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** Produces n readings (acks all): every one of them is in Kafka when this resolves. */
  async produce(n: number): Promise<void> {
    for (let i = 0; i < n; i += 2000) {
      const k = Math.min(2000, n - i);
      const batch = Array.from({ length: k }, (_, j) => reading(this.produced + j));
      await this.producer.send({ topic: this.topic, acks: -1, compression: kafkajs.CompressionTypes.None, messages: batch });
      this.produced += k;
    }
  }

  /** Produces about `perSecond` readings a second until stopFlood(). */
  flood(perSecond: number): void {
    this.floodOn = true;
    this.flooding = (async () => {
      const t0 = Date.now();
      const start = this.produced;
      while (this.floodOn) {
        const due = Math.floor(((Date.now() - t0) / 1000) * perSecond) - (this.produced - start);
        if (due > 0) await this.produce(Math.min(due, 5000));
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  async stopFlood(): Promise<void> {
    this.floodOn = false;
    await this.flooding;
  }

  /** Starts a `gridwatch central` of this group; resolves once it logged "central started". */
  async spawnCentral(name: string): Promise<Central> {
    const httpPort = this.nextPort++;
    const kafkaEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('GRIDWATCH_KAFKA_')));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDWATCH_')));
    const child = spawn(process.execPath, [join(ROOT, 'bin/gridwatch.js'), 'central'], {
      env: {
        ...base,
        ...kafkaEnv,
        GRIDWATCH_KAFKA_TOPIC_PREFIX: `${this.prefix}.`,
        GRIDWATCH_CENTRAL_GROUP: this.group,
        GRIDWATCH_INSTANCE_ID: `${name}-${this.prefix.slice(-6)}`,
        GRIDWATCH_HTTP_HOST: '127.0.0.1',
        GRIDWATCH_HTTP_PORT: String(httpPort),
        GRIDWATCH_METRICS_TOKEN: METRICS_TOKEN,
        GRIDWATCH_LOG_LEVEL: 'info',
        GRIDWATCH_S3_ENDPOINT: this.minio.endpoint,
        GRIDWATCH_S3_ACCESS_KEY: this.minio.accessKey,
        GRIDWATCH_S3_SECRET_KEY: this.minio.secretKey,
        GRIDWATCH_S3_BUCKET: this.bucket,
        GRIDWATCH_ARCHIVE_MAX_AGE_MS: String(this.o.archiveMaxAgeMs ?? 1000),
        // The archive is under test, not the model: rules only keeps the CPU for the flood.
        GRIDWATCH_LEARNED_SCORING: 'off',
        ...(this.o.budgetMiB ? { GRIDWATCH_ARCHIVE_MAX_BUFFERED_BYTES: String(this.o.budgetMiB * 1048576) } : {}),
        ...(this.influx ? { GRIDWATCH_INFLUX_URL: this.influx.url, GRIDWATCH_INFLUX_BUCKET: 'gridwatch/autogen' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    // The whole log also goes to a file that outlives the run (the tail is kept in memory).
    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `${this.prefix}-${name}.log`);
    const keep = (d: Buffer): void => {
      appendFileSync(logFile, d);
      log += d.toString();
      if (log.length > 400_000) log = log.slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const pid = child.pid as number;
    const c: Central = {
      name,
      child,
      pid,
      httpPort,
      log: () => log,
      metric: async (metric, labels = {}) => {
        // A central busy with a flood on a loaded machine can take a while to answer.
        const scrape = async (attempt: number): Promise<string> => {
          try {
            const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(20_000) });
            return await res.text();
          } catch (err) {
            if (attempt === 3) throw err;
            return scrape(attempt + 1);
          }
        };
        const text = await scrape(1);
        let n = 0;
        for (const line of text.split('\n')) {
          if (line.startsWith('#') || line === '') continue;
          const i = line.lastIndexOf(' ');
          const k = line.slice(0, i);
          if ((k === metric || k.startsWith(`${metric}{`)) && Object.entries(labels).every(([l, v]) => k.includes(`${l}="${v}"`))) n += Number(line.slice(i + 1));
        }
        return n;
      },
      rssMiB: () => Math.round(rssBytes(pid) / 1048576),
      handles: () => handleCount(pid),
    };
    this.centrals.push(c);
    // Start-up takes long on a loaded machine (topics, state topic catch-up, the group's join).
    await this.until(`${name} started (log ${logFile})`, 240_000, async () => log.includes('"central started"'), c);
    return c;
  }

  /** Polls `pred` every 200 ms; fails with the centrals' log tails when it times out or one exits. */
  async until(what: string, ms: number, pred: () => Promise<boolean>, watch?: Central): Promise<void> {
    const end = Date.now() + ms;
    while (!(await pred().catch(() => false))) {
      if (watch && watch.child.exitCode !== null) throw new Error(`${watch.name} exited (${String(watch.child.exitCode)}): ${watch.log().slice(-3000)}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${this.centrals.map((c) => `${c.name}: ${c.log().slice(-1500)}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async kill(c: Central, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    c.child.kill(signal);
    await exited(c.child);
  }

  /** Committed offset (next to read) of every partition; -1 where nothing is committed. */
  async committed(): Promise<Map<number, bigint>> {
    const [t] = await this.admin.fetchOffsets({ groupId: this.group, topics: [this.topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  }

  async committedTotal(): Promise<number> {
    return [...(await this.committed()).values()].reduce((n, o) => n + Math.max(0, Number(o)), 0);
  }

  async markers(): Promise<Map<number, Progress>> {
    const out = new Map<number, Progress>();
    for (let p = 0; p < this.o.partitions; p++) out.set(p, await readProgress(this.sink, this.topic, p));
    return out;
  }

  /**
   * For every partition, the committed offset against what the archive holds: the marker's
   * archivedThrough, or its pending flush when all of that flush's objects exist. Returns the
   * partitions whose commit is past what is archived (must be none).
   */
  async committedPastArchive(): Promise<string[]> {
    const committed = await this.committed();
    const markers = await this.markers();
    const bad: string[] = [];
    for (const [p, m] of markers) {
      let through = m.archivedThrough ?? -1n;
      if (m.pending && m.pending.last > through) {
        const present = await Promise.all(m.pending.keys.map(async (k) => (await this.sink.list(k)).includes(k)));
        if (present.every(Boolean)) through = m.pending.last;
      }
      const c = committed.get(p) ?? -1n;
      if (c > through + 1n) bad.push(`partition ${p}: committed ${c}, archived through ${through}`);
    }
    return bad;
  }

  /** Every line of the readings objects: counts per (partition, offset), and objects whose ranges overlap. */
  readArchive(): Promise<ReadingsArchive> {
    return readReadingsArchive(this.sink, this.topic);
  }

  /** The end offset of every partition. */
  async ends(): Promise<Map<number, bigint>> {
    const o = await this.admin.fetchTopicOffsets(this.topic);
    return new Map(o.map((p) => [p.partition, BigInt(p.high)]));
  }

  async stop(): Promise<void> {
    this.floodOn = false;
    await this.flooding?.catch(() => undefined);
    for (const c of this.centrals) {
      if (c.child.exitCode !== null || c.child.signalCode !== null) continue;
      c.child.kill('SIGCONT');
      c.child.kill('SIGTERM');
      const t = setTimeout(() => c.child.kill('SIGKILL'), 20_000);
      await exited(c.child);
      clearTimeout(t);
    }
    await this.minio.stop().catch(() => undefined);
    await this.influx?.stop().catch(() => undefined);
    const mine = (await this.admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`${this.prefix}.`));
    await this.admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await this.admin.deleteGroups([this.group]).catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Exactly once: every offset 0..records-1 of every partition appears once in the archive. */
export function exactlyOnce(archive: { offsets: Map<string, number> }, ends: Map<number, bigint>): { missing: number; duplicated: number } {
  let missing = 0;
  let duplicated = 0;
  for (const [p, end] of ends) {
    for (let o = 0n; o < end; o++) {
      const n = archive.offsets.get(`${p}:${o}`) ?? 0;
      if (n === 0) missing++;
      else if (n > 1) duplicated += n - 1;
    }
  }
  return { missing, duplicated };
}

/** The group consumer's joins in a central's log: the partitions of `topic` assigned at each. */
export function groupJoins(c: Central, group: string, topic: string): number[][] {
  const out: number[][] = [];
  for (const line of c.log().split('\n')) {
    if (!line.includes('"consumer group joined"') || !line.includes(`"groupId":"${group}"`)) continue;
    try {
      const j = JSON.parse(line) as { assignment?: Record<string, number[]> };
      out.push(j.assignment?.[topic] ?? []);
    } catch {
      // a partial line at the end of the tail
    }
  }
  return out;
}

export interface ReadingsArchive {
  objects: number;
  lines: number;
  offsets: Map<string, number>;
  readingIds: Set<string>;
  /** Lines per reading (`meterId:seq`): more than 1 is a duplicate the archive's de-duplication let through. */
  perReading: Map<string, number>;
  overlapping: string[];
}

/** Every line of a readings topic's archive objects in `sink` (central's layout, docs/archive.md). */
export async function readReadingsArchive(sink: ArchiveSink, topic: string): Promise<ReadingsArchive> {
  const keys = (await sink.list(`${topicPrefix(topic)}/`)).filter((k) => k.endsWith('.jsonl.gz'));
  const offsets = new Map<string, number>();
  const readingIds = new Set<string>();
  const perReading = new Map<string, number>();
  let lines = 0;
  // Ranges per partition, from the keys: two flushes' ranges may not overlap.
  const ranges = new Map<number, Map<string, [bigint, bigint]>>();
  for (const key of keys) {
    const m = /\/(\d+)-(\d{20})-(\d{20})\.jsonl\.gz$/.exec(key);
    if (!m) continue;
    const p = Number(m[1]);
    const byRange = ranges.get(p) ?? new Map<string, [bigint, bigint]>();
    byRange.set(`${m[2]}-${m[3]}`, [BigInt(m[2] as string), BigInt(m[3] as string)]);
    ranges.set(p, byRange);
    const body = await sink.get(key);
    for (const line of gunzipSync(body as Buffer).toString('utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      const r = JSON.parse(line) as { _offset: string; readingId: string; meterId: string; seq: number };
      const k = `${p}:${r._offset}`;
      offsets.set(k, (offsets.get(k) ?? 0) + 1);
      readingIds.add(r.readingId);
      const id = `${r.meterId}:${r.seq}`;
      perReading.set(id, (perReading.get(id) ?? 0) + 1);
    }
  }
  const overlapping: string[] = [];
  for (const [p, byRange] of ranges) {
    const sorted = [...byRange.values()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      const [prev, cur] = [sorted[i - 1] as [bigint, bigint], sorted[i] as [bigint, bigint]];
      if (cur[0] <= prev[1]) overlapping.push(`partition ${p}: ${prev[0]}-${prev[1]} and ${cur[0]}-${cur[1]}`);
    }
  }
  return { objects: keys.length, lines, offsets, readingIds, perReading, overlapping };
}
