/**
 * Goal 0 of the edge: what one reading costs the real gateway end to end. `gridwatch edge` runs as
 * its own process (the command a user starts: tsx loader, real configuration, the forwarder to
 * the real Kafka); a publisher child process opens 100 MQTT connections for 10,000 meters of a
 * generated topology and sends single QoS 1 readings with every channel, paced at 10,000/s. The
 * gateway's CPU time (utime + stime from /proc, everything it did: intake, validation, detection,
 * commit, forward) is read over the paced window plus the time the outbox takes to empty, and
 * divided by the readings it accepted; RSS is sampled from /proc; PUBACK delays come from the
 * publisher. Bytes per reading on the broker's log: the sizes of the readings topic's segment
 * files in Kafka's log directory (the local single node of `gridwatch services`) over the readings
 * forwarded, i.e. the bytes the edge-to-Kafka link carried, after the producer's compression.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { kafkaSecurityFromEnv } from '../shared/kafka/security.ts';
import { generateTopology } from '../simulator/topology.ts';

export interface FleetOptions {
  meters?: number;
  connections?: number;
  rate?: number;
  seconds?: number;
  brokers: string[];
  /** Extra GRIDWATCH_* settings for the gateway (compression, encoding, ...). */
  env?: Record<string, string>;
  /** Writes the gateway's CPU profile into this directory (node --cpu-prof). */
  cpuProfDir?: string;
  /** Extra node flags for the gateway process (e.g. --max-old-space-size=64, --heapsnapshot-signal=SIGUSR2). */
  nodeArgs?: string[];
  /** The gateway's command after node's flags; default `bin/gridwatch.js edge` (tsx loader). */
  command?: string[];
  log: (line: string) => void;
}

export interface FleetResult {
  meters: number;
  connections: number;
  ratePerSec: number;
  seconds: number;
  sent: number;
  accepted: number;
  forwarded: number;
  cpuUsPerReading: number;
  /** CPU time of the gateway over the window divided by wall time: cores used. */
  cores: number;
  /** RSS once ready (topology loaded, detector restored), before any reading. */
  rssReadyMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  /** Peaks of the V8 heap in use and of memory outside it (Buffers, ArrayBuffers) from the gateway's /metrics: what holds the RSS. */
  heapUsedPeakMb: number | null;
  externalPeakMb: number | null;
  /** Most MQTT publishes the gateway held at once (parsed, not yet acked): the in-flight bound at work. */
  heldPeak: number | null;
  pubackP50Ms: number | null;
  pubackP99Ms: number | null;
  /** The gateway's event loop delay: the worst 2 s p99 and the longest delay of the window (its /metrics). */
  gatewayLoopP99WorstMs: number;
  gatewayLoopMaxMs: number;
  /** When the longest delay was seen: seconds into the window (at the scrape that read it, up to 2 s after). */
  gatewayLoopMaxAtS: number;
  /** PUBACK p99 of the readings sent after the first 10 s (the meters' first readings are a start-up cost). */
  pubackSteadyP99Ms: number | null;
  /** The publisher's own event loop delay over its run (a PUBACK it handles late is counted late). */
  publisherLoopP99Ms: number;
  publisherLoopMaxMs: number;
  /** The gateway's GC pauses over the window: all, those of 100 ms or more, and their time in all. */
  gcPauses: number;
  gcPausesOver100ms: number;
  gcMs: number;
  drainAfterMs: number;
  /** Group commits (SQLite transactions) over the window, and the records each held on average. */
  commits: number;
  recordsPerCommit: number;
  /** Bytes of the readings topic's log segments per forwarded reading; null when the log directory is not readable. */
  logBytesPerReading: number | null;
  logDir: string | null;
  settings: Record<string, string>;
}

