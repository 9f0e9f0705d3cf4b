import { Type, type Static } from '@sinclair/typebox';
import { GridwatchError, envName, loadConfig, logLevelSetting, type ConfigSource } from '../shared/index.ts';
import { topicSettings } from '../shared/kafka/topics.ts';
import { workflowTopicSettings } from './workflow/topics.ts';
import { kafkaSecuritySettings } from '../shared/kafka/security.ts';
import { resolveConfig as resolveCorrelateConfig } from './correlate/config.ts';
import { CorrelateSettingsSchema } from './correlate/settings.ts';

/**
 * Configuration of `gridwatch central`. Every key is the variable GRIDWATCH_<KEY_IN_SNAKE_CASE>
 * (`httpPort` -> GRIDWATCH_HTTP_PORT) or the same key in the GRIDWATCH_CONFIG file. Read and
 * validated once at start; a bad value stops the aggregator with a message naming the variable.
 */
const Ms = (description: string, dflt: number, min = 0) => Type.Integer({ minimum: min, maximum: 10 * 365 * 86_400_000, default: dflt, description });
const Count = (description: string, dflt: number, min = 1) => Type.Integer({ minimum: min, maximum: 100_000_000, default: dflt, description });

export const CentralConfigSchema = Type.Object({
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { default: ['127.0.0.1:9092'], description: 'Kafka bootstrap brokers, host:port,...' }),
  // TLS and SASL to Kafka (shared/kafka/security.ts; docs/security.md, "Kafka").
  ...kafkaSecuritySettings,
  centralGroup: Type.String({ minLength: 1, maxLength: 200, default: 'gridwatch-central', description: 'Consumer group shared by all central instances' }),
  instanceId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'This instance\'s name (client id, per-instance broadcast group); default host-pid' })),
  httpHost: Type.String({ default: '0.0.0.0', description: 'Address the HTTP API binds to' }),
  httpPort: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP API, SSE, /metrics, /healthz, /readyz (0 = ephemeral)' }),
  httpTlsCertFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate chain of the HTTP listener; with httpTlsKeyFile it serves HTTPS only' })),
  httpTlsKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the HTTP listener' })),

  // API authentication (central/README.md, "Authentication"): every route but /healthz, /readyz and the console's files needs a bearer token.
  apiAuth: Type.Union([Type.Literal('on'), Type.Literal('none')], { default: 'on', description: 'on: bearer tokens required; none: anyone who reaches the listener may read everything (logged as a warning, shown on the console)' }),
  apiTokensFile: Type.Optional(Type.String({ minLength: 1, description: 'API keys (hashed, each with a role), written by `gridwatch credentials add-token`; reloaded on change and on SIGHUP' })),
  metricsToken: Type.Optional(Type.String({ minLength: 16, description: 'A bearer token that may read /metrics only (Prometheus); secret' })),
  oidcIssuer: Type.Optional(Type.String({ pattern: '^https?://', description: 'OIDC issuer whose JWTs are accepted as bearer tokens (exact `iss`)' })),
  oidcAudience: Type.Optional(Type.String({ minLength: 1, description: 'Required `aud` of OIDC tokens (needed with oidcIssuer)' })),
  oidcJwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'JWKS of the issuer; default: jwks_uri of its /.well-known/openid-configuration' })),
  oidcRoleClaim: Type.String({ minLength: 1, default: 'gridwatch_role', description: 'Claim holding viewer|operator|admin (string or array; dots reach into objects, e.g. realm_access.roles)' }),
  oidcClockSkewSec: Type.Integer({ minimum: 0, maximum: 300, default: 60, description: 'Clock difference tolerated on exp/nbf/iat of OIDC tokens' }),
  oidcConsoleClientId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Public client id of the console at the issuer: the console signs in with the authorization-code flow and PKCE (its redirect URI: the console address + callback.html); unset: it asks for a pasted token' })),
  oidcConsoleScope: Type.String({ minLength: 1, maxLength: 500, pattern: '^[!-~]+( [!-~]+)*$', default: 'openid email', description: 'Scopes the console asks for (space-separated); the access token must be a JWT for oidcAudience' }),
  apiAuthMaxFailures: Type.Integer({ minimum: 1, maximum: 10_000, default: 20, description: 'Refused credentials per client address per window before it gets 429' }),
  apiAuthFailureWindowMs: Ms('Window of apiAuthMaxFailures', 60_000, 1000),
  topology: Type.Optional(Type.String({ minLength: 1, description: 'Topology file (CSV or JSON) loaded at start; grid.topology updates it' })),
  ensureTopics: Type.Boolean({ default: true, description: 'Create the topics central reads and writes when missing' }),
  logLevel: logLevelSetting,

  // Topic names: <kafkaTopicPrefix> + the v1 name, each overridable (shared/kafka/topics.ts).
  ...topicSettings,
  ...workflowTopicSettings,

  // Archive: S3/MinIO when s3Endpoint is set, else a local directory when archiveDir is set, else none.
  s3Endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'MinIO/S3 endpoint URL, http(s)://host:port' })),
  s3AccessKey: Type.Optional(Type.String({ secret: true, description: 'S3 access key' })),
  s3SecretKey: Type.Optional(Type.String({ secret: true, description: 'S3 secret key' })),
  s3CaFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle that signed the https:// S3 endpoint\'s certificate (default: the system CAs)' })),
  s3Bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', default: 'gridwatch-archive', description: 'S3 bucket of the archive' }),
  archiveDir: Type.Optional(Type.String({ minLength: 1, description: 'Local directory archive, used when no S3 endpoint is set' })),
  archiveMaxRecords: Count('Flush a partition\'s archive buffer at this many records', 50_000),
  archiveMaxAgeMs: Ms('... or when its oldest record is this old', 60_000, 100),
  archiveMaxBufferedBytes: Type.Integer({ minimum: 1_048_576, maximum: 64 * 1024 ** 3, default: 256 * 1024 ** 2, description: 'Byte budget of the records the archive holds in memory; past it the group consumer pauses the partitions that add to it until the sink catches up' }),
  influxUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'InfluxDB URL; without it no points are written' })),
  influxToken: Type.Optional(Type.String({ secret: true, description: 'InfluxDB token' })),
  influxCaFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle that signed the https:// InfluxDB\'s certificate (default: the system CAs)' })),
  influxOrg: Type.String({ default: 'gridwatch', description: 'InfluxDB organisation' }),
  influxBucket: Type.String({ default: 'gridwatch', description: 'InfluxDB bucket' }),

  // Notifier
  webhookUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'POST grid events here (JSON); none = no notifications' })),
  webhookSecret: Type.Optional(Type.String({ secret: true, minLength: 16, description: 'HMAC-SHA256 key signing every delivery (X-Gridwatch-Signature: t=<unix>,v1=<hex>); without it deliveries are unsigned, logged as a warning' })),
  webhookCaFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle that signed the https:// webhook receiver\'s certificate (default: the system CAs)' })),
  webhookMinSeverity: Type.Union([Type.Literal('info'), Type.Literal('minor'), Type.Literal('major'), Type.Literal('critical')], { default: 'major', description: 'Lowest severity notified' }),
  webhookQueueSize: Count('Notifications waiting; when full the oldest is dropped and counted', 1000),
  webhookMaxAttempts: Count('Attempts per notification (exponential backoff between)', 6),
  webhookTimeoutMs: Ms('Timeout of one webhook request', 5000, 100),

  // Memory bounds of the API views
  recentEvents: Count('Closed grid events kept for the API (open ones are always kept)', 5000),
  recentAnomalies: Count('Anomalies kept for the API', 20_000),
  readingsPerMeter: Count('Recent readings kept per meter', 32),
  metersTracked: Count('Meters with recent readings kept (least recently updated evicted)', 200_000),
  sseMaxClients: Count('Concurrent /api/stream clients', 200),

  // Timers
  tickMs: Ms('Correlator timer (silence, comms loss, closing)', 1000, 10),
  commitIntervalMs: Ms('How often due archive buffers are flushed and their offsets committed', 1000, 10),
  lagIntervalMs: Ms('How often consumer lag is measured', 15_000, 100),

  // Learned scoring beside the rules (central/learn/README.md): a model scores windows of readings.
  learnedScoring: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'on: the model in learnedModelDir scores grid.readings and produces `pattern` anomalies to grid.anomalies; off: rules only' }),
  learnedModelDir: Type.Optional(Type.String({ minLength: 1, description: 'Directory with model.onnx and manifest.json; default the model shipped in models/default' })),
  learnedLateMs: Ms('Grace for late readings of the learned scorer: a feature window closes as soon as every meter in it has sent its last reading of the window; one that is not complete (a meter missed a reading, or left) closes once the newest reading is this far past its end, and later readings for it are counted late', 30_000),
  learnedRegistry: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'on: follow the model registry (the compacted topic grid.models names the active, shadow and canary versions; their files come from modelsBucket on s3Endpoint); without a record learnedModelDir serves; off: learnedModelDir only' }),
  modelsBucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', default: 'models', description: 'S3 bucket of the model registry\'s files (`gridwatch models upload`)' }),
  topicModels: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,249}$', description: 'Model registry topic (compacted, one record: active, shadow, canary); default <kafkaTopicPrefix>grid.models' })),

  // The correlator's thresholds (central/correlate/README.md): GRIDWATCH_CORRELATE_*, file section `correlate`.
  correlate: CorrelateSettingsSchema,
});
export type CentralConfig = Static<typeof CentralConfigSchema>;

/** Reads and checks the whole configuration, the combinations of settings and the correlator's cross-field rules included, before anything opens. */
export function loadCentralConfig(source?: ConfigSource): CentralConfig {
  const c = loadConfig(CentralConfigSchema, source);
  if (c.influxUrl && !c.s3Endpoint && !c.archiveDir) {
    throw new GridwatchError('CONFIG_INVALID', `${envName('influxUrl')}: InfluxDB points are written by the archiver; set ${envName('s3Endpoint')} or ${envName('archiveDir')} too`);
  }
  try {
    return { ...c, correlate: resolveCorrelateConfig(c.correlate) };
  } catch (err) {
    if (!(err instanceof GridwatchError)) throw err;
    throw new GridwatchError('CONFIG_INVALID', `invalid configuration:\n  correlate (GRIDWATCH_CORRELATE_* or file section "correlate"): ${err.message}`, { cause: err });
  }
}
