// The real-server harness: provisions Kafka, MinIO, InfluxDB and Mosquitto into a cache outside the
// repository and runs them on loopback. Used by `gridwatch services` and by the integration tests'
// global setup. Servers are detached: they outlive the process that started them, and only
// `stopServices` (through the pid files of what was started) stops them.
import { GridwatchError } from '../../shared/errors.ts';
import { ensureDebianPackages, toolPath } from './debian.ts';
import { createInfluxDatabase, ensureInfluxdb, influxUrl, stopInfluxdb } from './influxdb.ts';
import { grantKafkaAcls } from './kafka-acl.ts';
import { kafkaPki } from './kafka-pki.ts';
import * as kafka from './kafka.ts';
import { ALL_SERVICES, HOST, INFLUX_AUTH, MINIO_CREDENTIALS, PORTS, cacheDir, type ServiceName } from './layout.ts';
import { ensureMinio, stopMinio } from './minio.ts';
import { ensureMosquitto, mqttUrl, stopMosquitto } from './mosquitto.ts';
import { type Log, spawnedToken } from './process.ts';
import { ensureToxiproxy, stopToxiproxy, toxiproxyUrl } from './toxiproxy.ts';

export type { ServiceName } from './layout.ts';
export { ALL_SERVICES } from './layout.ts';
export { servicesCommand } from './cli.ts';

/** One Kafka principal of the harness: SASL user and password file, and its client certificate (mTLS). */
export interface KafkaPrincipal {
  username: string;
  passwordFile: string;
  certFile: string;
  keyFile: string;
}

export interface ServiceEndpoints {
  /** The PLAINTEXT listener: only for the tests that prove it refused and the bench's yardstick (KAFKA_PLAINTEXT_LISTENER in layout.ts). */
  kafkaBrokers: string[];
  /** The SASL_SSL listener, its CA, and the principals' credentials (files in <cache>/etc/kafka-pki). */
  kafkaSecure?: { brokers: string[]; caFile: string; principals: Record<'admin' | 'edge' | 'central', KafkaPrincipal> };
  s3: { endPoint: string; port: number; useSSL: boolean; accessKey: string; secretKey: string; url: string };
  influx: { url: string; token: string; org: string };
  mqttUrl: string;
  /** toxiproxy's HTTP API (the reliability tests' fault proxy). */
  toxiproxyUrl?: string;
  cacheDir: string;
}

export interface EnsureOptions {
  services?: ServiceName[];
  /** Three-node Kafka cluster (19192/19292/19392, RF 3, min ISR 2) instead of the single node. */
  kafkaCluster?: boolean;
  log?: (line: string) => void;
}

const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);

function kafkaPrincipals(): Record<'admin' | 'edge' | 'central', KafkaPrincipal> {
  const pki = kafkaPki();
  const one = (username: 'admin' | 'edge' | 'central'): KafkaPrincipal => ({ username, ...pki.user(username) });
  return { admin: one('admin'), edge: one('edge'), central: one('central') };
}

export function serviceEndpoints(opts: { kafkaCluster?: boolean } = {}): ServiceEndpoints {
  return {
    kafkaBrokers: kafka.kafkaBrokers(opts.kafkaCluster ?? false),
    kafkaSecure: { brokers: kafka.kafkaSecureBrokers(opts.kafkaCluster ?? false), caFile: kafkaPki().caFile, principals: kafkaPrincipals() },
    s3: {
      endPoint: HOST,
      port: PORTS.minio.api,
      useSSL: false,
      accessKey: MINIO_CREDENTIALS.accessKey,
      secretKey: MINIO_CREDENTIALS.secretKey,
      url: `http://${HOST}:${PORTS.minio.api}`,
    },
    influx: { url: influxUrl, token: INFLUX_AUTH.token, org: INFLUX_AUTH.org },
    mqttUrl,
    toxiproxyUrl,
    cacheDir: cacheDir(),
  };
}

/**
 * Provisions (if needed) and starts (if not answering) the given services, and waits until each
 * answers. Services run in parallel; if any fails, the others still finish and the error lists
 * every failure. `started` names the services this call started (a caller stops only those).
 */