// 100 connections, meter i on connection i mod n; one reading per meter per tick, every channel,
// values as precise as the simulator writes them (simulator/generate.ts).
const FLEET_PUBLISHER = `
import mqtt from 'mqtt';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const o = JSON.parse(process.env.BENCH_OPTS);
// The publisher's own event loop: a PUBACK it handles late is counted late.
const loop = monitorEventLoopDelay({ resolution: 10 });
const conns = await Promise.all(Array.from({ length: o.connections }, (_, i) => new Promise((res, rej) => {
  const c = mqtt.connect(o.url, { clientId: 'fleet-' + process.pid + '-' + i, clean: true, reconnectPeriod: 0 });
  c.once('connect', () => res(c)); c.once('error', rej);
})));
const seq = new Uint32Array(o.meters), energy = new Float64Array(o.meters).map((_, i) => 1000 + i * 3.7);
const acks = [];
// After the first 10 s: the first readings of 10,000 meters new to the gateway (their detector
// state and first checkpoints) are a start-up cost, the rest is the steady state.
const steady = [];
let sent = 0, done = 0, m = 0;
const total = o.rate * o.seconds;
const t0 = performance.now();
loop.enable();
const r3 = (x) => Math.round(x * 1000) / 1000;
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate));
    while (sent < due) {
      const id = m++ % o.meters;
      const s = ++seq[id];
      const i = id % 97;
      energy[id] += 0.003 + i / 10000;
      const current = r3(0.5 + (i % 13) * 0.31 + (s % 7) * 0.011);
      const p = '{"meterId":"' + o.ids[id] + '","ts":' + Date.now() + ',"seq":' + s + ',"voltage":' + (229 + (i % 29) * 0.11 + (s % 5) * 0.03).toFixed(2)
        + ',"current":' + current + ',"power":' + r3(current * 0.229) + ',"reactivePower":' + r3(current * 0.051) + ',"powerFactor":' + r3(0.9 + (i % 9) * 0.01)
        + ',"frequency":' + r3(49.98 + (s % 40) / 1000) + ',"energy":' + r3(energy[id]) + '}';
      const at = performance.now();
      sent++;
      conns[id % o.connections].publish('meters/' + o.ids[id] + '/reading', p, { qos: 1 }, (err) => {
        if (!err) {
          acks.push(performance.now() - at);
          if (at - t0 >= 10_000) steady.push(performance.now() - at);
        }
        if (++done === total) resolve();
      });
    }
    if (sent < total) setTimeout(tick, 2);
  };
  tick();
});
const elapsedMs = performance.now() - t0;
acks.sort((a, b) => a - b);
steady.sort((a, b) => a - b);
const q = (p, xs = acks) => xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null;
loop.disable();
process.stdout.write(JSON.stringify({ elapsedMs, sent, acked: acks.length, ackP50Ms: q(0.5), ackP99Ms: q(0.99), steadyAckP99Ms: q(0.99, steady), loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 }));
await Promise.all(conns.map((c) => c.endAsync()));
`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const TICKS_PER_S = 100; // USER_HZ on Linux
function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) / TICKS_PER_S) * 1e6;
}
function procRssMb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** The sum of a metric's series in a /metrics text (`labels`: only the series whose labels contain it). */
function pick(text: string, name: string, labels?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (labels !== undefined && !line.slice(name.length, line.lastIndexOf(' ')).includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function scrape(httpPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
}

async function metric(httpPort: number, name: string): Promise<number> {
  return pick(await scrape(httpPort), name);
}

/** GC pauses of the gateway so far: how many, how many of 100 ms or more, seconds in all (prom-client's histogram). */
function gcOf(text: string): { count: number; over100ms: number; seconds: number } {
  const count = pick(text, 'gridwatch_nodejs_gc_duration_seconds_count');
  return { count, over100ms: count - pick(text, 'gridwatch_nodejs_gc_duration_seconds_bucket', 'le="0.1"'), seconds: pick(text, 'gridwatch_nodejs_gc_duration_seconds_sum') };
}

/** Kafka's log directory of the local services (GRIDWATCH_BENCH_KAFKA_LOG_DIR overrides). */
export function kafkaLogDir(): string | null {
  const dir = process.env.GRIDWATCH_BENCH_KAFKA_LOG_DIR ?? join(process.env.GRIDWATCH_CACHE_DIR ?? join(homedir(), '.cache', 'gridwatch'), 'data', 'kafka', 'node-1');
  return existsSync(dir) ? dir : null;
}

/** Bytes of every log segment of `topic` (all partitions) in `dir`. */
export function topicLogBytes(dir: string, topic: string): number {
  let bytes = 0;
  for (const d of readdirSync(dir)) {
    if (!d.startsWith(`${topic}-`) || !/^\d+$/.test(d.slice(topic.length + 1))) continue;
    for (const f of readdirSync(join(dir, d))) if (f.endsWith('.log')) bytes += statSync(join(dir, d, f)).size;
  }
  return bytes;
}

export async function fleetPhase(o: FleetOptions): Promise<FleetResult> {
  const meters = o.meters ?? 10_000;
  const connections = o.connections ?? 100;
  const rate = o.rate ?? 10_000;
  const seconds = o.seconds ?? 30;
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-bench-fleet-'));
  const topo = generateTopology({ meters, seed: 12, readingIntervalMs: 1000 });
  const topologyFile = join(dir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(topo.recorded));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const prefix = `bench-fleet-${Date.now().toString(36)}-${process.pid}.`;
  const settings: Record<string, string> = { ...o.env };
  const env: NodeJS.ProcessEnv = {
    ...process.env, // GRIDWATCH_KAFKA_* (brokers, TLS, SASL) as the harness or services set them
    GRIDWATCH_EDGE_ID: 'bench-fleet',
    GRIDWATCH_DATA_DIR: join(dir, 'data'),
    GRIDWATCH_TOPOLOGY: topologyFile,
    GRIDWATCH_MQTT_HOST: '127.0.0.1',
    GRIDWATCH_MQTT_PORT: String(mqttPort),
    GRIDWATCH_HTTP_PORT: String(httpPort),
    GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
    GRIDWATCH_KAFKA_BROKERS: o.brokers.join(','),
    GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix,
    GRIDWATCH_LOG_LEVEL: 'warn',
    ...settings,
  };
  const nodeArgs = [...(o.nodeArgs ?? []), ...(o.cpuProfDir ? [`--cpu-prof`, `--cpu-prof-dir=${o.cpuProfDir}`] : [])];
  // BENCH_GATEWAY_LOG=FILE keeps the gateway's log (appended), to say why one stopped.
  const logFd = process.env.BENCH_GATEWAY_LOG ? openSync(process.env.BENCH_GATEWAY_LOG, 'a') : 'ignore';
  const gw: ChildProcess = spawn(process.execPath, [...nodeArgs, ...(o.command ?? ['bin/gridwatch.js', 'edge'])], { cwd: process.cwd(), env, stdio: ['ignore', logFd, 'inherit'] });
  const pid = gw.pid!;
  let rssPeak = 0;
  try {
    for (let t = performance.now(); ; ) {
      const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false);
      if (ok && (await metric(httpPort, 'gridwatch_outbox_depth')) === 0) break;
      if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode} at start`);
      if (performance.now() - t > 180_000) throw new Error('gateway not ready (or its topology not forwarded) within 180 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const rssReadyMb = Math.round(procRssMb(pid).rss);
    const accepted0 = await metric(httpPort, 'gridwatch_edge_readings_accepted_total');
    const forwarded0 = await metric(httpPort, 'gridwatch_forwarded_records_total');
    const commits0 = await metric(httpPort, 'gridwatch_commit_latency_seconds_count');
    const committed0 = await metric(httpPort, 'gridwatch_committed_records_total');
    const gc0 = gcOf(await scrape(httpPort));
    const rssTimer = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, procRssMb(pid).rss);
      } catch {
        // the gateway is gone: its exit is logged below and the phase fails on its metrics
      }
    }, 200);
    gw.once('exit', (code, signal) => o.log(`gateway exited (code ${code}, signal ${signal})`));
    // Every 2 s (a scrape costs the gateway CPU): heap and external memory, to say what the RSS is.
    let heapPeak = 0;
    let externalPeak = 0;
    // The gateway's event loop delay: prom-client's histogram starts again at each scrape (one scrape
    // a tick, so none reads another's empty histogram), so each value covers the 2 s since the one
    // before; the run's worst of each.
    let gwLoopMax = 0;
    let gwLoopP99 = 0;
    let gwLoopMaxAt = 0;
    const heapTimer = setInterval(() => {
      void scrape(httpPort).then((text) => {
        const max = pick(text, 'gridwatch_nodejs_eventloop_lag_max_seconds');
        if (max > gwLoopMax) [gwLoopMax, gwLoopMaxAt] = [max, (performance.now() - t0) / 1000];
        gwLoopP99 = Math.max(gwLoopP99, pick(text, 'gridwatch_nodejs_eventloop_lag_p99_seconds'));
        heapPeak = Math.max(heapPeak, pick(text, 'gridwatch_nodejs_heap_size_used_bytes'));
        externalPeak = Math.max(externalPeak, pick(text, 'gridwatch_nodejs_external_memory_bytes'));
      }, () => {});
    }, 2000);
    const cpu0 = procCpuUs(pid);
    const t0 = performance.now();
    const ids = topo.recorded.map((e) => e.meterId);
    const pub = await new Promise<{ elapsedMs: number; sent: number; acked: number; ackP50Ms: number | null; ackP99Ms: number | null; steadyAckP99Ms: number | null; loopP99Ms: number; loopMaxMs: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', FLEET_PUBLISHER], { cwd: process.cwd(), env: { ...process.env, BENCH_OPTS: JSON.stringify({ url: `mqtt://127.0.0.1:${mqttPort}`, connections, meters, rate, seconds, ids }) }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`fleet publisher exited ${code}`))));
    });
    const tPub = performance.now();
    // Durable and forwarded: the outbox is empty again.
    while ((await metric(httpPort, 'gridwatch_outbox_depth')) > 0) {
      if (performance.now() - tPub > 120_000) throw new Error('outbox not drained within 120 s after the publisher');
      await new Promise((r) => setTimeout(r, 250)); // a /metrics scrape costs the gateway CPU too
    }
    const cpuUs = procCpuUs(pid) - cpu0;
    const wall = performance.now() - t0;
    clearInterval(rssTimer);
    clearInterval(heapTimer);
    const mem = procRssMb(pid);
    rssPeak = Math.max(rssPeak, mem.rss);
    const accepted = (await metric(httpPort, 'gridwatch_edge_readings_accepted_total')) - accepted0;
    const forwarded = (await metric(httpPort, 'gridwatch_forwarded_records_total')) - forwarded0;
    const commits = (await metric(httpPort, 'gridwatch_commit_latency_seconds_count')) - commits0;
    const committed = (await metric(httpPort, 'gridwatch_committed_records_total')) - committed0;
    const heldPeak = await metric(httpPort, 'gridwatch_edge_mqtt_publishes_held_peak').catch(() => null);
    const gc1 = gcOf(await scrape(httpPort));
    const logDir = kafkaLogDir();
    // Segment files are written as the broker appends: the sizes are final once the producer was acked.
    const logBytes = logDir === null ? null : topicLogBytes(logDir, `${prefix}grid.readings`);
    const r: FleetResult = {
      meters, connections, ratePerSec: rate, seconds, sent: pub.sent, accepted, forwarded,
      cpuUsPerReading: Math.round((cpuUs / Math.max(1, accepted)) * 10) / 10,
      cores: Math.round((cpuUs / 1000 / wall) * 100) / 100,
      rssReadyMb, rssPeakMb: Math.round(rssPeak), rssEndMb: Math.round(mem.rss),
      heapUsedPeakMb: heapPeak > 0 ? Math.round(heapPeak / 1048576) : null,
      externalPeakMb: externalPeak > 0 ? Math.round(externalPeak / 1048576) : null,
      heldPeak,
      pubackP50Ms: pub.ackP50Ms === null ? null : Math.round(pub.ackP50Ms * 100) / 100,
      pubackP99Ms: pub.ackP99Ms === null ? null : Math.round(pub.ackP99Ms * 100) / 100,
      gatewayLoopP99WorstMs: Math.round(gwLoopP99 * 1000 * 10) / 10,
      gatewayLoopMaxMs: Math.round(gwLoopMax * 1000 * 10) / 10,
      gatewayLoopMaxAtS: Math.round(gwLoopMaxAt),
      pubackSteadyP99Ms: pub.steadyAckP99Ms === null ? null : Math.round(pub.steadyAckP99Ms * 100) / 100,
      publisherLoopP99Ms: Math.round(pub.loopP99Ms * 10) / 10,
      publisherLoopMaxMs: Math.round(pub.loopMaxMs * 10) / 10,
      gcPauses: gc1.count - gc0.count,
      gcPausesOver100ms: gc1.over100ms - gc0.over100ms,
      gcMs: Math.round((gc1.seconds - gc0.seconds) * 1000),
      drainAfterMs: Math.round(performance.now() - tPub),
      commits, recordsPerCommit: Math.round((committed / Math.max(1, commits)) * 10) / 10,
      logBytesPerReading: logBytes === null || accepted === 0 ? null : Math.round((logBytes / accepted) * 10) / 10,
      logDir, settings,
    };
    o.log(`fleet ${meters} meters / ${connections} connections at ${rate}/s for ${seconds} s: ${accepted} accepted of ${pub.sent}, ${r.cpuUsPerReading} µs CPU per reading (${r.cores} cores), RSS ready ${r.rssReadyMb} peak ${r.rssPeakMb} MB (heap used peak ${r.heapUsedPeakMb}, external ${r.externalPeakMb}, publishes held peak ${r.heldPeak}), PUBACK p50 ${r.pubackP50Ms} p99 ${r.pubackP99Ms} ms, after 10 s p99 ${r.pubackSteadyP99Ms} ms (event loop delay, gateway worst 2 s p99 ${r.gatewayLoopP99WorstMs} max ${r.gatewayLoopMaxMs} ms at ${r.gatewayLoopMaxAtS} s, publisher p99 ${r.publisherLoopP99Ms} max ${r.publisherLoopMaxMs} ms; GC ${r.gcPauses} pauses, ${r.gcPausesOver100ms} of 100 ms or more, ${r.gcMs} ms), ${r.logBytesPerReading ?? '?'} bytes/reading on the log, ${commits} commits of ${r.recordsPerCommit} records ${JSON.stringify(settings)}`);
    return r;
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => (gw.exitCode !== null ? r(null) : gw.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
    await deleteTopicsWithPrefix(o.brokers, prefix).catch((err: Error) => o.log(`could not delete the bench topics ${prefix}*: ${err.message}`));
  }
}

