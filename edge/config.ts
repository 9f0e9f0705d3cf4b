import { Type, type Static } from '@sinclair/typebox';
import { CronSetting, GridwatchError, ID_PATTERN, envName, loadConfig, logLevelSetting, type ConfigSource } from '../shared/index.ts';
import { topicSettings } from '../shared/kafka/topics.ts';
import { kafkaSecuritySettings } from '../shared/kafka/security.ts';
import { resolveDetectConfig } from './detect/config.ts';
import { DetectSettingsSchema } from './detect/settings.ts';

// The edge writes every topic but central's hand-over state.
const { topicState: _centralOnly, ...edgeTopicSettings } = topicSettings;

/**
 * Configuration of `gridwatch edge`. Every key is the variable GRIDWATCH_<KEY_IN_SNAKE_CASE>
 * (`mqttPort` -> GRIDWATCH_MQTT_PORT) or the same key in the GRIDWATCH_CONFIG file. Read and
 * validated once at start; a bad value stops the gateway with a message naming the variable.
 */
const Port = (description: string, dflt?: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, description, ...(dflt === undefined ? {} : { default: dflt }) });
const Ms = (description: string, dflt: number, min = 0) => Type.Integer({ minimum: min, maximum: 10 * 365 * 86_400_000, default: dflt, description });

