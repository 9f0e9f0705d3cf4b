/**
 * `gridwatch bench --only latency` (issue 12 goal 6): from a fault's first abnormal reading to its
 * grid event record. The real programs: `gridwatch edge` (a generated topology, BENCH_LATENCY_METERS
 * meters, default 10,000, every meter one reading a second over 100 MQTT connections) and
 * `gridwatch central` (the same topology, its own topics, a directory archive), on loopback ports
 * 20410-20412 (helper wan's range). After a warm-up, every 4 s the meters of one transformer (each
 * fault on another feeder) read 0.8 pu for 6 s past the correlator's hold: a sag, which the edge
 * opens on the first reading below sagPu and the correlator raises as a transformer event after
 * openHoldMs (a sag that clears inside the hold is discarded by design). A fault's anomaly and
 * event are the first records naming its meters that started at or after its first abnormal
 * reading (earlier records of the same meters, a start-up's, are not its own).
 *
 * Per fault: t0 = when the publisher sent the fault's first abnormal reading; the anomaly's record
 * timestamp on grid.anomalies (the edge's part: intake, detection, commit, forward) and the first
 * grid.events record naming a fault meter (central's part: consume, correlate, the hold, publish).
 * Two runs in one part: the correlator's default holds (a sag is held openHoldMs, 10 s, by design),
 * then every hold at 0; the difference of their p95 is the hold, the rest is transport. Central's
 * own delay (goal 6's anomaly to event) is from the anomaly record that completed the fault's first
 * event (the last one of the meters it names) to that event record; from the fault's first anomaly
 * is reported beside it, and cut in two where this bench's own reader of grid.anomalies received
 * the anomaly (before: the edge's produce and Kafka; after: central's fetch, correlation and
 * publish), with the five worst faults. BENCH_LATENCY_SECONDS (default 75: 11 faults held, 13 at holds 0) makes
 * the runs longer, BENCH_LATENCY_RUNS=zero runs the holds-0 run alone, BENCH_LATENCY_CENTRAL_PROF=DIR
 * has central write a CPU profile (.cpuprofile) into DIR when it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from '../shared/kafka/security.ts';
import { DEFAULT_CORRELATE_CONFIG } from '../central/correlate/config.ts';
import { generateTopology } from '../simulator/topology.ts';
import type { BenchFigure } from './figures.ts';
import { deleteTopicsWithPrefix } from './edge-fleet.ts';

const PORTS = { mqtt: 20410, edgeHttp: 20411, centralHttp: 20412 };

// Every meter one reading per interval, spread over the interval; faults make one transformer's meters read 0.8 pu.
const PUBLISHER = `
import mqtt from 'mqtt';
const o = JSON.parse(process.env.BENCH_OPTS);
const conns = await Promise.all(Array.from({ length: o.connections }, (_, i) => new Promise((res, rej) => {
  const c = mqtt.connect(o.url, { clientId: 'lat-' + process.pid + '-' + i, clean: true, reconnectPeriod: 0 });
  c.once('connect', () => res(c)); c.once('error', rej);
})));
const n = o.ids.length, seq = new Uint32Array(n), faultOf = new Int32Array(n).fill(-1);
o.faults.forEach((f, k) => f.meters.forEach((m) => (faultOf[m] = k)));
const firstAbnormal = o.faults.map(() => null);
// When each fault reading's PUBACK came back ('meterId:ts' -> ms): where the edge's part is cut.
const faultAcks = {};
const rate = n / (o.intervalMs / 1000), total = Math.floor(rate * o.seconds);
let sent = 0, acked = 0, m = 0;
const t0 = Date.now();
await new Promise((resolve) => {
  const tick = () => {
    const now = Date.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
    while (sent < due) {
      const id = m++ % n;
      const s = ++seq[id];
      const k = faultOf[id];
      const f = k >= 0 ? o.faults[k] : null;
      const at = Date.now();
      const inFault = f !== null && at - t0 >= f.startMs && at - t0 < f.startMs + f.durationMs;
      if (inFault && firstAbnormal[k] === null) firstAbnormal[k] = at;
      const v = inFault ? 184 : 229 + (id % 29) * 0.11 + (s % 5) * 0.03;
      // Every channel moves a little, as a live meter's do: constant current and power would make
      // every meter "stuck" (stuckReadings, 30) at once half a minute in, a storm of 20,000
      // anomalies in the control lane that is not this bench's scenario.
      const c = 1.2 + (id % 13) * 0.01 + (s % 7) * 0.011;
      const p = '{"meterId":"' + o.ids[id] + '","ts":' + at + ',"seq":' + s + ',"voltage":' + v.toFixed(2) + ',"current":' + c.toFixed(3) + ',"power":' + (c * v / 1000).toFixed(3) + ',"frequency":' + (49.98 + (s % 40) / 1000).toFixed(3) + ',"energy":' + (1000 + s * 0.003).toFixed(3) + '}';
      sent++;
      conns[id % o.connections].publish('meters/' + o.ids[id] + '/reading', p, { qos: 1 }, (err) => {
        if (!err) { acked++; if (inFault) faultAcks[o.ids[id] + ':' + at] = Date.now(); }
        if (sent === total && acked + 0 >= total) resolve();
      });
    }
    if (sent < total) setTimeout(tick, 5); else setTimeout(resolve, 30000).unref();
  };
  tick();
});
process.stdout.write(JSON.stringify({ sent, acked, firstAbnormal, faultAcks }));
await Promise.all(conns.map((c) => c.endAsync()));
`;

interface RunResult {
  holds: string;
  faults: number;
  seen: number;
  readingToAnomalyMs: { p50: number | null; p95: number | null; max: number | null };
  /**
   * The edge's part cut in two at the reading that opened the fault's first anomaly (its startTs):
   * `opening` = that reading's ts - the first abnormal reading's (0 when the first abnormal reading
   * opened it, about an interval when a later one did); `transport` = the anomaly record's Kafka
   * timestamp - that reading's ts, itself cut at the reading's PUBACK at the publisher: `toPuback`
   * (the publisher's queue, MQTT, intake, the commit) and `pubackToRecord` (the forwarder's wait
   * and its send until kafkajs stamps the record). With the five worst faults.
   */
  readingToAnomalySplitMs: { opening: { p50: number | null; p95: number | null }; transport: { p50: number | null; p95: number | null }; toPuback: { p50: number | null; p95: number | null }; pubackToRecord: { p50: number | null; p95: number | null }; worst: EdgeSplit[] };
  readingToEventMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  anomalyToEventMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** From the last anomaly record of the meters the fault's first event names (the one that completed it) to that event record. */
  completingAnomalyToEventMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null; samples: number };
  /**
   * The completing anomaly's delay cut where this bench's own reader of grid.anomalies (a consumer
   * in another process, fetch wait 20 ms) received it: before that, the edge's produce and Kafka;
   * after it, central's fetch, correlation and publish. Same clock (one machine).
   */
  completingSplitMs: { toReader: { p50: number | null; p99: number | null }; readerToEvent: { p50: number | null; p99: number | null }; worst: { total: number; toReader: number; readerToEvent: number }[] };
  /** Central's own view at the end of the run (its /metrics): where its part of the tail went. */
  central: CentralView | null;
  /** The edge's own view at the end of the run (its /metrics). */
  edge: EdgeView | null;
  sent: number;
  acked: number;
}