/** The run's own topics go when it ends: the shared Kafka keeps no bench leftovers. */
export async function deleteTopicsWithPrefix(brokers: string[], prefix: string): Promise<void> {
  const admin = createKafkaClient({ clientId: 'bench-cleanup', brokers, security: kafkaSecurityFromEnv() }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * `gridwatch bench --only edge-fleet`: goal 0 and goal 4 alone (no intake or drain phases): the
 * paced fleet with JSON on grid.readings, then the same stream in Avro, in the same run.
 * BENCH_EDGE_FLEET_SECONDS (default 30), BENCH_EDGE_FLEET_PROF=DIR writes the gateway's CPU profile,
 * BENCH_EDGE_FLEET_ENV='{"GRIDWATCH_...":"..."}' adds settings to both gateways, BENCH_EDGE_FLEET_NODE_ARGS node flags.
 */
export async function benchEdgeFleet(opts: { log: (line: string) => void }): Promise<Record<string, unknown>> {
  const { loadProbe } = await import('./report.ts');
  const { benchKafka } = await import('./kafka-env.ts');
  const probe = loadProbe();
  const brokers = benchKafka().brokers;
  const seconds = Number(process.env.BENCH_EDGE_FLEET_SECONDS ?? 30);
  if (process.env.BENCH_EDGE_FLEET_VARIANTS) return fleetVariants(JSON.parse(process.env.BENCH_EDGE_FLEET_VARIANTS) as FleetVariant[], { brokers, seconds, log: opts.log, probe });
  const extra = process.env.BENCH_EDGE_FLEET_ENV ? (JSON.parse(process.env.BENCH_EDGE_FLEET_ENV) as Record<string, string>) : {};
  const prof = process.env.BENCH_EDGE_FLEET_PROF;
  // BENCH_EDGE_FLEET_NODE_ARGS='--trace-gc': node flags for the gateways (V8's GC trace goes to BENCH_GATEWAY_LOG).
  const nodeArgs = process.env.BENCH_EDGE_FLEET_NODE_ARGS ? process.env.BENCH_EDGE_FLEET_NODE_ARGS.split(' ').filter(Boolean) : [];
  // Several readings per record (forwarded-reading-batch/v1) against one per record, in the same
  // run; BENCH_EDGE_FLEET_PER_RECORD (default 500; 0 skips the batched phases).
  const perRecord = Number(process.env.BENCH_EDGE_FLEET_PER_RECORD ?? 500);
  const batched = { GRIDWATCH_READINGS_PER_RECORD: String(perRecord) };
  const json = await fleetPhase({ brokers, seconds, log: opts.log, env: extra, nodeArgs, ...(prof ? { cpuProfDir: prof } : {}) });
  const jsonBatched = perRecord > 1 ? await fleetPhase({ brokers, seconds, log: opts.log, env: { ...extra, ...batched }, nodeArgs, ...(prof ? { cpuProfDir: prof } : {}) }) : null;
  const avro = await fleetPhase({ brokers, seconds, log: opts.log, env: { ...extra, GRIDWATCH_READINGS_ENCODING: 'avro' }, nodeArgs });
  const avroBatched = perRecord > 1 ? await fleetPhase({ brokers, seconds, log: opts.log, env: { ...extra, ...batched, GRIDWATCH_READINGS_ENCODING: 'avro' }, nodeArgs }) : null;
  return { figures: [...fleetFigures(json, avro), ...batchedFigures(json, jsonBatched, avro, avroBatched)], load: probe.end(), json, avro, jsonBatched, avroBatched };
}

/** The batched phases against the single-record phases of the same run (the yardsticks). */
function batchedFigures(json: FleetResult, jsonB: FleetResult | null, avro: FleetResult, avroB: FleetResult | null): import('./figures.ts').BenchFigure[] {
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const f: import('./figures.ts').BenchFigure[] = [];
  const per = jsonB?.settings.GRIDWATCH_READINGS_PER_RECORD ?? avroB?.settings.GRIDWATCH_READINGS_PER_RECORD;
  for (const [name, one, b] of [['JSON', json, jsonB], ['Avro', avro, avroB]] as const) {
    if (b === null) continue;
    const id = name === 'JSON' ? 'json' : 'avro';
    f.push(
      { id: `edge.fleet.cpu_per_reading_${id}_batched`, figure: `edge CPU per durable reading end to end, ${name}, up to ${per} readings per record`, value: b.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, yardstick: { name: 'one reading per record', value: one.cpuUsPerReading }, ratio: r2(b.cpuUsPerReading / one.cpuUsPerReading), goal: { text: '<= 25 µs', on: 'value', max: 25 } },
      { id: `edge.fleet.rss_${id}_batched`, figure: `edge RSS peak, ${name}, batched records`, value: b.rssPeakMb, unit: 'MB', higherIsBetter: false, yardstick: { name: 'one reading per record', value: one.rssPeakMb }, ratio: r2(b.rssPeakMb / one.rssPeakMb), goal: { text: '<= 150 MB', on: 'value', max: 150 } },
      { id: `edge.fleet.puback_p99_${id}_batched`, figure: `edge PUBACK p99, ${name}, batched records`, value: b.pubackP99Ms ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '<= 20 ms', on: 'value', max: 20 } },
    );
    if (b.logBytesPerReading !== null) f.push({ id: `edge.wan.bytes_per_reading_${id}_batched`, figure: `bytes per reading on the broker's log, ${name}, batched records`, value: b.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false, ...(one.logBytesPerReading ? { yardstick: { name: 'one reading per record', value: one.logBytesPerReading }, ratio: r2(b.logBytesPerReading / one.logBytesPerReading) } : {}), goal: { text: '<= 20 bytes', on: 'value', max: 20 } });
  }
  return f;
}

/**
 * PUBACK p99 without the run's first 10 s (each meter's first reading creates its detector state
 * and first checkpoint: a start-up cost, edge/forward/README.md), beside the whole run's, which
 * stays the goal's figure.
 */
export function steadyPubackFigure(id: string, figure: string, value: number | null): import('./figures.ts').BenchFigure {
  return { id, figure, value: value ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '<= 20 ms', on: 'value', max: 20 } };
}

