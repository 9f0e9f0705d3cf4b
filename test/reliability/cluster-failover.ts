// Issue 14 item 3: the three-node Kafka cluster (RF 3, min.insync 2; `services --cluster`, used by
// this test alone and stopped after it) under a flood through two edge processes. Broker faults are
// real signals to the broker processes: SIGKILL of a partition leader, SIGSTOP for a while, a
// restart. Acknowledged (PUBACKed) readings must all be in Kafka once, after de-duplication.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureServices, kafkaPrincipalEnv, serviceEndpoints, startKafkaBroker, stopServices } from '../../deploy/services/index.ts';
import { runningRecord } from '../../deploy/services/process.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../shared/kafka/security.ts';
import { uniqueName } from '../harness/env.ts';
import type { ProducerClient } from '../../shared/kafka/producer.ts';
import { freePorts } from '../harness/ports.ts';
import { createSink, type ArchiveSink } from '../../central/archive/index.ts';
import { throwawayMinio } from '../../deploy/services/minio.ts';
import { readReadingsArchive } from './central-rig.ts';
import { startProgram } from './child.ts';
import { recordReliability } from './record.ts';
import { Flood, KafkaReader, sleep } from './link-rig.ts';

// The cluster's SASL_SSL listeners, as the admin principal (tools and checks).
const CLUSTER = ['127.0.0.1:19194', '127.0.0.1:19294', '127.0.0.1:19394'];
/** A restarted broker's bound to answer again: log recovery after a SIGKILL is slow on a loaded machine. */
const RESTART_TIMEOUT_MS = 300_000;
const adminSecurity = (): KafkaSecurity => kafkaSecurityFromEnv(kafkaPrincipalEnv(serviceEndpoints({ kafkaCluster: true }), 'admin'));

/**
 * The failover test of a variant (short in npm test, long in the reliability project): the
 * cluster, the run, its row in docs/reliability.md, and the promises (nothing acknowledged lost,
 * no duplicate after de-duplication, order per meter kept).
 */
/**
 * `clients`: the case once per edge producer client (GRIDWATCH_FORWARD_CLIENT, shared/kafka/producer.ts),
 * on the one cluster; rows after the first get `-<client>` in their id. Default: kafkajs alone.
 */
export function failoverSuite(v: { id: string; title: string; suite: 'short' | 'long'; run: FailoverRun; minAcked: number; timeoutMs: number; clients?: ProducerClient[] }): void {
  let cluster: { stop: () => Promise<void> } | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 600_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  describe(`broker failover (3-node cluster, RF 3, min.insync 2, ${v.suite})`, () => {
    for (const [i, client] of (v.clients ?? ['kafkajs']).entries()) it(`${v.title}, producer client ${client}: no acknowledged reading lost, no duplicate after de-duplication`, async () => {
      const f = await runFailover({ ...v.run, label: `${v.run.label}-${client}`, edgeEnv: { ...v.run.edgeEnv, GRIDWATCH_FORWARD_CLIENT: client } });
      const edges = v.run.edges ?? 2;
      recordReliability({
        id: i === 0 ? v.id : `${v.id}-${client}`,
        test: 'Broker failover',
        fault: f.faults.join('; '),
        load: `${edges} edge process${edges > 1 ? 'es' : ''} (SASL_SSL, RF 3, min.insync 2, producer client ${client}), ${v.run.meters} meters each, ${v.run.rate} readings/s QoS 1 in all`,
        lost: f.lost,
        duplicates: f.archive ? f.archive.duplicates : f.duplicatesAfterDedup,
        recoverySeconds: f.drainSeconds,
        note: `${f.acked} PUBACKed; max delivery delay ${f.maxDelaySeconds.toFixed(1)} s; ${f.outOfOrder} out of order; ${f.resends} re-sends dropped by readingId; ${client === 'kafkajs' ? `${f.unsentResent} records kafkajs resolved unsent, re-sent by the forwarder; ` : ''}run ${f.seconds.toFixed(0)} s; ${f.archive ? `central's archive (MinIO): ${f.acked - f.archive.missing} of ${f.acked} PUBACKed archived, ${f.archive.duplicates} duplicates, ${f.archive.lines} lines, all in ${f.archive.seconds.toFixed(0)} s after the drain; Kafka reader: ${f.duplicatesAfterDedup} duplicates after de-duplication` : "Kafka reader, not central's archive"}${f.reread ? `; ${f.reread}` : ''}`,
        suite: v.suite,
      });
      expect(f.acked).toBeGreaterThan(v.minAcked);
      expect(f.lost).toBe(0);
      expect(f.duplicatesAfterDedup).toBe(0);
      expect(f.outOfOrder).toBe(0);
      if (v.run.central) {
        expect(f.archive, 'central archived the run').toBeDefined();
        expect(f.archive!.missing).toBe(0);
        expect(f.archive!.duplicates).toBe(0);
      }
    }, v.timeoutMs);
  });
}