interface EdgeSplit { fault: number; total: number; opening: number; transport: number; toPuback: number | null; pubackToRecord: number | null }

/** A histogram of central's /metrics: samples, sum, and how many were over each named bound. */
interface HistogramView { count: number; sumS: number; over: Record<string, number> }
interface CentralView {
  /** Event loop delay since the start (prom-client's monitorEventLoopDelay, 10 ms resolution). */
  eventLoopLagMs: { p99: number | null; max: number | null };
  /** Garbage collections by kind (major: mark-sweep-compact). */
  gc: Record<string, HistogramView>;
  /** Producing events and snapshots (one outbox.publish). */
  publish: HistogramView | null;
  /** From the anomaly's record timestamp to the start of its batch's handling at central (its fetch). */
  recordToHandled: HistogramView | null;
}

interface EdgeView {
  eventLoopLagMs: { p99: number | null; max: number | null };
  gc: Record<string, HistogramView>;
  /** Records Kafka acknowledged, per topic (prefix left off). */
  forwarded: Record<string, number>;
  publishToCommit: HistogramView | null;
  commit: HistogramView | null;
  /** One sendBatch until acknowledged, per lane (each lane its own producer). */
  forwardSend: { control: HistogramView | null; readings: HistogramView | null };
}

const OVER_S = [0.05, 0.1, 0.25, 0.5, 1];

