// Who may do what on the harness's Kafka: SCRAM credentials for each principal and the ACLs that
// Kafka's StandardAuthorizer enforces. Principals (see docs/security.md, "Kafka"):
//   User:edge     writes the five topics an edge gateway produces; reads nothing, creates nothing
//   User:central  reads every grid.* topic it consumes (grid.models: the model registry), writes grid.events, grid.central-state,
//                 the operators' grid.event-actions and grid.maintenance (and grid.anomalies: its
//                 learned scorer's pattern anomalies),
//                 creates its topics, and uses the consumer groups named after its group id
//   User:admin    super user, for tools, tests and the harness itself
//   User:broker   super user, the brokers themselves (controller mTLS, inter-broker PLAIN)
// Topic names with a deployment prefix (`demo-<id>.grid.readings`) get their own grants through
// grantKafkaPrefix(): Kafka's PREFIXED patterns match only the start of a name, and the prefix is
// the start, so each prefix is granted explicitly with LITERAL patterns, the tightest there is.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import kafkajs, { type AclEntry } from 'kafkajs';
import { TOPICS } from '../../shared/contracts/index.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import { kafkaSecurity, type KafkaSecurity } from '../../shared/kafka/security.ts';
import { KAFKA_USERS, type KafkaPki } from './kafka-pki.ts';
import { paths } from './layout.ts';
import { type Log, runCommand } from './process.ts';

const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes: Res, ResourcePatternTypes } = kafkajs;

/** Topics an edge gateway produces to (edge/forward). */
export const EDGE_WRITES = [TOPICS.readings, TOPICS.anomalies, TOPICS.edgeStatus, TOPICS.gaps, TOPICS.topology] as const;
/** Topics central consumes (central/pipeline.ts), and the two it produces. */
// grid.models: the model registry's record (central/learn/registry.ts); admin (`gridwatch models`) writes it.
export const CENTRAL_READS = [TOPICS.readings, TOPICS.anomalies, TOPICS.edgeStatus, TOPICS.gaps, TOPICS.topology, TOPICS.events, 'grid.central-state', 'grid.event-actions', 'grid.maintenance', 'grid.models'] as const;
// grid.anomalies: the learned scorer's `pattern` anomalies (central/learn/part.ts).
export const CENTRAL_WRITES = [TOPICS.events, 'grid.central-state', 'grid.event-actions', 'grid.maintenance', TOPICS.anomalies] as const;
export const DEFAULT_CENTRAL_GROUP = 'gridwatch-central';

const allow = (principal: string, resourceType: number, resourceName: string, operation: number, prefixed = false): AclEntry => ({
  resourceType,
  resourceName,
  resourcePatternType: prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
  principal: `User:${principal}`,
  host: '*',
  operation,
  permissionType: AclPermissionTypes.ALLOW,
});

/**
 * The ACLs of the edge and central principals for one deployment. `topicPrefix` is what
 * GRIDWATCH_KAFKA_TOPIC_PREFIX puts before each name ('' for the plain names); `centralGroup` is
 * central's consumer group id, granted as a PREFIXED group because each central instance also runs
 * `<group>.anomalies` and `<group>.instance.<id>`. Writing implies describing; in Kafka 4 it also implies the idempotent
 * producer (IdempotentWrite on the cluster is no longer needed).
 */
export function kafkaAcls(opts: { topicPrefix?: string; centralGroup?: string; edgeUser?: string; centralUser?: string } = {}): AclEntry[] {
  const p = opts.topicPrefix ?? '';
  const edge = opts.edgeUser ?? 'edge';
  const central = opts.centralUser ?? 'central';
  return [
    ...EDGE_WRITES.map((t) => allow(edge, Res.TOPIC, p + t, Op.WRITE)),
    ...CENTRAL_READS.map((t) => allow(central, Res.TOPIC, p + t, Op.READ)),
    ...CENTRAL_READS.map((t) => allow(central, Res.TOPIC, p + t, Op.CREATE)),
    ...CENTRAL_WRITES.map((t) => allow(central, Res.TOPIC, p + t, Op.WRITE)),
    allow(central, Res.GROUP, opts.centralGroup ?? DEFAULT_CENTRAL_GROUP, Op.READ, true),
  ];
}

/** The harness's own connection: admin over SASL_SSL with PLAIN, which works before any SCRAM user exists. */
export function harnessSecurity(pki: KafkaPki): KafkaSecurity {
  const admin = pki.user('admin');
  return kafkaSecurity({ kafkaTls: true, kafkaTlsCaFile: pki.caFile, kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'admin', kafkaSaslPasswordFile: admin.passwordFile });
}

/** Grants `kafkaAcls(opts)` as admin on the SASL_SSL brokers (idempotent: an existing ACL is not duplicated). */
export async function grantKafkaAcls(brokers: string[], pki: KafkaPki, opts: Parameters<typeof kafkaAcls>[0] = {}): Promise<void> {
  const security = harnessSecurity(pki);
  const admin = createKafkaClient({ clientId: 'gridwatch-services-acl', brokers, security }).admin();
  try {
    await admin.connect();
    await admin.createAcls({ acl: kafkaAcls(opts) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const SCRAM_TOOL = fileURLToPath(new URL('./KafkaScramUsers.java', import.meta.url));

/** Creates (or replaces) every principal's SCRAM-SHA-512/256 credentials from its password file. */
export async function setScramCredentials(brokers: string[], pki: KafkaPki, jarDir: string): Promise<void> {
  const admin = pki.user('admin');
  const props = join(pki.dir, 'harness-admin.properties');
  const password = readFileSync(admin.passwordFile, 'utf8').trim();
  writeFileSync(props, [
    `bootstrap.servers=${brokers.join(',')}`,
    'security.protocol=SASL_SSL',
    'sasl.mechanism=PLAIN',
    `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${password}";`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${pki.caFile}`,
    'request.timeout.ms=20000',
    '',
  ].join('\n'), { mode: 0o600 });
  await runCommand('java', ['-Xmx128m', '-cp', `${jarDir}/*`, SCRAM_TOOL, props, ...KAFKA_USERS.map((u) => `${u}=${pki.user(u).passwordFile}`)], {
    logFile: paths.log('kafka-security'),
    what: 'kafka: setting SCRAM credentials',
  });
}

/** A digest of what applyKafkaSecurity sets (passwords included, hashed), to skip it when nothing changed. */
function securityDigest(pki: KafkaPki): string {
  const h = createHash('sha256');
  for (const u of KAFKA_USERS) h.update(`${u}\0${readFileSync(pki.user(u).passwordFile, 'utf8').trim()}\0`);
  h.update(JSON.stringify(kafkaAcls()));
  return h.digest('hex');
}

/**
 * SCRAM users and the base ACLs, once per cluster (and again when a password or the ACL set
 * changes). The marker lives with the cluster's data because that is where Kafka keeps both.
 */
export async function applyKafkaSecurity(opts: { brokers: string[]; pki: KafkaPki; jarDir: string; clusterDir: string; log: Log }): Promise<void> {
  const marker = join(opts.clusterDir, 'security-applied');
  const digest = securityDigest(opts.pki);
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === digest) return;
  const t = Date.now();
  await setScramCredentials(opts.brokers, opts.pki, opts.jarDir);
  await grantKafkaAcls(opts.brokers, opts.pki);
  writeFileSync(marker, `${digest}\n`);
  opts.log(`[services] kafka: SCRAM users ${KAFKA_USERS.join(', ')} and ACLs for edge and central set in ${((Date.now() - t) / 1000).toFixed(1)}s`);
}