export const EdgeConfigSchema = Type.Object({
  edgeId: Type.String({ pattern: ID_PATTERN, default: 'edge-1', description: 'This gateway\'s id (key of grid.edge-status, part of every record)' }),
  substationId: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'Substation the gateway sits in (heartbeat key field; anomalies of unassigned meters)' })),
  logLevel: logLevelSetting,
  dataDir: Type.String({ minLength: 1, default: './data/edge', description: 'Directory of the SQLite outbox and detector state' }),
  topology: Type.Optional(Type.String({ minLength: 1, description: 'Topology file (CSV or JSON); without it every meter is unassigned' })),
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { default: ['127.0.0.1:9092'], description: 'Kafka bootstrap brokers, host:port,...' }),
  // TLS and SASL to Kafka (shared/kafka/security.ts; docs/security.md, "Kafka").
  ...kafkaSecuritySettings,
  ...edgeTopicSettings,
  kafkaTopicPartitions: Type.Integer({ minimum: 1, maximum: 1000, default: 6, description: 'Partitions of topics this gateway creates' }),
  kafkaReplicationFactor: Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Replication factor of topics this gateway creates' }),
  ensureTopics: Type.Boolean({ default: true, description: 'Create the grid.* topics at start if missing' }),

  // Intake
  mqttMode: Type.Union([Type.Literal('embedded'), Type.Literal('upstream')], { default: 'embedded', description: 'embedded aedes broker, or subscribe to an upstream broker' }),
  mqttHost: Type.String({ default: '0.0.0.0', description: 'Address the MQTT listeners bind to' }),
  mqttPort: Port('MQTT over TCP (0 = ephemeral)', 1883),
  mqttTlsPort: Type.Optional(Port('MQTT over TLS; needs mqttTlsCert and mqttTlsKey')),
  mqttTlsCert: Type.Optional(Type.String({ description: 'PEM certificate file for the TLS listener' })),
  mqttTlsKey: Type.Optional(Type.String({ description: 'PEM private key file for the TLS listener' })),
  mqttWsPort: Type.Optional(Port('MQTT over WebSocket (path any)')),
  mqttWssPort: Type.Optional(Port('MQTT over WebSocket over TLS (path any); uses mqttTlsCert, mqttTlsKey and the client-certificate settings')),
  mqttTlsCa: Type.Optional(Type.String({ description: 'PEM CA bundle that device client certificates must chain to (with mqttTlsClientCerts optional or required)' })),
  mqttTlsClientCerts: Type.Union([Type.Literal('off'), Type.Literal('optional'), Type.Literal('required')], {
    default: 'off',
    description: 'Client certificates on the TLS listeners: off; optional (a certificate from mqttTlsCa whose CN is a credentials entry with clientCert: true identifies the device, others use their password); required (no TLS session without one)',
  }),
  mqttUpstreamUrl: Type.Optional(Type.String({ secret: true, description: 'mqtt://user:pass@host:port of the upstream broker (mqttMode=upstream)' })),
  mqttCredentials: Type.Optional(Type.String({ description: 'JSON credentials file: { "<username>": { passwordHash: "scrypt$...", kind, id } }' })),
  mqttAllowAnonymous: Type.Boolean({ default: false, description: 'Accept clients without credentials (they may publish any meter/concentrator topic). Logged as a warning.' }),
  mqttMaxConnections: Type.Integer({ minimum: 1, default: 20_000, description: 'Concurrent MQTT connections; beyond it new sockets are closed' }),
  mqttMaxPacketBytes: Type.Integer({ minimum: 256, maximum: 268_435_455, default: 262_144, description: 'Largest MQTT packet accepted (a 500-reading array is ~100 KB)' }),
  mqttMaxTopicLength: Type.Integer({ minimum: 16, maximum: 65535, default: 256, description: 'Longest topic accepted' }),
  mqttMaxClientIdLength: Type.Integer({ minimum: 8, maximum: 65535, default: 128, description: 'Longest MQTT client id accepted' }),
  mqttMaxInflight: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5000, description: 'Publishes held at once (parsed, not yet acked) across all MQTT connections; a read takes only what fits under it (at least 4 KiB), and past it no connection is read until half are acked: bounds memory when the gateway falls behind (edge/ingest/inflight.ts)' }),
  mqttSocketBufferBytes: Type.Integer({ minimum: 16_384, maximum: 16_777_216, default: 262_144, description: 'Read buffer per MQTT connection: larger means bigger commit groups from fast publishers, more memory per busy connection' }),
  maxArrayReadings: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'Readings per concentrator message; a longer array is rejected whole' }),

  // Validation
  unknownMeterPolicy: Type.Union([Type.Literal('accept'), Type.Literal('reject')], {
    default: 'accept',
    description: 'With a topology loaded: accept an unknown meter as unassigned (flag `unassigned`), or reject it',
  }),
  clockSkewMs: Ms('Readings further than this ahead of the gateway clock are tagged clock_ahead', 300_000),
  clockBehindMs: Ms('Readings older than this are tagged clock_behind (backlogs are normal; days are not)', 86_400_000),
  clockRejectAheadMs: Ms('Readings further ahead than this are rejected (clock_absurd): no meter clock is a day fast', 86_400_000),
  clockRejectBehindMs: Ms('Readings older than this are rejected (clock_absurd)', 30 * 86_400_000),

  // Detection and durability
  defaultNominalVoltage: Type.Number({ exclusiveMinimum: 0, default: 230, description: 'Nominal voltage of unassigned meters' }),
  defaultNominalFrequency: Type.Union([Type.Literal(50), Type.Literal(60)], { default: 50, description: 'Nominal frequency of unassigned meters' }),
  defaultReadingIntervalMs: Ms('Expected interval of meters without readingIntervalMs in the topology', 15_000, 100),
  diskBudgetBytes: Type.Integer({ minimum: 1_048_576, default: 1_073_741_824, description: 'Outbox disk budget; beyond it the oldest readings are evicted (as gaps)' }),
  sqliteSynchronous: Type.Union([Type.Literal('NORMAL'), Type.Literal('FULL')], { default: 'FULL', description: 'SQLite synchronous level (FULL: a PUBACKed reading survives power loss)' }),
  commitMaxDelayMs: Type.Integer({ minimum: 0, maximum: 1000, default: 2, description: 'Group commit: longest a reading waits for its commit while commits are quick (after a slower commit the next group waits as long as it took, at most 20 ms)' }),
  readingsEncoding: Type.Union([Type.Literal('json'), Type.Literal('avro')], {
    default: 'json',
    description: 'Value encoding of grid.readings: json (the v1 JSON contract) or avro (Avro single-object encoding, contracts/v1/forwarded-reading.avsc: about a third of the bytes on the WAN link; central reads both; other consumers must decode it, contracts/README.md)',
  }),
  readingsPerRecord: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 1,
    description: 'Readings in one grid.readings record: 1 (one reading per record, the v1 form every consumer reads) or up to N readings of one partition per record (contract forwarded-reading-batch/v1: JSON lines, or the Avro batch schema; a fifth of the producer CPU per reading; central reads both forms; other consumers must know the batch form, contracts/README.md "Several readings per record")',
  }),
  // Forwarding (edge/forward): what one Kafka request carries, so what the WAN link pays per reading.
  forwardClient: Type.Union([Type.Literal('kafkajs'), Type.Literal('platformatic'), Type.Literal('platformatic-thread')], { default: 'kafkajs', description: 'Kafka producer client of the forwarder: kafkajs; @platformatic/kafka (about half the CPU per record and more records per second on the same link); or platformatic-thread, the same on a thread of its own, so its encoding, gzip and TLS do not hold MQTT intake (edge/forward/README.md "Two producer clients"); all idempotent with acks=all, the same TLS/SASL and the same partition per meter' }),
  forwardCompression: Type.Union([Type.Literal('gzip'), Type.Literal('zstd'), Type.Literal('none')], { default: 'gzip', description: 'Compression of the record batches sent to Kafka: gzip; zstd (fewer bytes on the WAN link, less CPU; brokers from Kafka 2.1, every gridwatch consumer reads it, other consumers need a zstd codec); none' }),
  forwardZstdLevel: Type.Integer({ minimum: 1, maximum: 19, default: 9, description: 'zstd level with forwardCompression=zstd: 9 is where bytes per reading stop falling for the CPU (edge/forward/README.md)' }),
  forwardBatchMax: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000, description: 'Most records in one send to Kafka (split across the partitions of a topic)' }),
  forwardLingerMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 100, description: 'Longest readings wait for forwardLingerRecords of them before a send (0: no waiting); control records never wait' }),
  forwardLingerRecords: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'Readings that make a send go before forwardLingerMs (at most forwardBatchMax): more per send is fewer bytes per reading after compression' }),
  forwardStallMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 20_000, description: 'A send to Kafka not acknowledged for this long reports Kafka as not connected (readiness check kafkaConnected, the service status): a black-holed link keeps its TCP connection open for minutes while nothing is carried' }),
  forwardLiveTailAbove: Type.Integer({ minimum: 0, default: 0, description: 'Waiting readings above which a backlog drain sends the live tail (readings committed since the drain began) ahead of the backlog, so live data reaches Kafka within a round (edge/forward/README.md "Live data during a drain"); 0: off, the outbox leaves in order. On, a meter\'s live readings can reach Kafka before its older backlog (central takes late readings); for example 4 x forwardBatchMax' }),
  commitMaxRecords: Type.Integer({ minimum: 1, maximum: 100_000, default: 2000, description: 'Group commit: records per transaction' }),
  deadLetterMax: Type.Integer({ minimum: 10, default: 10_000, description: 'Dead letters kept (oldest dropped)' }),
  detectTickMs: Ms('How often the dropout timer runs', 1000, 50),

  // Housekeeping and operations
  heartbeatCron: CronSetting('node-cron schedule of the grid.edge-status heartbeat', '*/10 * * * * *'),
  // Detector checkpoints are not on a schedule: the intake writes them in the commit of the readings
  // (a rolling share of the meters every few hundred records, edge/detect/README.md).
  budgetCron: CronSetting('node-cron schedule of outbox disk-budget enforcement (oldest readings evicted as gaps beyond diskBudgetBytes), besides the check after every group commit', '*/30 * * * * *', { formerly: 'checkpointCron' }),
  walCheckpointCron: CronSetting('node-cron schedule of passive SQLite WAL checkpoints', '0 * * * * *'),
  retentionCron: CronSetting('node-cron schedule of dead-letter and gap retention', '0 */10 * * * *'),
  deadLetterRetentionMs: Ms('Dead letters older than this are deleted (besides the deadLetterMax cap)', 7 * 86_400_000),
  gapRetentionMs: Ms('Gap log rows older than this are deleted (they were forwarded on grid.gaps)', 7 * 86_400_000),
  httpHost: Type.String({ default: '127.0.0.1', description: 'Address of the /metrics, /healthz, /readyz listener (unauthenticated: this host only by default; 0.0.0.0 for a remote scraper on a trusted network)' }),
  httpPort: Port('Port of /metrics, /healthz, /readyz (0 = ephemeral)', 9464),
  drainTimeoutMs: Ms('On SIGTERM, how long to keep forwarding the outbox to Kafka', 10_000),

  // The detector's thresholds (edge/detect/README.md): GRIDWATCH_DETECT_*, file section `detect`.
  detect: DetectSettingsSchema,
});
export type EdgeConfig = Static<typeof EdgeConfigSchema>;

