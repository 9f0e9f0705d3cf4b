/**
 * Edge benchmark (`npm run bench`, edge part): sustained readings/s through the real gateway path
 * (aedes -> validate -> detect -> SQLite outbox group commit -> PUBACK), at QoS 1 and QoS 0,
 * single readings and concentrator arrays, with synchronous=FULL (the default) and again at QoS 1
 * with NORMAL; p50/p99 publish->commit and publish->PUBACK at a paced 10,000 readings/s; RSS. In
 * the same run, the same publisher against a bare aedes that does nothing, reported as a ratio.
 *
 * The publisher is one MQTT.js client in a child process (so it does not share the gateway's
 * event loop), with a bounded window of unacknowledged QoS 1 messages. Kafka is not involved in
 * the intake phases (the forwarder is a separate loop; the outbox budget holds the run).
 *
 * TLS: the same QoS 1 single-reading publisher over the TLS listener (throwaway CA, RSA 2048
 * server key, TLS 1.3 as negotiated by Node), right after the plain-TCP phase on the same gateway,
 * and a bare aedes over TLS next to the bare aedes over TCP: the cost of TLS at the listener.
 *
 * Forward phase (when GRIDWATCH_KAFKA_BROKERS is set, e.g. by `eval "$(gridwatch services env)"`):
 * the FULL outbox the intake phases filled (real forwarded-reading records) is drained to Kafka by
 * the real Forwarder with the pipeline's settings (retainForReplay, gzip, batchMax 5000). Its
 * yardstick in the same run: a bare kafkajs producer with the same producer settings sending the
 * same records from memory, no SQLite.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { silentLogger, systemClock } from '../shared/index.ts';
import { Detector } from '../edge/detect/index.ts';
import { Authorizer } from '../edge/ingest/auth.ts';
import { EmbeddedBroker } from '../edge/ingest/broker.ts';
import { Intake } from '../edge/ingest/intake.ts';
import { GATEWAY_CHECKPOINTS, RollingCheckpoints } from '../edge/ingest/checkpoints.ts';
import { MeterDirectory } from '../edge/ingest/meters.ts';
import { commitWhenIdle, type CommitUnit, type Committer } from '../edge/ingest/ports.ts';
import { EdgeStore, GroupCommitter } from '../edge/store/index.ts';
import type { BenchFigure } from './figures.ts';
import { loadProbe } from './report.ts';
import { drainPhase, type DrainResult } from './edge-drain.ts';
import { fleetPhase, steadyPubackFigure, type FleetResult } from './edge-fleet.ts';
import { benchKafkaFromEnv } from './kafka-env.ts';

export interface EdgeBenchOptions {
  /** Messages per throughput phase for single readings (arrays: this many readings in total). */
  readings?: number;
  arraySize?: number;
  meters?: number;
  /** QoS 1 messages in flight from the publisher. */
  window?: number;
  /** Paced rate and duration of the latency phase. */
  latencyRate?: number;
  latencySeconds?: number;
  synchronous?: 'NORMAL' | 'FULL';
  /** 'none': an in-memory committer instead of SQLite, to show what the rest of the path costs. */
  store?: 'sqlite' | 'none';
  /** Rolling detector checkpoints on (default) or off, to show their cost. */
  checkpoints?: boolean;
  /** Read buffer per MQTT connection (the gateway's default: 256 KiB). */
  socketBufferBytes?: number;
  /** Kafka for the forward phase; default GRIDWATCH_KAFKA_BROKERS, none: the phase is skipped. */
  kafkaBrokers?: string[];
  /** Interleaved TCP/TLS pairs of QoS 1 single-reading phases (readings/2 each). Default 3. */
  tlsPairs?: number;
  /** Forwarder batchMax (the gateway's default: 5000). */
  forwardBatchMax?: number;
  /** Live readings/s committed during the drain (goal 3). Default 2000. */
  liveRate?: number;
  /** Seconds of the paced fleet phase (goal 0: 10,000 meters, 100 connections, 10,000/s). Default 30; 0 skips it. */
  fleetSeconds?: number;
  /** Extra GRIDWATCH_* settings for the fleet phase's gateway. */
  fleetEnv?: Record<string, string>;
  log?: (line: string) => void;
}