export async function ensureServices(opts: EnsureOptions = {}): Promise<{ endpoints: ServiceEndpoints; started: ServiceName[] }> {
  const log = opts.log ?? defaultLog;
  const services = opts.services ?? [...ALL_SERVICES];
  const cluster = opts.kafkaCluster ?? false;
  const t = Date.now();
  const steps: Record<ServiceName, () => Promise<boolean>> = {
    kafka: () => kafka.ensureKafka({ cluster, log }),
    minio: () => ensureMinio(log),
    influxdb: () => ensureInfluxdb(log),
    mosquitto: () => ensureMosquitto(log),
    toxiproxy: () => ensureToxiproxy(log),
  };
  const tools = ensureDebianPackages(['mosquitto', 'mosquittoClients', 'kcat', 'prometheus'], log).then(() => false);
  const results = await Promise.allSettled([tools, ...services.map((s) => steps[s]())]);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    const message = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
    throw new GridwatchError('PROVISION_FAILED', `services: ${failures.length} step(s) failed:\n${message}`, { cause: failures[0] });
  }
  const started = services.filter((_, i) => {
    const r = results[i + 1];
    return r?.status === 'fulfilled' && r.value === true;
  });
  log(`[services] ready in ${((Date.now() - t) / 1000).toFixed(1)}s${started.length ? ` (started ${started.join(', ')})` : ''}`);
  return { endpoints: serviceEndpoints({ kafkaCluster: cluster }), started };
}

/**
 * Stops the named services (default all), but only processes this harness started (pid files).
 * For Kafka, `kafkaCluster` narrows the stop to the cluster (true) or the single node (false);
 * by default both go. `onlySpawnedHere` (a test run's teardown): only servers this process
 * spawned and whose pid files are still the ones it wrote, never one another run started.
 */
export async function stopServices(names: ServiceName[] = [...ALL_SERVICES], opts: { kafkaCluster?: boolean; onlySpawnedHere?: boolean } = {}): Promise<void> {
  const own = (name: string, stop: (o: { token?: string }) => Promise<unknown>) => async (): Promise<unknown> => {
    if (!opts.onlySpawnedHere) return stop({});
    const token = spawnedToken(name);
    return token === undefined ? false : stop({ token });
  };
  const only = opts.onlySpawnedHere ? { onlySpawnedHere: true } : {};
  const stops: Record<ServiceName, () => Promise<unknown>> = {
    kafka: async () => {
      if (opts.kafkaCluster !== false) await kafka.stopKafkaNodes(true, only);
      if (opts.kafkaCluster !== true) await kafka.stopKafkaNodes(false, only);
    },
    minio: own('minio', stopMinio),
    influxdb: own('influxdb', stopInfluxdb),
    mosquitto: own('mosquitto', stopMosquitto),
    toxiproxy: own('toxiproxy', stopToxiproxy),
  };
  await Promise.all(names.map((n) => stops[n]()));
}

/**
 * The GRIDWATCH_KAFKA_* variables for one principal over SASL_SSL (SCRAM-SHA-512 and its client
 * certificate): what an edge (`edge`), central (`central`) or tool (`admin`) is started with.
 */
export function kafkaPrincipalEnv(e: Pick<ServiceEndpoints, 'kafkaSecure'>, principal: 'admin' | 'edge' | 'central'): Record<string, string> {
  if (!e.kafkaSecure) throw new GridwatchError('CONFIG_INVALID', 'these endpoints have no SASL_SSL listener');
  const p = e.kafkaSecure.principals[principal];
  return {
    GRIDWATCH_KAFKA_BROKERS: e.kafkaSecure.brokers.join(','),
    GRIDWATCH_KAFKA_TLS: 'true',
    GRIDWATCH_KAFKA_TLS_CA_FILE: e.kafkaSecure.caFile,
    GRIDWATCH_KAFKA_TLS_CERT_FILE: p.certFile,
    GRIDWATCH_KAFKA_TLS_KEY_FILE: p.keyFile,
    GRIDWATCH_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    GRIDWATCH_KAFKA_SASL_USERNAME: p.username,
    GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: p.passwordFile,
  };
}

/**
 * The GRIDWATCH_* variables a program needs to reach the servers. Kafka is the SASL_SSL listener as
 * the admin principal (SCRAM-SHA-512 and its client certificate for mutual TLS), the password by
 * file so it never sits in the environment. `kafkaSecure: false` is the explicit opt-out to the
 * plaintext listener (the caller says so in its output: `services env --kafka-plaintext`,
 * GRIDWATCH_TEST_KAFKA_SECURE=false).
 */