/** The series of a Prometheus text this bench reads: by name and labels (any order). */
function seriesOf(text: string) {
  const lines = text.split('\n');
  const series = (name: string, ...labels: string[]): string[] =>
    lines.filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.every((x) => l.includes(x)));
  const valueOf = (line: string | undefined): number | null => (line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1)));
  const ms = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000));
  const hist = (name: string, label = ''): HistogramView | null => {
    const count = valueOf(series(`${name}_count`, label)[0]);
    const sum = valueOf(series(`${name}_sum`, label)[0]);
    if (count === null || sum === null) return null;
    const buckets = series(`${name}_bucket`, label);
    const over: Record<string, number> = {};
    for (const b of OVER_S) {
      const at = valueOf(buckets.find((l) => l.includes(`le="${b}"`)));
      if (at !== null) over[`${b * 1000}ms`] = count - at;
    }
    return { count, sumS: Math.round(sum * 1000) / 1000, over };
  };
  const eventLoopLagMs = { p99: ms(valueOf(series('gridwatch_nodejs_eventloop_lag_p99_seconds')[0])), max: ms(valueOf(series('gridwatch_nodejs_eventloop_lag_max_seconds')[0])) };
  const gc: Record<string, HistogramView> = {};
  for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
    const h = hist('gridwatch_nodejs_gc_duration_seconds', `kind="${kind}"`);
    if (h) gc[kind] = h;
  }
  return { hist, eventLoopLagMs, gc, series, valueOf };
}

/** Parses the few series of central's Prometheus text this bench reports (any labels, any order). */
export function centralView(text: string): CentralView {
  const { hist, eventLoopLagMs, gc } = seriesOf(text);
  return {
    eventLoopLagMs,
    gc,
    publish: hist('gridwatch_central_publish_seconds'),
    recordToHandled: hist('gridwatch_central_anomaly_to_event_seconds'),
  };
}

/** The same for the edge: its event loop, GC, publish-to-commit (then the PUBACK), commits and sends to Kafka. */
export function edgeView(text: string): EdgeView {
  const { hist, eventLoopLagMs, gc, series, valueOf } = seriesOf(text);
  const forwarded: Record<string, number> = {};
  for (const l of series('gridwatch_forwarded_records_total')) {
    const topic = /topic="([^"]*)"/.exec(l)?.[1];
    if (topic !== undefined) forwarded[topic.slice(topic.indexOf('grid.'))] = valueOf(l) ?? 0;
  }
  return {
    eventLoopLagMs,
    gc,
    forwarded,
    publishToCommit: hist('gridwatch_edge_publish_to_commit_seconds'),
    commit: hist('gridwatch_commit_latency_seconds'),
    forwardSend: { control: hist('gridwatch_forward_send_seconds', 'lane="control"'), readings: hist('gridwatch_forward_send_seconds', 'lane="readings"') },
  };
}

const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
};

const known = (xs: EdgeSplit[], k: 'toPuback' | 'pubackToRecord'): number[] => xs.map((x) => x[k]).filter((v): v is number => v !== null);