export function fleetFigures(fleet: FleetResult, avro: FleetResult | null): import('./figures.ts').BenchFigure[] {
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const f: import('./figures.ts').BenchFigure[] = [
    { id: 'edge.fleet.cpu_per_reading', figure: `edge CPU per durable reading end to end (${fleet.meters} meters, ${fleet.connections} connections, ${fleet.ratePerSec}/s paced)`, value: fleet.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, goal: { text: '<= 25 µs', on: 'value', max: 25 } },
    { id: 'edge.fleet.rss', figure: 'edge RSS peak in that run', value: fleet.rssPeakMb, unit: 'MB', higherIsBetter: false, goal: { text: '<= 150 MB', on: 'value', max: 150 } },
    { id: 'edge.fleet.puback_p99', figure: 'edge PUBACK p99 in that run', value: fleet.pubackP99Ms ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '<= 20 ms', on: 'value', max: 20 } },
    steadyPubackFigure('edge.fleet.puback_p99_after_10s', 'edge PUBACK p99 in that run, readings sent after its first 10 s', fleet.pubackSteadyP99Ms),
  ];
  if (fleet.logBytesPerReading !== null) f.push({ id: 'edge.wan.bytes_per_reading_json', figure: "bytes per reading on the broker's log (grid.readings, all channels, JSON)", value: fleet.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false, goal: { text: '<= 20 bytes', on: 'value', max: 20 } });
  if (avro !== null && avro.logBytesPerReading !== null) {
    f.push(
      { id: 'edge.wan.bytes_per_reading_avro', figure: "bytes per reading on the broker's log (grid.readings, all channels, Avro)", value: avro.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false, ...(fleet.logBytesPerReading ? { yardstick: { name: 'JSON', value: fleet.logBytesPerReading }, ratio: r2(avro.logBytesPerReading / fleet.logBytesPerReading) } : {}), goal: { text: '<= 20 bytes', on: 'value', max: 20 } },
      { id: 'edge.fleet.cpu_per_reading_avro', figure: 'edge CPU per durable reading end to end, Avro on grid.readings', value: avro.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, goal: { text: '<= 25 µs', on: 'value', max: 25 } },
    );
  }
  return f;
}