/** Starts the cluster if it is not running; `stop` stops it only if this call started it. */
export async function startCluster(): Promise<{ stop: () => Promise<void> }> {
  const { started } = await ensureServices({ services: ['kafka'], kafkaCluster: true, log: (l) => process.stderr.write(`${l}\n`) });
  return { stop: async () => void (started.length > 0 && (await stopServices(['kafka'], { kafkaCluster: true, onlySpawnedHere: true }))) };
}

export function brokerPid(nodeId: number): number {
  const r = runningRecord(`kafka-${nodeId}`);
  if (!r) throw new Error(`cluster node kafka-${nodeId} is not running`);
  return r.pid;
}

/** The node leading partition `partition` of `topic`. */
export async function leaderOf(topic: string, partition = 0): Promise<number> {
  const admin = createKafkaClient({ clientId: 'relnet-failover', brokers: CLUSTER, security: adminSecurity() }).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const p = md.topics[0]?.partitions.find((x) => x.partitionId === partition);
    if (!p) throw new Error(`no metadata for ${topic}/${partition}`);
    return p.leader;
  } finally {
    await admin.disconnect();
  }
}

export async function waitForPidExit(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  throw new Error(`pid ${pid} still alive after ${timeoutMs} ms`);
}

export interface ClusterEdge {
  child: ChildProcess;
  mqttPort: number;
  dataDir: string;
  /** Records the forwarder found unsent in a resolved send and sent again (its warn lines). */
  unsentResent: () => number;
  /** `keep`: leave the data dir (its outbox) for a post-mortem. */
  stop: (opts?: { keep?: boolean }) => Promise<void>;
}

const UNSENT_LINE = 'Kafka acknowledged a send without some partitions';