/** Reads and checks the whole configuration, the combinations of settings and the detector's cross-field rules included, before anything opens. */
export function loadEdgeConfig(source?: ConfigSource): EdgeConfig {
  const c = loadConfig(EdgeConfigSchema, source);
  const refuse = (message: string): never => {
    throw new GridwatchError('CONFIG_INVALID', message);
  };
  if (c.mqttMode === 'upstream' && !c.mqttUpstreamUrl) refuse(`${envName('mqttUpstreamUrl')}: required with ${envName('mqttMode')}=upstream`);
  if (c.mqttTlsPort !== undefined && !(c.mqttTlsCert && c.mqttTlsKey)) refuse(`${envName('mqttTlsPort')} needs ${envName('mqttTlsCert')} and ${envName('mqttTlsKey')}`);
  // (Whether the credentials file holds any device is checked when the gateway reads it.)
  return { ...c, detect: resolveSection('detect', () => resolveDetectConfig(c.detect)) };
}

function resolveSection<T>(section: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (err) {
    if (!(err instanceof GridwatchError)) throw err;
    throw new GridwatchError('CONFIG_INVALID', `invalid configuration:\n  ${section} (GRIDWATCH_${section.toUpperCase()}_* or file section "${section}"): ${err.message}`, { cause: err });
  }
}