interface PublisherResult {
  elapsedMs: number;
  sent: number;
  ackP50Ms: number | null;
  ackP99Ms: number | null;
}

// The publisher: plain JS run by `node --input-type=module -e` from the repository root.
const PUBLISHER = `
import mqtt from 'mqtt';
const o = JSON.parse(process.env.BENCH_OPTS);
const c = mqtt.connect(o.url, { clientId: 'bench-' + process.pid, clean: true, reconnectPeriod: 0, ...(o.ca ? { ca: o.ca } : {}) });
await new Promise((res, rej) => { c.once('connect', res); c.once('error', rej); });
const seq = new Array(o.meters).fill(0);
let m = 0;
const reading = (now) => { const id = m++ % o.meters; return '{"meterId":"' + o.prefix + id + '","seq":' + (seq[id]++) + ',"ts":' + now + ',"voltage":' + (229 + (id % 7) * 0.3 + (seq[id] % 5) * 0.1).toFixed(1) + ',"current":12.5,"power":2.8,"frequency":50.01' + (o.stamp ? ',"sentAt":' + (performance.timeOrigin + performance.now()) : '') + '}'; };
const message = () => { const now = Date.now(); if (o.arraySize <= 1) return reading(now); const parts = []; for (let i = 0; i < o.arraySize; i++) parts.push(reading(now)); return '[' + parts.join(',') + ']'; };
const topic = (p) => o.arraySize <= 1 ? 'meters/' + p.slice(12, p.indexOf('"', 12)) + '/reading' : 'concentrators/c1/readings';
const acks = [];
let sent = 0, done = 0;
const t0 = performance.now();
await new Promise((resolve) => {
  const pump = () => {
    while (sent < o.messages && sent - done < o.window) {
      if (o.rate && sent >= ((performance.now() - t0) / 1000) * o.rate) { setTimeout(pump, 1); return; }
      const p = message();
      const at = performance.now();
      sent++;
      c.publish(topic(p), p, { qos: o.qos }, () => { done++; if (o.qos === 1) acks.push(performance.now() - at); if (done === o.messages) resolve(); else if (!pumping) { pumping = true; setImmediate(() => { pumping = false; pump(); }); } });
    }
  };
  let pumping = false;
  pump();
});
const elapsedMs = performance.now() - t0;
acks.sort((a, b) => a - b);
const q = (p) => acks.length ? acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] : null;
process.stdout.write(JSON.stringify({ elapsedMs, sent, ackP50Ms: q(0.5), ackP99Ms: q(0.99) }));
await c.endAsync();
`;

export function runPublisher(opts: Record<string, unknown>): Promise<PublisherResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PUBLISHER], { cwd: process.cwd(), env: { ...process.env, BENCH_OPTS: JSON.stringify(opts) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as PublisherResult) : reject(new Error(`publisher exited ${code}: ${out}`))));
  });
}