/** An edge process (bin/gridwatch.js edge) on the cluster over SASL_SSL, topics RF 3. */
export async function spawnClusterEdge(edgeId: string, prefix: string, mqttPort: number, extraEnv: Record<string, string> = {}): Promise<ClusterEdge> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridwatch-relnet-cluster-edge-'));
  const env = {
    ...process.env,
    ...kafkaPrincipalEnv(serviceEndpoints({ kafkaCluster: true }), 'admin'),
    GRIDWATCH_EDGE_ID: edgeId,
    GRIDWATCH_DATA_DIR: dataDir,
    GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix,
    GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '3',
    GRIDWATCH_KAFKA_REPLICATION_FACTOR: '3',
    GRIDWATCH_MQTT_HOST: '127.0.0.1',
    GRIDWATCH_MQTT_PORT: String(mqttPort),
    GRIDWATCH_HTTP_HOST: '127.0.0.1',
    GRIDWATCH_HTTP_PORT: '0',
    GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
    GRIDWATCH_DRAIN_TIMEOUT_MS: '5000',
    GRIDWATCH_LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['bin/gridwatch.js', 'edge'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let unsent = 0;
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.includes(UNSENT_LINE)) unsent += Number(/"messages":(\d+)/.exec(l)?.[1] ?? 0);
  });
  await new Promise<void>((resolve, reject) => {
    // A loaded two-core machine takes a while to load the gateway's code: a generous bound.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edge ${edgeId} did not start in 180 s:\n${log.slice(-3000)}`));
    }, 180_000);
    child.stdout!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
      if (log.includes('"edge gateway started"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.once('exit', (code) => reject(new Error(`edge ${edgeId} exited ${code}:\n${log.slice(-3000)}`)));
  });
  return {
    child,
    mqttPort,
    dataDir,
    unsentResent: () => unsent,
    stop: async (opts = {}) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      if (opts.keep) process.stderr.write(`[failover] edge ${edgeId}: data dir kept at ${dataDir}\n`);
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FailoverFigures {
  /** What a second reader found when the first missed readings (empty when none was missing). */
  reread: string;
  acked: number;
  lost: number;
  duplicatesAfterDedup: number;
  resends: number;
  outOfOrder: number;
  /** Worst PUBACK-to-Kafka delay of a reading (seconds): the gap in delivery the faults caused. */
  maxDelaySeconds: number;
  drainSeconds: number;
  faults: string[];
  /** Records a resolved kafkajs send had left unsent, found and sent again by the forwarder. */
  unsentResent: number;
  edges: number;
  seconds: number;
  /** With `central`: the PUBACKed readings not in central's archive, and the archive's duplicates. */
  archive?: { missing: number; duplicates: number; lines: number; seconds: number };
}

/** A broker fault: `later` takes work that may finish while the flood goes on (a restart). */
export type BrokerFault = (ctx: { topic: string; later: (p: Promise<unknown>) => void }) => Promise<string>;

export interface FailoverRun {
  label: string;
  /** Readings/s in all, split evenly over the edges. */
  rate: number;
  /** Meters per edge. */
  meters: number;
  /** Edge processes (default 2). */
  edges?: number;
  /** Settings added to each edge process's environment. */
  edgeEnv?: Record<string, string>;
  faults: BrokerFault[];
  /** Flood on after the last fault before the drain (default 2 s). */
  tailMs?: number;
  /** One `gridwatch central` on the cluster archiving to a MinIO of its own, checked at the end. */
  central?: boolean;
}

/** A central on the cluster (SASL_SSL, the run's topic prefix) archiving to its own MinIO. */
async function startClusterCentral(prefix: string, dir: string): Promise<{ sink: ArchiveSink; stop: () => Promise<void> }> {
  // Fixed ports: MinIO also binds its console on port + 1, which a free-port probe cannot promise.
  const [minioPort, httpPort] = [20900, 20902];
  const minio = throwawayMinio({ port: minioPort, dataDir: join(dir, 'minio') });
  await minio.start();
  const bucket = prefix.replace(/[^a-z0-9-]/gi, '-').slice(0, 60).toLowerCase().replace(/-+$/, '');
  const u = new URL(minio.endpoint);
  const sink = createSink({ s3: { endPoint: u.hostname, port: Number(u.port), useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket } });
  let central: Awaited<ReturnType<typeof startProgram>> | undefined;
  try {
    central = await startProgram('central', {
      ...kafkaPrincipalEnv(serviceEndpoints({ kafkaCluster: true }), 'admin'),
      GRIDWATCH_KAFKA_TOPIC_PREFIX: prefix,
      GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '3',
      GRIDWATCH_KAFKA_REPLICATION_FACTOR: '3',
      GRIDWATCH_CENTRAL_GROUP: `${prefix}central`,
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: String(httpPort),
      GRIDWATCH_METRICS_TOKEN: 'failover-metrics-token-0123456789',
      GRIDWATCH_S3_ENDPOINT: minio.endpoint,
      GRIDWATCH_S3_ACCESS_KEY: minio.accessKey,
      GRIDWATCH_S3_SECRET_KEY: minio.secretKey,
      GRIDWATCH_S3_BUCKET: bucket,
      GRIDWATCH_ARCHIVE_MAX_AGE_MS: '1000',
      // The archive under broker faults is under test, not the model.
      GRIDWATCH_LEARNED_SCORING: 'off',
      GRIDWATCH_LOG_LEVEL: 'info',
      // Not the shared InfluxDB of the test servers: this run's points would land there.
      GRIDWATCH_INFLUX_URL: undefined,
      GRIDWATCH_INFLUX_TOKEN: undefined,
    }, 'central started', 240_000);
  } catch (err) {
    await minio.stop().catch(() => undefined);
    throw err;
  }
  const child = central.child;
  return {
    sink,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await new Promise((r) => child.once('exit', r));
        clearTimeout(t);
      }
      await minio.stop().catch(() => undefined);
    },
  };
}