async function waitReady(url: string, child: ChildProcess, what: string, ms = 120_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await fetch(url).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}`);
    if (performance.now() > end) throw new Error(`${what} not ready within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(t);
}

async function run(o: { meters: number; seconds: number; holdsZero: boolean; log: (l: string) => void }): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-bench-latency-'));
  const prefix = `bench-lat-${Date.now().toString(36)}-${process.pid}.`;
  const topo = generateTopology({ meters: o.meters, seed: 21, readingIntervalMs: 1000 });
  const topologyFile = join(dir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(topo.recorded));
  const ids = topo.recorded.map((e) => e.meterId);
  // One transformer per fault, each on another feeder (so no feeder-level roll-up joins two faults).
  const byTransformer = new Map<string, { feeder: string; meters: number[] }>();
  topo.recorded.forEach((e, i) => {
    const t = byTransformer.get(e.transformerId) ?? { feeder: e.feederId, meters: [] };
    t.meters.push(i);
    byTransformer.set(e.transformerId, t);
  });
  const feedersUsed = new Set<string>();
  const warmupMs = 15_000;
  // A sag that clears inside the correlator's hold is discarded by design (central/correlate/
  // publisher.ts flushPending), so with the default holds each fault lasts the hold plus 6 s: the
  // event is published while the sag is on. With the holds at 0, 6 s.
  const durationMs = (o.holdsZero ? 0 : DEFAULT_CORRELATE_CONFIG.openHoldMs) + 6000;
  const faults: { transformerId: string; meters: number[]; startMs: number; durationMs: number }[] = [];
  for (const [transformerId, t] of byTransformer) {
    if (t.meters.length < 4 || feedersUsed.has(t.feeder)) continue;
    if (warmupMs + faults.length * 4000 + durationMs + 4000 > o.seconds * 1000) break;
    feedersUsed.add(t.feeder);
    faults.push({ transformerId, meters: t.meters, startMs: warmupMs + faults.length * 4000, durationMs });
  }
  const holds = o.holdsZero ? { GRIDWATCH_CORRELATE_OPEN_HOLD_MS: '0', GRIDWATCH_CORRELATE_METER_HOLD_MS: '0', GRIDWATCH_CORRELATE_GROWTH_PUBLISH_MS: '0', GRIDWATCH_CORRELATE_DEVIATION_HOLD_MS: '0', GRIDWATCH_CORRELATE_MOMENTARY_HOLD_MS: '0' } : {};
  // No S3 and no InfluxDB for this part (a directory archive): the services' variables are dropped.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^GRIDWATCH_(S3|INFLUX)_/.test(k)));
  const common = { ...base, GRIDWATCH_TOPOLOGY: topologyFile, GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix, GRIDWATCH_LOG_LEVEL: 'warn' };
  // BENCH_LATENCY_CENTRAL_PROF=DIR: central writes a CPU profile there when it stops (--cpu-prof).
  const prof = process.env.BENCH_LATENCY_CENTRAL_PROF;
  const central = spawn(process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), 'bin/gridwatch.js', 'central'], {
    cwd: process.cwd(), stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...common, ...holds, GRIDWATCH_CENTRAL_GROUP: `${prefix}central`, GRIDWATCH_INSTANCE_ID: 'bench-lat', GRIDWATCH_HTTP_HOST: '127.0.0.1', GRIDWATCH_HTTP_PORT: String(PORTS.centralHttp), GRIDWATCH_API_AUTH: 'none', GRIDWATCH_ARCHIVE_DIR: join(dir, 'archive'), GRIDWATCH_LEARNED_REGISTRY: 'off' },
  });
  const edge = spawn(process.execPath, ['bin/gridwatch.js', 'edge'], {
    cwd: process.cwd(), stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...common, GRIDWATCH_EDGE_ID: 'bench-lat', GRIDWATCH_DATA_DIR: join(dir, 'edge'), GRIDWATCH_MQTT_HOST: '127.0.0.1', GRIDWATCH_MQTT_PORT: String(PORTS.mqtt), GRIDWATCH_HTTP_PORT: String(PORTS.edgeHttp), GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true' },
  });
  const kafka = createKafkaClient({ clientId: 'bench-latency', brokers: (process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(','), security: kafkaSecurityFromEnv() });
  const reader = kafka.consumer({ groupId: `${prefix}reader`, maxWaitTimeInMs: 20 });
  try {
    await waitReady(`http://127.0.0.1:${PORTS.edgeHttp}/readyz`, edge, 'edge');
    await waitReady(`http://127.0.0.1:${PORTS.centralHttp}/readyz`, central, 'central');
    const faultOfMeter = new Map<string, number>();
    faults.forEach((f, k) => f.meters.forEach((m) => faultOfMeter.set(ids[m]!, k)));
    // Every open anomaly and every event record naming a fault's meters, kept with the start its
    // record states: the fault's own are those that started at or after its first abnormal
    // reading (the reading's ts is the publisher's send time), known only when the publisher ends.
    const anomalies: { ts: number; startTs: number; meterId: string; seen: number }[][] = faults.map(() => []);
    const events: { ts: number; startTs: number; meters: string[] }[][] = faults.map(() => []);
    await reader.connect();
    await reader.subscribe({ topics: [`${prefix}grid.anomalies`, `${prefix}grid.events`], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ topic, message }) => {
        const seen = Date.now();
        const v = JSON.parse(String(message.value)) as { meterId?: string; affectedMeters?: string[]; state?: string; startTs?: number };
        const ts = Number(message.timestamp);
        const startTs = Number(v.startTs ?? 0);
        if (topic.endsWith('grid.anomalies')) {
          const k = faultOfMeter.get(v.meterId ?? '');
          if (k !== undefined && v.state === 'open') anomalies[k]!.push({ ts, startTs, meterId: v.meterId ?? '', seen });
        } else {
          const named = new Map<number, string[]>();
          for (const m of v.affectedMeters ?? []) {
            const k = faultOfMeter.get(m);
            if (k !== undefined) named.set(k, [...(named.get(k) ?? []), m]);
          }
          for (const [k, meters] of named) events[k]!.push({ ts, startTs, meters });
        }
      },
    });
    const pub = await new Promise<{ sent: number; acked: number; firstAbnormal: (number | null)[]; faultAcks: Record<string, number> }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', PUBLISHER], { cwd: process.cwd(), env: { ...process.env, BENCH_OPTS: JSON.stringify({ url: `mqtt://127.0.0.1:${PORTS.mqtt}`, connections: 100, ids, intervalMs: 1000, seconds: o.seconds, faults }) }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`latency publisher exited ${code}`))));
    });
    const firstOwn = <R extends { ts: number; startTs: number }>(list: R[], t0: number | null | undefined): R | null => {
      if (t0 == null) return null;
      let first: R | null = null;
      for (const r of list) if (r.startTs >= t0 && (first === null || r.ts < first.ts)) first = r;
      return first;
    };
    const own = (list: { ts: number; startTs: number }[], t0: number | null | undefined): number | null => firstOwn(list, t0)?.ts ?? null;
    const eventsAt = () => faults.map((_, k) => own(events[k]!, pub.firstAbnormal[k]));
    // The last fault's event comes after its hold: wait for it (bounded).
    for (const end = performance.now() + 60_000; eventsAt().some((e) => e === null) && performance.now() < end; ) await new Promise((r) => setTimeout(r, 250));
    const anomalyAt = faults.map((_, k) => own(anomalies[k]!, pub.firstAbnormal[k]));
    const eventAt = eventsAt();
    const toAnomaly: number[] = [];
    const edgeSplit: EdgeSplit[] = [];
    const toEvent: number[] = [];
    const central_: number[] = [];
    // Central's own part: the first event can be made only once the last anomaly it names is
    // consumed, so the delay that is central's is from that anomaly's record to the event's record
    // (from the fault's first anomaly it also holds how the fault's readings and anomalies spread
    // over the reading interval at the edge).
    const split: { total: number; toReader: number; readerToEvent: number }[] = [];
    faults.forEach((_, k) => {
      const ev = firstOwn(events[k]!, pub.firstAbnormal[k]);
      if (!ev) return;
      const firstOf = new Map<string, { ts: number; seen: number }>();
      for (const a of anomalies[k]!) {
        if (a.startTs < (pub.firstAbnormal[k] ?? Infinity) || a.ts > ev.ts) continue;
        const prev = firstOf.get(a.meterId);
        if (prev === undefined || a.ts < prev.ts) firstOf.set(a.meterId, a);
      }
      const named = ev.meters.map((m) => firstOf.get(m)).filter((x): x is { ts: number; seen: number } => x !== undefined);
      if (named.length === 0) return;
      const last = named.reduce((a, b) => (b.ts > a.ts ? b : a));
      split.push({ total: ev.ts - last.ts, toReader: last.seen - last.ts, readerToEvent: ev.ts - last.seen });
    });
    faults.forEach((_, k) => {
      const t0 = pub.firstAbnormal[k];
      if (t0 == null) return;
      const a = anomalyAt[k] ?? null, e = eventAt[k] ?? null;
      if (a !== null) toAnomaly.push(a - t0);
      const first = firstOwn(anomalies[k]!, t0);
      if (first) {
        const ack = pub.faultAcks[`${first.meterId}:${first.startTs}`];
        edgeSplit.push({ fault: k, total: first.ts - t0, opening: first.startTs - t0, transport: first.ts - first.startTs, toPuback: ack === undefined ? null : ack - first.startTs, pubackToRecord: ack === undefined ? null : first.ts - ack });
      }
      if (e !== null) toEvent.push(e - t0);
      if (e !== null && a !== null) central_.push(e - a);
    });
    const completing = split.map((x) => x.total);
    const view = await fetch(`http://127.0.0.1:${PORTS.centralHttp}/metrics`).then(async (res) => (res.ok ? centralView(await res.text()) : null), () => null);
    const edgeView_ = await fetch(`http://127.0.0.1:${PORTS.edgeHttp}/metrics`).then(async (res) => (res.ok ? edgeView(await res.text()) : null), () => null);
    const r: RunResult = {
      holds: o.holdsZero ? 'all 0' : `defaults (openHoldMs ${DEFAULT_CORRELATE_CONFIG.openHoldMs})`,
      faults: faults.length, seen: toEvent.length, sent: pub.sent, acked: pub.acked,
      readingToAnomalyMs: { p50: pct(toAnomaly, 50), p95: pct(toAnomaly, 95), max: pct(toAnomaly, 100) },
      readingToAnomalySplitMs: {
        opening: { p50: pct(edgeSplit.map((x) => x.opening), 50), p95: pct(edgeSplit.map((x) => x.opening), 95) },
        transport: { p50: pct(edgeSplit.map((x) => x.transport), 50), p95: pct(edgeSplit.map((x) => x.transport), 95) },
        toPuback: { p50: pct(known(edgeSplit, 'toPuback'), 50), p95: pct(known(edgeSplit, 'toPuback'), 95) },
        pubackToRecord: { p50: pct(known(edgeSplit, 'pubackToRecord'), 50), p95: pct(known(edgeSplit, 'pubackToRecord'), 95) },
        worst: [...edgeSplit].sort((a, b) => b.total - a.total).slice(0, 5),
      },
      readingToEventMs: { p50: pct(toEvent, 50), p95: pct(toEvent, 95), p99: pct(toEvent, 99), max: pct(toEvent, 100) },
      anomalyToEventMs: { p50: pct(central_, 50), p95: pct(central_, 95), p99: pct(central_, 99), max: pct(central_, 100) },
      completingAnomalyToEventMs: { p50: pct(completing, 50), p95: pct(completing, 95), p99: pct(completing, 99), max: pct(completing, 100), samples: completing.length },
      completingSplitMs: {
        toReader: { p50: pct(split.map((x) => x.toReader), 50), p99: pct(split.map((x) => x.toReader), 99) },
        readerToEvent: { p50: pct(split.map((x) => x.readerToEvent), 50), p99: pct(split.map((x) => x.readerToEvent), 99) },
        worst: [...split].sort((a, b) => b.total - a.total).slice(0, 5),
      },
      central: view,
      edge: edgeView_,
    };
    o.log(`${o.meters} meters at 1 s, holds ${r.holds}: ${r.seen} of ${r.faults} faults seen; reading -> anomaly record ${JSON.stringify(r.readingToAnomalyMs)} (cut at the opening reading ${JSON.stringify(r.readingToAnomalySplitMs)}), reading -> event record ${JSON.stringify(r.readingToEventMs)}, first anomaly -> event ${JSON.stringify(r.anomalyToEventMs)}, completing anomaly -> event ${JSON.stringify(r.completingAnomalyToEventMs)}, its split at this bench's reader ${JSON.stringify(r.completingSplitMs)}; central's own view ${JSON.stringify(r.central)}; the edge's ${JSON.stringify(r.edge)}`);
    return r;
  } finally {
    await reader.disconnect().catch(() => undefined);
    await stop(edge);
    await stop(central);
    rmSync(dir, { recursive: true, force: true });
    await deleteTopicsWithPrefix((process.env.GRIDWATCH_KAFKA_BROKERS ?? '').split(','), prefix).catch((err: Error) => o.log(`could not delete ${prefix}*: ${err.message}`));
  }
}