export async function bareAedes(tls?: BenchTls): Promise<{ url: string; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server: Server = tls ? createTlsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, aedes.handle) : createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`, close: () => new Promise<void>((r) => aedes.close(() => server.close(() => r()))) };
}

export interface BenchTls {
  certFile: string;
  keyFile: string;
  /** PEM of the CA, for the publisher. */
  ca: string;
}

/** A throwaway CA and server certificate (node-forge, a devDependency: loaded only here). */
export async function benchTls(dir: string): Promise<BenchTls> {
  const { writeThrowawayPki } = await import('../shared/throwaway-pki.ts');
  const files = writeThrowawayPki(dir);
  return { certFile: files.serverCert, keyFile: files.serverKey, ca: readFileSync(files.caFile, 'utf8') };
}

/** A committer wrapper that, in the latency phase, measures publish (client sentAt) -> commit. */
class TimedCommitter implements Committer {
  stamps: number[] | null = null;
  constructor(private readonly inner: Committer) {}
  submit(unit: CommitUnit, done: (err?: Error) => void): void {
    const stamps = this.stamps;
    if (stamps === null) return this.inner.submit(unit, done);
    const v = unit.records[0]?.value;
    const m = v ? /"sentAt":([0-9.]+)/.exec(v) : null;
    this.inner.submit(unit, (err) => {
      if (m) stamps.push(performance.timeOrigin + performance.now() - Number(m[1]));
      done(err);
    });
  }
}

function quantile(sorted: number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

type Results = Record<string, unknown>;

export interface Gateway {
  url: string;
  /** mqtts:// URL of the TLS listener, when started with one. */
  tlsUrl: string | null;
  intake: Intake;
  timed: TimedCommitter;
  store: EdgeStore;
  commits: { n: number; records: number; ms: number };
  close(): Promise<void>;
}

/** The gateway's intake path as edge/gateway.ts wires it, on its own store in `dir`. */
export async function startGateway(dir: string, opts: EdgeBenchOptions, synchronous: 'NORMAL' | 'FULL', tls?: BenchTls): Promise<Gateway> {
  // retainForReplay as in the pipeline: forwarded rows after the last checkpoint stay as the journal.
  const store = EdgeStore.open({ dir, edgeId: 'bench', budgetBytes: 64 * 1024 ** 3, synchronous, clock: systemClock, logger: silentLogger(), retainForReplay: true });
  if (process.env.BENCH_WAL_AUTOCHECKPOINT !== undefined) store.sqlite().pragma(`wal_autocheckpoint = ${Number(process.env.BENCH_WAL_AUTOCHECKPOINT)}`);
  const commits = { n: 0, records: 0, ms: 0 };
  const committer = new GroupCommitter(store, {
    maxDelayMs: 2,
    maxRecords: 2000,
    onCommitted: (ms, records) => {
      commits.n++;
      commits.records += records;
      commits.ms += ms;
    },
  });
  const inner: Committer = opts.store === 'none' ? { submit: (_u, done) => queueMicrotask(() => done()) } : commitWhenIdle(committer);
  const timed = new TimedCommitter(inner);
  const directory = new MeterDirectory('bench', null, { nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 });
  const detector = new Detector({ edgeId: 'bench', context: directory.context, clock: systemClock });
  const authorizer = new Authorizer({ allowAnonymous: true, credentials: {} });
  const intake = new Intake({
    edgeId: 'bench',
    substationId: 's-bench',
    detector,
    committer: timed,
    authorizer,
    clock: systemClock,
    meters: directory,
    unknownMeterPolicy: 'accept',
    bounds: { aheadTagMs: 300_000, behindTagMs: 86_400_000, rejectAheadMs: 86_400_000, rejectBehindMs: 30 * 86_400_000 },
    maxArrayReadings: 1000,
    checkpoints: opts.checkpoints === false ? null : new RollingCheckpoints(detector, GATEWAY_CHECKPOINTS),
  });
  const broker = await EmbeddedBroker.start({
    intake,
    authorizer,
    logger: silentLogger(),
    limits: { maxConnections: 100, maxPacketBytes: 1 << 20, maxTopicLength: 256, maxClientIdLength: 128, socketBufferBytes: opts.socketBufferBytes ?? 262_144 },
    listeners: { host: '127.0.0.1', port: 0, ...(tls ? { tls: { port: 0, certFile: tls.certFile, keyFile: tls.keyFile } } : {}) },
  });
  return {
    url: `mqtt://127.0.0.1:${broker.addresses.tcp}`,
    tlsUrl: broker.addresses.tls !== undefined ? `mqtts://127.0.0.1:${broker.addresses.tls}` : null,
    intake,
    timed,
    store,
    commits,
    close: async () => {
      await broker.close();
      await committer.close();
    },
  };
}

