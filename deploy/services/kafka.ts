// Apache Kafka in KRaft mode from the broker's jars on Maven Central, run with `java`.
// Single node (the default) or a three-node cluster of combined broker+controller nodes for fault tests.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import { renderKafkaLog4j2, renderKafkaPom, renderKafkaProperties, type KafkaNodeConfig } from './kafka-config.ts';
import { HOST, PORTS, paths } from './layout.ts';
import { type Log, runCommand, runningRecord, startDetached, stopByPidFile, waitUntilHealthy } from './process.ts';
import { KAFKA_VERSION, LOG4J_VERSION, SLF4J_VERSION } from './versions.ts';


const START_TIMEOUT_MS = 120_000;
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
  config: KafkaNodeConfig;
  /** Directory with cluster-id (shared by the cluster's nodes). */
  clusterDir: string;
}

function singleNode(): KafkaNode {
  const clusterDir = join(paths.data(), 'kafka');
  return {
    name: 'kafka',
    clusterDir,
    config: {
      nodeId: 1,
      brokerPort: PORTS.kafka.broker,
      controllerPort: PORTS.kafka.controller,
      voters: [{ nodeId: 1, controllerPort: PORTS.kafka.controller }],
      logDir: join(clusterDir, 'node-1'),
      replicationFactor: 1,
      minInsyncReplicas: 1,
    },
  };
}

function clusterNodes(): KafkaNode[] {
  const clusterDir = join(paths.data(), 'kafka-cluster');
  const voters = PORTS.kafkaCluster.map((n) => ({ nodeId: n.nodeId, controllerPort: n.controller }));
  return PORTS.kafkaCluster.map((n) => ({
    name: `kafka-${n.nodeId}`,
    clusterDir,
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

export const kafkaBrokers = (cluster: boolean): string[] =>
  cluster ? PORTS.kafkaCluster.map((n) => `${HOST}:${n.broker}`) : [`${HOST}:${PORTS.kafka.broker}`];

function clusterId(dir: string): string {
  const file = join(dir, 'cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  // Kafka's Uuid is 16 random bytes in URL-safe base64 without padding (22 characters).
  const id = randomBytes(16).toString('base64url');
  writeFileSync(file, `${id}\n`);
  return id;
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
async function launchNode(node: KafkaNode, heap: string, log: Log): Promise<number> {
  const etc = join(paths.etc(), node.name);
  mkdirSync(etc, { recursive: true });
  const props = join(etc, 'server.properties');
  writeFileSync(props, renderKafkaProperties(node.config));
  writeFileSync(join(etc, 'log4j2.properties'), renderKafkaLog4j2());
  if (!existsSync(join(node.config.logDir, 'meta.properties'))) {
    log(`[services] ${node.name}: formatting KRaft storage in ${node.config.logDir}`);
    await runCommand('java', javaArgs(node, '256m', 'kafka.tools.StorageTool', ['format', '-t', clusterId(node.clusterDir), '-c', props]), {
      logFile: paths.log(node.name),
      what: `${node.name}: formatting storage`,
    });
  }
  const record = startDetached(node.name, 'java', javaArgs(node, heap, 'kafka.Kafka', [props]));
  return record.pid;
}

/** True when an admin client connects to these brokers and lists topics (with `expectBrokers` alive). */
export async function kafkaAnswers(brokers: string[], expectBrokers = 1): Promise<boolean> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-services', brokers, connectionTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 0 });
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
export async function groupCoordinatorReady(brokers: string[]): Promise<boolean> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-services', brokers, connectionTimeoutMs: 2000, requestTimeoutMs: 5000, retries: 5 });
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

async function startNodes(nodes: KafkaNode[], heap: string, log: Log, expectBrokers: number): Promise<boolean> {
  const pids: { node: KafkaNode; pid: number }[] = [];
  let startedAny = false;
  for (const node of nodes) {
    const running = runningRecord(node.name);
    if (running) {
      pids.push({ node, pid: running.pid });
      continue;
    }
    log(`[services] ${node.name}: starting broker ${HOST}:${node.config.brokerPort} (log ${paths.log(node.name)})`);
    pids.push({ node, pid: await launchNode(node, heap, log) });
    startedAny = true;
  }
  for (const { node, pid } of pids) {
    await waitUntilHealthy(node.name, () => kafkaAnswers([`${HOST}:${node.config.brokerPort}`], expectBrokers), {
      timeoutMs: START_TIMEOUT_MS,
      pid,
      command: runningRecord(node.name)?.command ?? 'java kafka.Kafka',
    });
  }
  const first = nodes[0];
  if (startedAny && first) {
    const brokers = nodes.map((n) => `${HOST}:${n.config.brokerPort}`);
    await waitUntilHealthy(first.name, () => groupCoordinatorReady(brokers), { timeoutMs: START_TIMEOUT_MS, command: 'kafkajs admin.describeGroups (group coordinator ready)' });
  }
  return startedAny;
}

/**
 * Makes sure Kafka runs and answers; returns true when this call started it. A broker already
 * answering on the port (started by `gridwatch services up` or another run) is reused.
 */
export async function ensureKafka(opts: { cluster: boolean; log: Log }): Promise<boolean> {
  const brokers = kafkaBrokers(opts.cluster);
  const expect = opts.cluster ? 3 : 1;
  const nodes = opts.cluster ? clusterNodes() : [singleNode()];
  if (nodes.every((n) => runningRecord(n.name)) && (await kafkaAnswers(brokers, expect))) {
    opts.log(`[services] kafka: already running at ${brokers.join(',')}`);
    return false;
  }
  if (!nodes.some((n) => runningRecord(n.name)) && (await kafkaAnswers(brokers, expect))) {
    opts.log(`[services] kafka: a broker not started by gridwatch answers at ${brokers.join(',')}; using it`);
    return false;
  }
  await provisionKafka(opts.log);
  const t = Date.now();
  const started = await startNodes(nodes, opts.cluster ? '512m' : '768m', opts.log, expect);
  opts.log(`[services] kafka: ready at ${brokers.join(',')} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  return started;
}

/** Stops the single node (SIGTERM: controlled shutdown, data kept) or, with `cluster`, all three nodes. */
export async function stopKafkaNodes(cluster: boolean): Promise<string[]> {
  const names = (cluster ? clusterNodes() : [singleNode()]).map((n) => n.name);
  const stopped: string[] = [];
  await Promise.all(names.map(async (name) => {
    if (await stopByPidFile(name, STOP_GRACE_MS)) stopped.push(name);
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

/** Restarts one cluster node and waits until it answers again (the others keep running). */
export async function startKafkaBroker(nodeId: number, log: Log = () => undefined): Promise<void> {
  await startNodes([clusterNode(nodeId)], '512m', log, 1);
}

export function kafkaStatus(): { name: string; running: boolean; endpoint: string }[] {
  return [singleNode(), ...clusterNodes()].map((n) => ({
    name: n.name,
    running: runningRecord(n.name) !== undefined,
    endpoint: `${HOST}:${n.config.brokerPort}`,
  }));
}