/** One gateway configuration of BENCH_EDGE_FLEET_VARIANTS: settings, node flags, command. */
export interface FleetVariant {
  name: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  command?: string[];
}

/**
 * BENCH_EDGE_FLEET_VARIANTS='[{"name":"now"},{"name":"delay 5","env":{"GRIDWATCH_COMMIT_MAX_DELAY_MS":"5"}}]':
 * the paced fleet once per variant, in turn, repeated BENCH_EDGE_FLEET_ROUNDS times (default 1),
 * so a change and its yardstick (the first variant) are measured in the same run and at the same load.
 */
async function fleetVariants(variants: FleetVariant[], o: { brokers: string[]; seconds: number; log: (line: string) => void; probe: { end(): unknown } }): Promise<Record<string, unknown>> {
  const rounds = Number(process.env.BENCH_EDGE_FLEET_ROUNDS ?? 1);
  const prof = process.env.BENCH_EDGE_FLEET_PROF;
  const results: { name: string; round: number; r: FleetResult }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      const r = await fleetPhase({ brokers: o.brokers, seconds: o.seconds, log: (l) => o.log(`[${v.name}] ${l}`), env: v.env ?? {}, nodeArgs: v.nodeArgs ?? [], ...(v.command ? { command: v.command } : {}), ...(prof ? { cpuProfDir: `${prof}/${v.name.replace(/[^A-Za-z0-9._-]/g, '_')}` } : {}) });
      results.push({ name: v.name, round, r });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const of = (name: string, f: (r: FleetResult) => number) => median(results.filter((x) => x.name === name).map((x) => f(x.r)));
  const base = variants[0]!.name;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const figures: import('./figures.ts').BenchFigure[] = [];
  for (const v of variants) {
    const cpu = of(v.name, (r) => r.cpuUsPerReading);
    const rss = of(v.name, (r) => r.rssPeakMb);
    const p99 = of(v.name, (r) => r.pubackP99Ms ?? Infinity);
    const yard = v.name === base ? {} : { yardstick: { name: base, value: of(base, (r) => r.cpuUsPerReading) }, ratio: r2(cpu / of(base, (r) => r.cpuUsPerReading)) };
    figures.push(
      { id: `edge.fleet.variant.${v.name}.cpu_per_reading`, figure: `edge CPU per durable reading, ${v.name} (median of ${rounds})`, value: cpu, unit: 'µs/reading', higherIsBetter: false, ...yard, goal: { text: '<= 25 µs', on: 'value', max: 25 } },
      { id: `edge.fleet.variant.${v.name}.rss_ready`, figure: `edge RSS ready, ${v.name}`, value: of(v.name, (r) => r.rssReadyMb), unit: 'MB', higherIsBetter: false, goal: { text: '<= 150 MB', on: 'value', max: 150 } },
      { id: `edge.fleet.variant.${v.name}.rss`, figure: `edge RSS peak, ${v.name}`, value: rss, unit: 'MB', higherIsBetter: false, goal: { text: '<= 150 MB', on: 'value', max: 150 } },
      { id: `edge.fleet.variant.${v.name}.puback_p99`, figure: `edge PUBACK p99, ${v.name}`, value: p99, unit: 'ms', higherIsBetter: false, goal: { text: '<= 20 ms', on: 'value', max: 20 } },
      steadyPubackFigure(`edge.fleet.variant.${v.name}.puback_p99_after_10s`, `edge PUBACK p99, ${v.name}, readings sent after the first 10 s`, of(v.name, (r) => r.pubackSteadyP99Ms ?? Infinity)),
    );
  }
  return { figures, load: o.probe.end(), runs: results };
}