/** One throughput phase: `n` readings as messages of `size`, at `qos`; readings/s into `results[name]`. */
export async function phase(gw: Gateway, results: Results, o: { name: string; qos: 0 | 1; size: number; n: number; meters: number; window: number; log: (l: string) => void; tls?: BenchTls }): Promise<void> {
  const { intake, commits } = gw;
  Object.assign(commits, { n: 0, records: 0, ms: 0 });
  const messages = Math.max(1, Math.floor(o.n / o.size));
  const before = intake.counts.accepted + intake.counts.duplicates;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runPublisher({ url: o.tls ? gw.tlsUrl : gw.url, ...(o.tls ? { ca: o.tls.ca } : {}), prefix: o.name.replace(/[^A-Za-z0-9]/g, '') + '-m', qos: o.qos, messages, arraySize: o.size, meters: o.meters, window: o.size > 1 ? Math.max(8, Math.floor(o.window / o.size) * 4) : o.window });
  // Committed (QoS 0: the publisher cannot know).
  while (intake.counts.accepted + intake.counts.duplicates < before + messages * o.size) await new Promise((res) => setTimeout(res, 2));
  const wall = o.qos === 1 ? r.elapsedMs : Math.max(r.elapsedMs, performance.now() - t0);
  const rate = ((messages * o.size) / wall) * 1000;
  const cpu = process.cpuUsage(cpu0);
  results[o.name] = Math.round(rate);
  // The gateway's CPU per reading (this process: user + system): steadier than the rate when
  // other work shares the cores, since waiting for a core costs wall time but no CPU time.
  results[`${o.name.replace(/PerSec$/, '')}CpuUsPerReading`] = Math.round(((cpu.user + cpu.system) / (messages * o.size)) * 100) / 100;
  results[`${o.name.replace(/PerSec$/, '')}Commits`] = { groups: commits.n, recordsPerGroup: Math.round(commits.records / Math.max(1, commits.n)), commitMsShare: Math.round((commits.ms / wall) * 100) / 100 };
  o.log(`${o.name}: ${Math.round(rate)} readings/s; ${commits.n} commits of ${Math.round(commits.records / Math.max(1, commits.n))} records, ${Math.round((commits.ms / wall) * 100)}% of the time in commits`);
}

