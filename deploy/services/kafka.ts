// Apache Kafka in KRaft mode from the broker's jars on Maven Central, run with `java`.
// Single node (the default) or a three-node cluster of combined broker+controller nodes for fault tests.
// Every node has a SASL_SSL listener (see kafka-config.ts, kafka-acl.ts) and, for now, a plaintext one.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import type { KafkaSecurity } from '../../shared/kafka/security.ts';
import { applyKafkaSecurity, harnessSecurity } from './kafka-acl.ts';
import { pruneThrowawayTopics } from './kafka-prune.ts';
import { renderKafkaLog4j2, renderKafkaPom, renderKafkaProperties, type KafkaNodeConfig, type KafkaNodeSecurity } from './kafka-config.ts';
import { KAFKA_USERS, ensureKafkaPki, readSecret, type KafkaPki } from './kafka-pki.ts';
import { HOST, KAFKA_PLAINTEXT_LISTENER, PORTS, paths } from './layout.ts';
import { type Log, portOpen, runCommand, runningRecord, spawnedToken, startDetached, stopByPidFile, waitUntilHealthy, withSpawnLock } from './process.ts';
import { KAFKA_VERSION, LOG4J_VERSION, SLF4J_VERSION } from './versions.ts';


const START_TIMEOUT_MS = 120_000;
/** A broker still logging (loading its partitions) is given this long in all, and is given up on after this long without a log line. */
const START_PROGRESS = { maxMs: 900_000, quietMs: 60_000 };
const STOP_GRACE_MS = 30_000;

export const kafkaJarDir = (): string => join(paths.jars(), `kafka-${KAFKA_VERSION}`);
const completeMarker = (): string => join(kafkaJarDir(), '.complete');

export function kafkaProvisioned(): boolean {
  return existsSync(completeMarker());
}