export async function benchLatency(opts: { log: (line: string) => void }): Promise<Record<string, unknown>> {
  const { loadProbe } = await import('./report.ts');
  const probe = loadProbe();
  const meters = Number(process.env.BENCH_LATENCY_METERS ?? 10_000);
  const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 75);
  // BENCH_LATENCY_RUNS=zero: the holds-0 run alone (longer runs give more faults for its p99).
  const zeroOnly = process.env.BENCH_LATENCY_RUNS === 'zero';
  const held = zeroOnly ? null : await run({ meters, seconds, holdsZero: false, log: opts.log });
  const zero = await run({ meters, seconds, holdsZero: true, log: opts.log });
  const hold = DEFAULT_CORRELATE_CONFIG.openHoldMs;
  const intervals2 = 2000;
  const figures: BenchFigure[] = [
    ...(held ? [{ id: 'latency.fault_to_event_p95', figure: `fault's first abnormal reading to its grid event record, p95 (${meters} meters, 1 s interval, sag held openHoldMs ${hold} ms)`, value: held.readingToEventMs.p95 ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: `<= hold + 2 intervals = ${hold + intervals2} ms`, on: 'value', max: hold + intervals2 } } satisfies BenchFigure] : []),
    { id: 'latency.fault_to_event_p95_hold0', figure: 'the same with every hold at 0 (transport: edge + Kafka + central), p95', value: zero.readingToEventMs.p95 ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '<= 2 intervals', on: 'value', max: intervals2 } },
    { id: 'latency.reading_to_anomaly_p95', figure: "fault's first abnormal reading to its anomaly record (the edge's part), p95", value: zero.readingToAnomalyMs.p95 ?? Infinity, unit: 'ms', higherIsBetter: false },
    { id: 'latency.anomaly_to_event_p99_hold0', figure: "the fault's first anomaly record to its grid event record, holds at 0, p99", value: zero.anomalyToEventMs.p99 ?? Infinity, unit: 'ms', higherIsBetter: false },
    { id: 'latency.completing_anomaly_to_event_p99_hold0', figure: 'the anomaly record that completed the event (the last one it names) to the grid event record, holds at 0, p99', value: zero.completingAnomalyToEventMs.p99 ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: 'p99 <= 50 ms', on: 'value', max: 50 } },
  ];
  return { figures, load: probe.end(), held, zero };
}