export async function benchEdge(opts: EdgeBenchOptions = {}): Promise<Record<string, unknown>> {
  const probe = loadProbe();
  const n = opts.readings ?? 200_000;
  const arraySize = opts.arraySize ?? 50;
  const meters = opts.meters ?? 2_000;
  const window = opts.window ?? 1_000;
  const log = opts.log ?? (() => undefined);
  const envKafka = benchKafkaFromEnv();
  const brokers = opts.kafkaBrokers ?? envKafka?.brokers ?? [];
  const synchronous = opts.synchronous ?? 'FULL';
  const other = synchronous === 'FULL' ? 'NORMAL' : 'FULL';
  const dirs = [mkdtempSync(join(tmpdir(), 'gridwatch-bench-edge-')), mkdtempSync(join(tmpdir(), 'gridwatch-bench-edge-'))] as const;
  let rssPeak = 0;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
  const results: Results = {};
  const common = { n, meters, window, log };
  try {
    // Bare aedes first: the yardstick.
    const bare = await bareAedes();
    const bareRes = await runPublisher({ url: bare.url, prefix: 'bare-m', qos: 1, messages: n, arraySize: 1, meters, window });
    await bare.close();
    const bareRate = (n / bareRes.elapsedMs) * 1000;
    results.bareAedesQos1PerSec = Math.round(bareRate);
    log(`bare aedes QoS 1: ${Math.round(bareRate)} msg/s`);
    const pairs = opts.tlsPairs ?? 3;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const tls = await benchTls(join(dirs[1], 'pki'));
    {
      // Bare aedes over TCP and over TLS, interleaved: TLS's own cost without the gateway's work.
      const [tcpB, tlsB] = [await bareAedes(), await bareAedes(tls)];
      const ratios: number[] = [];
      const tlsRates: number[] = [];
      const cpuRatios: number[] = [];
      for (let i = 0; i < pairs; i++) {
        const half = Math.ceil(n / 2);
        const c0 = process.cpuUsage();
        const a = await runPublisher({ url: tcpB.url, prefix: `bare${i}-m`, qos: 1, messages: half, arraySize: 1, meters, window });
        const c1 = process.cpuUsage();
        const b = await runPublisher({ url: tlsB.url, ca: tls.ca, prefix: `baretls${i}-m`, qos: 1, messages: half, arraySize: 1, meters, window });
        const c2 = process.cpuUsage(c1);
        const tcpCpu = c1.user + c1.system - c0.user - c0.system;
        cpuRatios.push(Math.round(((c2.user + c2.system) / tcpCpu) * 100) / 100);
        tlsRates.push(Math.round((half / b.elapsedMs) * 1000));
        ratios.push(Math.round((a.elapsedMs / b.elapsedMs) * 100) / 100);
      }
      await tcpB.close();
      await tlsB.close();
      Object.assign(results, { bareAedesQos1TlsPairsPerSec: tlsRates, ratioBareTlsVsTcp: median(ratios), ratioBareTlsVsTcpPairs: ratios, ratioBareCpuTlsVsTcp: median(cpuRatios), ratioBareCpuTlsVsTcpPairs: cpuRatios });
      log(`bare aedes QoS 1 over TLS, ${pairs} interleaved pairs: ${tlsRates.join(' / ')} msg/s; TLS/TCP rate ${ratios.join(' / ')} (median ${median(ratios)}), broker CPU ${cpuRatios.join(' / ')} (median ${median(cpuRatios)})`);
    }

    const gw = await startGateway(dirs[0], opts, synchronous, tls);
    await phase(gw, results, { ...common, name: 'edgeQos1SinglePerSec', qos: 1, size: 1 });
    // The cost of TLS at the listener for single QoS 1 readings: interleaved pairs (TCP, then TLS)
    // on the same gateway, so that a burst of other work on the machine hits both sides alike.
    const scratch: Results = {};
    const tcpRates: number[] = [];
    const tlsRates: number[] = [];
    const tcpCpu: number[] = [];
    const tlsCpu: number[] = [];
    for (let i = 0; i < pairs; i++) {
      await phase(gw, scratch, { ...common, n: Math.ceil(n / 2), name: `pair${i}TcpPerSec`, qos: 1, size: 1, log: () => undefined });
      await phase(gw, scratch, { ...common, n: Math.ceil(n / 2), name: `pair${i}TlsPerSec`, qos: 1, size: 1, tls, log: () => undefined });
      tcpRates.push(scratch[`pair${i}TcpPerSec`] as number);
      tlsRates.push(scratch[`pair${i}TlsPerSec`] as number);
      tcpCpu.push(scratch[`pair${i}TcpCpuUsPerReading`] as number);
      tlsCpu.push(scratch[`pair${i}TlsCpuUsPerReading`] as number);
    }
    const ratios = tcpRates.map((t, i) => Math.round((tlsRates[i]! / t) * 100) / 100);
    Object.assign(results, {
      edgeQos1SingleTcpPairsPerSec: tcpRates,
      edgeQos1SingleTlsPairsPerSec: tlsRates,
      edgeQos1SingleTlsPerSec: median(tlsRates),
      ratioQos1SingleTlsVsTcp: median(ratios),
      ratioQos1SingleTlsVsTcpPairs: ratios,
      gatewayCpuUsPerReadingTcpPairs: tcpCpu,
      gatewayCpuUsPerReadingTlsPairs: tlsCpu,
      ratioGatewayCpuTlsVsTcp: median(tcpCpu.map((t, i) => Math.round((tlsCpu[i]! / t) * 100) / 100)),
    });
    log(`TLS at the listener, QoS 1 single, ${pairs} interleaved pairs: TCP ${tcpRates.join(' / ')}, TLS ${tlsRates.join(' / ')} readings/s; TLS/TCP ${ratios.join(' / ')} (median ${median(ratios)})`);
    log(`gateway CPU per reading: TCP ${tcpCpu.join(' / ')} µs, TLS ${tlsCpu.join(' / ')} µs (median ratio ${results.ratioGatewayCpuTlsVsTcp})`);
    await phase(gw, results, { ...common, name: 'edgeQos0SinglePerSec', qos: 0, size: 1 });
    await phase(gw, results, { ...common, name: `edgeQos1Array${arraySize}PerSec`, qos: 1, size: arraySize });
    await phase(gw, results, { ...common, name: `edgeQos0Array${arraySize}PerSec`, qos: 0, size: arraySize });
    results.ratioQos1SingleVsBare = Math.round(((results.edgeQos1SinglePerSec as number) / bareRate) * 100) / 100;

    // Latency at a paced rate, QoS 1 single readings.
    const rate = opts.latencyRate ?? 10_000;
    const seconds = opts.latencySeconds ?? 5;
    gw.timed.stamps = [];
    const lat = await runPublisher({ url: gw.url, prefix: 'lat-m', qos: 1, messages: rate * seconds, arraySize: 1, meters, window: 10_000, rate, stamp: true });
    const stamps = gw.timed.stamps.sort((a, b) => a - b);
    gw.timed.stamps = null;
    Object.assign(results, {
      latencyRatePerSec: rate,
      publishToCommitP50Ms: round(quantile(stamps, 0.5)),
      publishToCommitP99Ms: round(quantile(stamps, 0.99)),
      publishToPubackP50Ms: round(lat.ackP50Ms),
      publishToPubackP99Ms: round(lat.ackP99Ms),
    });
    log(`latency at ${rate}/s: commit p50 ${results.publishToCommitP50Ms} ms p99 ${results.publishToCommitP99Ms} ms; PUBACK p50 ${results.publishToPubackP50Ms} p99 ${results.publishToPubackP99Ms}`);
    await gw.close();

    // The other synchronous level, QoS 1 only (single and arrays), on its own store.
    if (opts.store !== 'none') {
      const gw2 = await startGateway(dirs[1], opts, other);
      await phase(gw2, results, { ...common, name: `edgeQos1Single${other}PerSec`, qos: 1, size: 1 });
      await phase(gw2, results, { ...common, name: `edgeQos1Array${arraySize}${other}PerSec`, qos: 1, size: arraySize });
      results[`ratioQos1Single${other}VsBare`] = Math.round(((results[`edgeQos1Single${other}PerSec`] as number) / bareRate) * 100) / 100;
      await gw2.close();
      gw2.store.close();
    }

    let drain: DrainResult | null = null;
    let fleet: FleetResult | null = null;
    let fleetAvro: FleetResult | null = null;
    if (brokers.length > 0 && opts.store !== 'none') {
      drain = await drainPhase(gw.store, { brokers, batchMax: opts.forwardBatchMax ?? 5000, liveRate: opts.liveRate ?? 2000, compression: 'gzip', log });
      results.drain = drain;
      const fleetSeconds = opts.fleetSeconds ?? Number(process.env.BENCH_EDGE_FLEET_SECONDS ?? 30);
      if (fleetSeconds > 0) {
        results.fleet = fleet = await fleetPhase({ brokers, seconds: fleetSeconds, log, ...(opts.fleetEnv ? { env: opts.fleetEnv } : {}) });
        // The same stream with grid.readings in the Avro single-object encoding (goal 4).
        results.fleetAvro = fleetAvro = await fleetPhase({ brokers, seconds: Math.min(10, fleetSeconds), log, env: { ...opts.fleetEnv, GRIDWATCH_READINGS_ENCODING: 'avro' } });
      }
    } else {
      results.forward = 'skipped: no Kafka (set GRIDWATCH_KAFKA_BROKERS)';
      log(results.forward as string);
    }
    const stats = gw.store.stats();
    gw.store.close();
    Object.assign(results, { store: opts.store ?? 'sqlite', checkpoints: opts.checkpoints !== false, outboxDepth: stats.depth, rssPeakMb: Math.round(rssPeak / 1048576), synchronous, readingsPerPhase: n, arraySize, meters, window });
    return { figures: edgeFigures(results, bareRate, arraySize, drain, fleet, fleetAvro), load: probe.end(), ...results };
  } finally {
    clearInterval(rssTimer);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const r2 = (n: number) => Math.round(n * 100) / 100;

/** The edge's figures against goals 0-4 of issue 12 (bench/figures.ts). */
function edgeFigures(res: Results, bareRate: number, arraySize: number, drain: DrainResult | null, fleet: FleetResult | null, fleetAvro: FleetResult | null): BenchFigure[] {
  const single = res.edgeQos1SinglePerSec as number;
  const f: BenchFigure[] = [
    { id: 'edge.intake.single_qos1', figure: 'edge intake, single QoS 1 readings into the durable outbox', value: single, unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'bare aedes QoS 1', value: Math.round(bareRate) }, ratio: r2(single / bareRate), goal: { text: '>= 0.7 x bare aedes', on: 'ratio', min: 0.7 } },
    { id: 'edge.intake.array_qos1', figure: `edge intake, QoS 1 arrays of ${arraySize}`, value: res[`edgeQos1Array${arraySize}PerSec`] as number, unit: 'readings/s', higherIsBetter: true, goal: { text: '>= 300,000 readings/s', on: 'value', min: 300_000 } },
    { id: 'edge.intake.single_qos1_cpu', figure: 'edge CPU per single QoS 1 reading, intake phase (no forward)', value: res.edgeQos1SingleCpuUsPerReading as number, unit: 'µs/reading', higherIsBetter: false },
  ];
  if (drain !== null) {
    f.push(
      { id: 'edge.drain.vs_bare_producer', figure: 'edge forwarder drain of a backlog (live load on)', value: drain.drainPerSec, unit: 'records/s', higherIsBetter: true, yardstick: { name: 'bare kafkajs producer', value: drain.bareProducerPerSec }, ratio: r2(drain.drainPerSec / drain.bareProducerPerSec), goal: { text: '>= 1.0 x bare kafkajs producer', on: 'ratio', min: 1 } },
      { id: 'edge.drain.vs_intake', figure: 'edge forwarder drain against its own single-reading intake', value: drain.drainPerSec, unit: 'records/s', higherIsBetter: true, yardstick: { name: 'single QoS 1 intake', value: single }, ratio: r2(drain.drainPerSec / single), goal: { text: '>= 2 x single QoS 1 intake', on: 'ratio', min: 2 } },
      { id: 'edge.drain.live_p99', figure: `edge live readings (${drain.liveRatePerSec}/s) to Kafka during the drain, p99`, value: drain.liveDelayP99Ms ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '< 2000 ms', on: 'value', max: 1999.9 } },
    );
  }
  if (fleet !== null) {
    f.push(
      { id: 'edge.fleet.cpu_per_reading', figure: `edge CPU per durable reading end to end (${fleet.meters} meters, ${fleet.connections} connections, ${fleet.ratePerSec}/s paced)`, value: fleet.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, goal: { text: '<= 25 µs', on: 'value', max: 25 } },
      { id: 'edge.fleet.rss', figure: 'edge RSS peak in that run', value: fleet.rssPeakMb, unit: 'MB', higherIsBetter: false, goal: { text: '<= 150 MB', on: 'value', max: 150 } },
      { id: 'edge.fleet.puback_p99', figure: 'edge PUBACK p99 in that run', value: fleet.pubackP99Ms ?? Infinity, unit: 'ms', higherIsBetter: false, goal: { text: '<= 20 ms', on: 'value', max: 20 } },
      steadyPubackFigure('edge.fleet.puback_p99_after_10s', 'edge PUBACK p99 in that run, readings sent after its first 10 s', fleet.pubackSteadyP99Ms),
    );
    if (fleet.logBytesPerReading !== null) f.push({ id: 'edge.wan.bytes_per_reading_json', figure: "bytes per reading on the broker's log (grid.readings, all channels, JSON, gzip)", value: fleet.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false, goal: { text: '<= 20 bytes', on: 'value', max: 20 } });
  }
  if (fleetAvro !== null && fleetAvro.logBytesPerReading !== null) {
    f.push(
      { id: 'edge.wan.bytes_per_reading_avro', figure: "bytes per reading on the broker's log (grid.readings, all channels, Avro, gzip)", value: fleetAvro.logBytesPerReading, unit: 'bytes/reading', higherIsBetter: false, ...(fleet?.logBytesPerReading ? { yardstick: { name: 'JSON', value: fleet.logBytesPerReading }, ratio: r2(fleetAvro.logBytesPerReading / fleet.logBytesPerReading) } : {}), goal: { text: '<= 20 bytes', on: 'value', max: 20 } },
      { id: 'edge.fleet.cpu_per_reading_avro', figure: 'edge CPU per durable reading end to end, Avro on grid.readings', value: fleetAvro.cpuUsPerReading, unit: 'µs/reading', higherIsBetter: false, goal: { text: '<= 25 µs', on: 'value', max: 25 } },
    );
  }
  return f;
}