/** Resolves the broker jars and their runtime closure into the cache with Maven (idempotent). */
export async function provisionKafka(log: Log): Promise<void> {
  if (kafkaProvisioned()) {
    log(`[services] kafka: jars for ${KAFKA_VERSION} already in ${kafkaJarDir()}`);
    return;
  }
  const pomDir = join(paths.jars(), `kafka-${KAFKA_VERSION}-pom`);
  mkdirSync(pomDir, { recursive: true });
  writeFileSync(join(pomDir, 'pom.xml'), renderKafkaPom({ kafka: KAFKA_VERSION, slf4j: SLF4J_VERSION, log4j: LOG4J_VERSION }));
  log(`[services] kafka: downloading broker jars ${KAFKA_VERSION} and dependencies from Maven Central ...`);
  const started = Date.now();
  await runCommand(
    'mvn',
    ['-B', '-q', '-f', join(pomDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${kafkaJarDir()}`, '-DincludeScope=runtime'],
    { logFile: paths.log('kafka-provision'), what: 'kafka: resolving broker jars with Maven' },
  );
  const jars = readdirSync(kafkaJarDir()).filter((f) => f.endsWith('.jar'));
  if (!jars.includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) {
    throw new GridwatchError('PROVISION_FAILED', `kafka: Maven finished but kafka_2.13-${KAFKA_VERSION}.jar is not in ${kafkaJarDir()}`);
  }
  writeFileSync(completeMarker(), `${jars.length} jars\n`);
  log(`[services] kafka: ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

interface KafkaNode {
  /** pid/log name: `kafka` for the single node, `kafka-<id>` for cluster nodes. */
  name: string;
  config: Omit<KafkaNodeConfig, 'security'>;
  saslSslPort: number;
  plaintextListener: 'open' | 'refused';
  /** Directory with cluster-id (shared by the cluster's nodes). */
  clusterDir: string;
}

/** Ports of one node: the plaintext listener, the controller, the SASL_SSL listener. */
export interface KafkaNodePorts {
  broker: number;
  controller: number;
  saslSsl: number;
}

function standaloneNode(name: string, clusterDir: string, ports: KafkaNodePorts, plaintextListener: 'open' | 'refused'): KafkaNode {
  return {
    name,
    clusterDir,
    saslSslPort: ports.saslSsl,
    plaintextListener,
    config: {
      nodeId: 1,
      brokerPort: ports.broker,
      controllerPort: ports.controller,
      voters: [{ nodeId: 1, controllerPort: ports.controller }],
      logDir: join(clusterDir, 'node-1'),
      replicationFactor: 1,
      minInsyncReplicas: 1,
    },
  };
}

const singleNode = (): KafkaNode => standaloneNode('kafka', join(paths.data(), 'kafka'), PORTS.kafka, KAFKA_PLAINTEXT_LISTENER);

function clusterNodes(): KafkaNode[] {
  const clusterDir = join(paths.data(), 'kafka-cluster');
  const voters = PORTS.kafkaCluster.map((n) => ({ nodeId: n.nodeId, controllerPort: n.controller }));
  return PORTS.kafkaCluster.map((n) => ({
    name: `kafka-${n.nodeId}`,
    clusterDir,
    saslSslPort: n.saslSsl,
    plaintextListener: KAFKA_PLAINTEXT_LISTENER,
    config: {
      nodeId: n.nodeId,
      brokerPort: n.broker,
      controllerPort: n.controller,
      voters,
      logDir: join(clusterDir, `node-${n.nodeId}`),
      replicationFactor: 3,
      minInsyncReplicas: 2,
    },
  }));
}

function clusterNode(nodeId: number): KafkaNode {
  const node = clusterNodes().find((n) => n.config.nodeId === nodeId);
  if (!node) throw new GridwatchError('CONFIG_INVALID', `kafka cluster has nodes 1, 2 and 3; got node id ${nodeId}`);
  return node;
}

/** The PLAINTEXT endpoints (the bench's yardstick and explicit opt-outs only; see KAFKA_PLAINTEXT_LISTENER). */
export const kafkaBrokers = (cluster: boolean): string[] =>
  cluster ? PORTS.kafkaCluster.map((n) => `${HOST}:${n.broker}`) : [`${HOST}:${PORTS.kafka.broker}`];

/** The SASL_SSL endpoints. */
export const kafkaSecureBrokers = (cluster: boolean): string[] =>
  cluster ? PORTS.kafkaCluster.map((n) => `${HOST}:${n.saslSsl}`) : [`${HOST}:${PORTS.kafka.saslSsl}`];

const secureEndpoints = (nodes: KafkaNode[]): string[] => nodes.map((n) => `${HOST}:${n.saslSslPort}`);

function nodeSecurity(node: KafkaNode, pki: KafkaPki): KafkaNodeSecurity {
  return {
    saslSslPort: node.saslSslPort,
    plaintextListener: node.plaintextListener,
    caFile: pki.caFile,
    keyPem: readFileSync(pki.user('broker').keyFile, 'utf8'),
    certificateChainPem: readFileSync(pki.user('broker').certFile, 'utf8') + readFileSync(pki.caFile, 'utf8'),
    plainUsers: Object.fromEntries(KAFKA_USERS.map((u) => [u, readSecret(pki.user(u).passwordFile)])),
    brokerUser: 'broker',
    superUsers: ['broker', 'admin'],
  };
}

const renderNode = (node: KafkaNode, pki: KafkaPki): string => renderKafkaProperties({ ...node.config, security: nodeSecurity(node, pki) });
const propertiesFile = (node: KafkaNode): string => join(paths.etc(), node.name, 'server.properties');

function clusterId(dir: string): string {
  const file = join(dir, 'cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const id = newClusterId();
  writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * A Kafka cluster id: 16 random bytes in URL-safe base64 without padding (22 characters), never
 * starting with '-' (Kafka's own Uuid.randomUuid draws again for the same reason). One in 64 ids
 * did, and `kafka-storage format -t -cLaY...` then took the id for an option ("argument
 * --cluster-id/-t: expected one argument"): a whole-suite run failed on it.
 */
export function newClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function javaArgs(node: KafkaNode, heap: string, mainClass: string, rest: string[]): string[] {
  const etc = join(paths.etc(), node.name);
  return [
    `-Xms128m`, `-Xmx${heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(etc, 'log4j2.properties')}`,
    '-cp', `${kafkaJarDir()}/*`, mainClass, ...rest,
  ];
}

/** Writes the node's config, formats its storage on first use, starts it detached. No waiting. */
async function launchNode(node: KafkaNode, pki: KafkaPki, heap: string, log: Log): Promise<number> {
  const etc = join(paths.etc(), node.name);
  mkdirSync(etc, { recursive: true, mode: 0o700 });
  const props = propertiesFile(node);
  // The file holds the broker's key password and the PLAIN users' passwords.
  writeFileSync(props, renderNode(node, pki), { mode: 0o600 });
  chmodSync(props, 0o600);
  writeFileSync(join(etc, 'log4j2.properties'), renderKafkaLog4j2());
  if (!existsSync(join(node.config.logDir, 'meta.properties'))) {
    log(`[services] ${node.name}: formatting KRaft storage in ${node.config.logDir}`);
    await runCommand('java', javaArgs(node, '256m', 'kafka.tools.StorageTool', ['format', `--cluster-id=${clusterId(node.clusterDir)}`, '-c', props]), {
      logFile: paths.log(node.name),
      what: `${node.name}: formatting storage`,
    });
  }
  const record = startDetached(node.name, 'java', javaArgs(node, heap, 'kafka.Kafka', [props]));
  return record.pid;
}

/**
 * True when an admin client connects to these brokers and lists topics (with `expectBrokers` alive).
 * `security` (the harness's admin, see harnessSecurity) for the SASL_SSL endpoints.
 */
export async function kafkaAnswers(brokers: string[], expectBrokers = 1, security?: KafkaSecurity): Promise<boolean> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-services', brokers, ...(security ? { security } : {}), connectionTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 0 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length >= expectBrokers && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * True once the group coordinator serves requests. On a fresh broker the first consumer group
 * creates __consumer_offsets, and until its partitions load every join fails with "coordinator is
 * loading"; doing that once here (and once for the transaction coordinator) keeps the first test
 * from racing it.
 */
export async function groupCoordinatorReady(brokers: string[], security?: KafkaSecurity): Promise<boolean> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-services', brokers, ...(security ? { security } : {}), connectionTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 5 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeGroups(['gridwatch-services-warmup']);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  // Same for __transaction_state, which idempotent producers' InitProducerId waits on.
  const producer = kafka.producer({ transactionalId: 'gridwatch-services-warmup', idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const tx = await producer.transaction();
    await tx.abort();
    return true;
  } catch {
    return false;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

async function startNodes(nodes: KafkaNode[], heap: string, log: Log, expectBrokers: number, timeoutMs = START_TIMEOUT_MS): Promise<boolean> {
  const pki = await ensureKafkaPki(log);
  const security = harnessSecurity(pki);
  const pids: { node: KafkaNode; pid: number | undefined }[] = [];
  let startedAny = false;
  for (const node of nodes) {
    const running = runningRecord(node.name);
    if (running) {
      pids.push({ node, pid: running.pid });
      continue;
    }
    // Under the node's spawn lock, and not over a broker whose pid file another run is writing
    // or whose port is taken (a slow broker is waited for below, never started twice).
    const launched = await withSpawnLock(node.name, async () => {
      const now = runningRecord(node.name);
      if (now) return { pid: now.pid, spawned: false };
      if ((await portOpen(HOST, node.saslSslPort)) || (await portOpen(HOST, node.config.brokerPort))) {
        log(`[services] ${node.name}: its port is taken but no pid record names it; waiting for that broker instead of starting another`);
        return { pid: undefined, spawned: false };
      }
      log(`[services] ${node.name}: starting broker ${HOST}:${node.saslSslPort} (SASL_SSL), ${HOST}:${node.config.brokerPort} (plaintext, ${node.plaintextListener}) (log ${paths.log(node.name)})`);
      return { pid: await launchNode(node, pki, heap, log), spawned: true };
    });
    pids.push({ node, pid: launched.pid });
    startedAny ||= launched.spawned;
  }
  for (const { node, pid } of pids) {
    await waitUntilHealthy(node.name, () => kafkaAnswers([`${HOST}:${node.saslSslPort}`], expectBrokers, security), {
      timeoutMs,
      progress: START_PROGRESS,
      log,
      ...(pid !== undefined ? { pid } : {}),
      command: runningRecord(node.name)?.command ?? 'java kafka.Kafka',
    });
  }
  const first = nodes[0];
  if (startedAny && first) {
    const brokers = secureEndpoints(nodes);
    await waitUntilHealthy(first.name, () => groupCoordinatorReady(brokers, security), { timeoutMs: START_TIMEOUT_MS, command: 'kafkajs admin.describeGroups (group coordinator ready)' });
  }
  if (first) await applyKafkaSecurity({ brokers: secureEndpoints(nodes), pki, jarDir: kafkaJarDir(), clusterDir: first.clusterDir, log });
  return startedAny;
}

/**
 * Nodes running with another configuration than the one this code renders (for example from before
 * the SASL_SSL listener, or before KAFKA_PLAINTEXT_LISTENER flipped) are stopped so they start
 * again with it: a controlled shutdown, data kept. Returns the names restarted.
 */
async function stopStaleNodes(nodes: KafkaNode[], log: Log): Promise<string[]> {
  const pki = await ensureKafkaPki(log);
  const stale = nodes.filter((n) => runningRecord(n.name) && (!existsSync(propertiesFile(n)) || readFileSync(propertiesFile(n), 'utf8') !== renderNode(n, pki)));
  for (const n of stale) log(`[services] ${n.name}: running with an older configuration; restarting it once with the current one (data kept)`);
  await Promise.all(stale.map((n) => stopByPidFile(n.name, STOP_GRACE_MS)));
  return stale.map((n) => n.name);
}

/**
 * Makes sure Kafka runs and answers on its SASL_SSL listener; returns true when this call started
 * it. A broker already answering (started by `gridwatch services up` or another run) is reused.
 */
export async function ensureKafka(opts: { cluster: boolean; log: Log }): Promise<boolean> {
  const brokers = kafkaSecureBrokers(opts.cluster);
  const expect = opts.cluster ? 3 : 1;
  const nodes = opts.cluster ? clusterNodes() : [singleNode()];
  const pki = await ensureKafkaPki(opts.log);
  const security = harnessSecurity(pki);
  // A node restarted for its configuration was running before this call: whoever started it owns
  // it, so it is not reported as started here (the test setup stops only what it started).
  const wasRunning = nodes.some((n) => runningRecord(n.name));
  const restarted = await stopStaleNodes(nodes, opts.log);
  if (restarted.length === 0 && nodes.every((n) => runningRecord(n.name)) && (await kafkaAnswers(brokers, expect, security))) {
    const first = nodes[0];
    if (first) await applyKafkaSecurity({ brokers, pki, jarDir: kafkaJarDir(), clusterDir: first.clusterDir, log: opts.log });
    opts.log(`[services] kafka: already running at ${brokers.join(',')}`);
    if (!opts.cluster) await pruneThrowawayTopics({ brokers, security, log: opts.log });
    return false;
  }
  if (!nodes.some((n) => runningRecord(n.name))) {
    if (await kafkaAnswers(brokers, expect, security)) {
      opts.log(`[services] kafka: a broker not started by gridwatch answers at ${brokers.join(',')}; using it`);
      return false;
    }
    const plain = kafkaBrokers(opts.cluster);
    if (await kafkaAnswers(plain, expect)) {
      throw new GridwatchError('PROVISION_FAILED', `kafka: a broker not started by gridwatch answers at ${plain.join(',')} but not with SASL_SSL at ${brokers.join(',')} (CA ${pki.caFile}); stop it so the harness can start its own`);
    }
  }
  await provisionKafka(opts.log);
  const t = Date.now();
  const started = await startNodes(nodes, opts.cluster ? '512m' : '768m', opts.log, expect);
  opts.log(`[services] kafka: ready at ${brokers.join(',')} (SASL_SSL) in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  if (!opts.cluster) await pruneThrowawayTopics({ brokers, security, log: opts.log });
  // Started by this call only if every node now recorded is one this process spawned.
  return started && !wasRunning && nodes.every((n) => spawnedToken(n.name) !== undefined);
}

/**
 * A single node of its own in `dir` on other ports, for tests that need a broker configured
 * differently from the shared one (for example with the plaintext listener refused). Same CA and
 * users as the shared broker. `stop()` ends it; the caller removes `dir`.
 */
export async function startStandaloneKafka(opts: {
  name: string; dir: string; ports: KafkaNodePorts; plaintextListener: 'open' | 'refused'; log?: Log;
  /** Advertise these ports (a fault proxy's, already listening) instead of the node's own. */
  advertisedPorts?: { broker: number; saslSsl: number };
}): Promise<{
  plaintextBrokers: string[]; secureBrokers: string[]; stop: () => Promise<void>;
}> {
  const base = standaloneNode(opts.name, opts.dir, opts.ports, opts.plaintextListener);
  const node = opts.advertisedPorts ? { ...base, config: { ...base.config, advertisedPorts: opts.advertisedPorts } } : base;
  if (!kafkaProvisioned()) await provisionKafka(opts.log ?? (() => undefined));
  await startNodes([node], '384m', opts.log ?? (() => undefined), 1);
  return {
    plaintextBrokers: [`${HOST}:${opts.ports.broker}`],
    secureBrokers: [`${HOST}:${opts.ports.saslSsl}`],
    stop: async () => {
      await stopByPidFile(node.name, STOP_GRACE_MS);
    },
  };
}

/**
 * Stops the single node (SIGTERM: controlled shutdown, data kept) or, with `cluster`, all three
 * nodes. `onlySpawnedHere`: only nodes this process spawned whose pid files are still its own.
 */
export async function stopKafkaNodes(cluster: boolean, opts: { onlySpawnedHere?: boolean } = {}): Promise<string[]> {
  const names = (cluster ? clusterNodes() : [singleNode()]).map((n) => n.name);
  const stopped: string[] = [];
  await Promise.all(names.map(async (name) => {
    const token = spawnedToken(name);
    if (opts.onlySpawnedHere && token === undefined) return;
    if (await stopByPidFile(name, STOP_GRACE_MS, token !== undefined && opts.onlySpawnedHere ? { token } : {})) stopped.push(name);
  }));
  return stopped;
}

export async function stopKafka(): Promise<void> {
  await stopKafkaNodes(false);
}

export async function startKafka(log: Log = () => undefined): Promise<void> {
  if (!kafkaProvisioned()) await provisionKafka(log);
  await startNodes([singleNode()], '768m', log, 1);
}

export async function stopKafkaBroker(nodeId: number): Promise<void> {
  await stopByPidFile(clusterNode(nodeId).name, STOP_GRACE_MS);
}

/**
 * Restarts one cluster node and waits until it answers again (the others keep running), at most
 * `timeoutMs` (default 120 s): a broker killed with SIGKILL recovers its logs first, which on a
 * loaded two-core machine took just over 120 s.
 */
export async function startKafkaBroker(nodeId: number, log: Log = () => undefined, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  await startNodes([clusterNode(nodeId)], '512m', log, 1, timeoutMs);
}

export function kafkaStatus(): { name: string; running: boolean; endpoint: string; plaintextEndpoint: string }[] {
  return [singleNode(), ...clusterNodes()].map((n) => ({
    name: n.name,
    running: runningRecord(n.name) !== undefined,
    endpoint: `${HOST}:${n.saslSslPort}`,
    plaintextEndpoint: `${HOST}:${n.config.brokerPort}`,
  }));
}