/** Polls central's archive until every PUBACKed reading is in it (or `ms` passed). */
async function checkArchive(sink: ArchiveSink, topic: string, acked: Map<string, number>, ms: number): Promise<NonNullable<FailoverFigures['archive']>> {
  const t0 = Date.now();
  for (;;) {
    const a = await readReadingsArchive(sink, topic);
    const missing = [...acked.keys()].filter((id) => !a.perReading.has(id)).length;
    if (missing === 0 || Date.now() - t0 > ms) {
      return { missing, duplicates: [...a.perReading.values()].filter((n) => n > 1).length, lines: a.lines, seconds: (Date.now() - t0) / 1000 };
    }
    await sleep(5000);
  }
}

/**
 * Edges, a flood through each, the given broker faults one after the other, then drained.
 * `faults` get the readings topic (to find its leaders) and return what they did.
 */
export async function runFailover(o: FailoverRun): Promise<FailoverFigures> {
  const started = Date.now();
  const prefix = `${uniqueName(o.label)}.`;
  const topic = `${prefix}grid.readings`;
  const edgeCount = o.edges ?? 2;
  const edges: ClusterEdge[] = [];
  const reader = new KafkaReader(CLUSTER, [topic], adminSecurity());
  const floods: Flood[] = [];
  const done: string[] = [];
  const background: Promise<unknown>[] = [];
  let keep = false;
  const centralDir = mkdtempSync(join(tmpdir(), 'gridwatch-relnet-cluster-central-'));
  let central: Awaited<ReturnType<typeof startClusterCentral>> | undefined;
  try {
    const ports = await freePorts(edgeCount);
    edges.push(...(await Promise.all(ports.map((port, i) => spawnClusterEdge(`${prefix}${'abcdefgh'[i]}`.slice(0, 60), prefix, port, o.edgeEnv)))));
    floods.push(...edges.map((e, i) => new Flood({ url: `mqtt://127.0.0.1:${e.mqttPort}`, label: `${prefix}e${i}`, meters: o.meters, rate: o.rate / edgeCount })));
    await reader.start();
    if (o.central) central = await startClusterCentral(prefix, centralDir);
    for (const f of floods) await f.start();
    await sleep(3000);
    const t0 = Date.now();
    for (const fault of o.faults) done.push(`${await fault({ topic, later: (p) => background.push(p) })} (ended at +${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    await sleep(o.tailMs ?? 2000);
    for (const f of floods) await f.stop();
    const endOfFaults = Date.now();
    const acked = new Map<string, number>();
    for (const f of floods) for (const [id, t] of f.acked) acked.set(id, t);
    const deadline = Date.now() + 120_000;
    const seenKeys = (): Set<string> => new Set(reader.arrivals.map((a) => `${String(a.value.meterId)}:${String(a.value.seq)}`));
    while (Date.now() < deadline) {
      const seen = seenKeys();
      if ([...acked.keys()].every((id) => seen.has(id))) break;
      await sleep(250);
    }
    await sleep(1500);
    const first = new Map<string, number>();
    const ids = new Map<string, Set<string>>();
    const rids = new Set<string>();
    const lastSeq = new Map<string, number>();
    let resends = 0;
    let outOfOrder = 0;
    for (const a of reader.arrivals) {
      const key = `${String(a.value.meterId)}:${String(a.value.seq)}`;
      const rid = String(a.value.readingId);
      if (rids.has(rid)) resends++;
      rids.add(rid);
      ids.set(key, (ids.get(key) ?? new Set()).add(rid));
      if (first.has(key)) continue;
      first.set(key, a.at);
      const m = String(a.value.meterId);
      if (Number(a.value.seq) < (lastSeq.get(m) ?? -1)) outOfOrder++;
      lastSeq.set(m, Math.max(Number(a.value.seq), lastSeq.get(m) ?? -1));
    }
    let lost = 0;
    let maxDelay = 0;
    let last = endOfFaults;
    for (const [id, t] of acked) {
      const at = first.get(id);
      if (at === undefined) lost++;
      else {
        maxDelay = Math.max(maxDelay, at - t);
        last = Math.max(last, at);
      }
    }
    let reread = '';
    if (lost > 0) {
      // Lost, or missed by this reader? A second reader in a fresh group reads the topic again.
      const again = new KafkaReader(CLUSTER, [topic], adminSecurity());
      await again.start();
      await sleep(15_000);
      const have = new Set(again.arrivals.map((a) => `${String(a.value.meterId)}:${String(a.value.seq)}`));
      await again.stop();
      const missing = [...acked].filter(([id]) => !first.has(id));
      const stillMissing = missing.filter(([id]) => !have.has(id));
      reread = `a second reader finds ${missing.length - stillMissing.length} of the ${missing.length} missing; missing PUBACKed at +${[...new Set(stillMissing.map(([, t]) => Math.round((t - t0) / 1000)))].join(',')} s`;
      lost = stillMissing.length;
      keep = lost > 0;
      process.stderr.write(`[failover] ${reread}: ${stillMissing.slice(0, 20).map(([id]) => id).join(' ')}\n`);
    }
    // A restart still under way is part of the run: the cluster is whole again when it returns.
    await Promise.all(background);
    const archive = central ? await checkArchive(central.sink, topic, acked, 180_000) : undefined;
    return {
      archive,
      unsentResent: edges.reduce((n, e) => n + e.unsentResent(), 0),
      edges: edgeCount,
      seconds: (Date.now() - started) / 1000,
      reread,
      acked: acked.size,
      lost,
      duplicatesAfterDedup: [...ids.values()].filter((s) => s.size > 1).length,
      resends,
      outOfOrder,
      maxDelaySeconds: maxDelay / 1000,
      drainSeconds: (last - endOfFaults) / 1000,
      faults: done,
    };
  } finally {
    for (const f of floods) await f.stop().catch(() => undefined);
    await reader.stop().catch(() => undefined);
    for (const e of edges) await e.stop({ keep }).catch(() => undefined);
    await central?.stop().catch(() => undefined);
    rmSync(centralDir, { recursive: true, force: true });
    await Promise.allSettled(background);
  }
}

/**
 * SIGKILL the leader of partition 0, run on for `holdMs`, start it again. `restartInBackground`:
 * the fault ends when the restart begins (the flood and drain go on while the JVM starts); the
 * run waits for it before it returns.
 */
export const killLeader = (holdMs: number, opts: { restartInBackground?: boolean } = {}): BrokerFault => async ({ topic, later }) => {
  const leader = await leaderOf(topic);
  const pid = brokerPid(leader);
  process.kill(pid, 'SIGKILL');
  await waitForPidExit(pid);
  await sleep(holdMs);
  const restart = startKafkaBroker(leader, RESTART_TIMEOUT_MS);
  if (opts.restartInBackground) later(restart);
  else await restart;
  return `SIGKILL leader kafka-${leader}, ${opts.restartInBackground ? 'restart begun' : 'restarted'} after ${holdMs / 1000} s`;
};

/** SIGSTOP a broker (the current leader: the hardest one) for `ms`, then SIGCONT. */
export const pauseBroker = (ms: number): BrokerFault => async ({ topic }) => {
  const node = await leaderOf(topic);
  const pid = brokerPid(node);
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(ms);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await sleep(5000);
  return `SIGSTOP kafka-${node} (leader) ${ms / 1000} s`;
};

/** A controlled restart (SIGTERM, start) of a broker that is not the leader. */
export const restartBroker = (): BrokerFault => async ({ topic }) => {
  const leader = await leaderOf(topic);
  const node = [1, 2, 3].find((n) => n !== leader)!;
  const { stopKafkaBroker } = await import('../../deploy/services/index.ts');
  await stopKafkaBroker(node);
  await startKafkaBroker(node, RESTART_TIMEOUT_MS);
  return `restart kafka-${node}`;
};