export function endpointsToEnv(e: ServiceEndpoints, opts: { kafkaSecure?: boolean } = {}): Record<string, string> {
  const secure = opts.kafkaSecure ?? true;
  if (secure && !e.kafkaSecure) throw new GridwatchError('CONFIG_INVALID', 'endpointsToEnv: these endpoints have no SASL_SSL listener (pass kafkaSecure: false for the plaintext one)');
  const kafkaEnv = secure ? kafkaPrincipalEnv(e, 'admin') : { GRIDWATCH_KAFKA_BROKERS: e.kafkaBrokers.join(',') };
  return {
    ...kafkaEnv,
    GRIDWATCH_S3_ENDPOINT: e.s3.url,
    GRIDWATCH_S3_ACCESS_KEY: e.s3.accessKey,
    GRIDWATCH_S3_SECRET_KEY: e.s3.secretKey,
    GRIDWATCH_INFLUX_URL: e.influx.url,
    GRIDWATCH_INFLUX_TOKEN: e.influx.token,
    GRIDWATCH_INFLUX_ORG: e.influx.org,
    GRIDWATCH_MQTT_URL: e.mqttUrl,
    ...(e.toxiproxyUrl ? { GRIDWATCH_TOXIPROXY_URL: e.toxiproxyUrl } : {}),
    GRIDWATCH_CACHE_DIR: e.cacheDir,
  };
}

export { kafkaAcls } from './kafka-acl.ts';
export { KAFKA_PLAINTEXT_LISTENER } from './layout.ts';
export { issueCertificate, makeCertificateAuthority } from './kafka-pki.ts';
export { startStandaloneKafka } from './kafka.ts';

/**
 * Grants the edge and central principals their ACLs for topics named `<topicPrefix>grid.*` and
 * central's consumer group `centralGroup` (prefixed: `<group>.instance.<id>` is covered). What an
 * operator does once per deployment prefix; the plain names are granted at provisioning.
 */
export async function grantKafkaPrefix(opts: { topicPrefix: string; centralGroup?: string; kafkaCluster?: boolean }): Promise<void> {
  await grantKafkaAcls(kafka.kafkaSecureBrokers(opts.kafkaCluster ?? false), kafkaPki(), { topicPrefix: opts.topicPrefix, ...(opts.centralGroup ? { centralGroup: opts.centralGroup } : {}) });
}

/** Stops the single Kafka node with a controlled shutdown; its data stays for `startKafka`. */
export function stopKafka(): Promise<void> {
  return kafka.stopKafka();
}

/** Starts the single Kafka node again (same data) and waits until it answers. */
export function startKafka(): Promise<void> {
  return kafka.startKafka();
}

/** Stops one node (1, 2 or 3) of the Kafka cluster. */
export function stopKafkaBroker(nodeId: number): Promise<void> {
  return kafka.stopKafkaBroker(nodeId);
}

/** Starts one node of the Kafka cluster again and waits until it answers (at most `timeoutMs`, default 120 s). */
export function startKafkaBroker(nodeId: number, timeoutMs?: number): Promise<void> {
  return kafka.startKafkaBroker(nodeId, undefined, timeoutMs);
}

/** Creates InfluxDB database `bucket`; returns the bucket name for @influxdata/influxdb-client (`bucket/autogen`). */
export function createInfluxBucket(e: ServiceEndpoints, bucket: string): Promise<string> {
  return createInfluxDatabase(e.influx.url, bucket);
}

/** Path of promtool (Debian's prometheus package, installed at the pinned version if missing). */
export function promtoolPath(): Promise<string> {
  return toolPath('prometheus', defaultLog);
}

/** Path of docker-compose (Debian, pinned), which validates docker-compose.yml as a user's machine would (no engine needed). */
export function composePath(): Promise<string> {
  return toolPath('docker-compose', defaultLog);
}

/** Paths of mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients, pinned). */
export async function mosquittoClientPaths(): Promise<{ pub: string; sub: string }> {
  const pub = await toolPath('mosquittoClients', defaultLog);
  return { pub, sub: pub.replace(/_pub$/, '_sub') };
}

/** Path of kcat (Debian, pinned), for poking at topics by hand or from scripts. */
export function kcatPath(): Promise<string> {
  return toolPath('kcat', defaultLog);
}

/** Java classpath of Kafka's own jars (provisioned from Maven Central if missing), for checking our Kafka logic against Kafka's. */
export async function kafkaClasspath(): Promise<string> {
  await kafka.provisionKafka(defaultLog);
  return `${kafka.kafkaJarDir()}/*`;
}
