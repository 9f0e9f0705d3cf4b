// How every gridwatch program secures its Kafka connections: TLS with the operator's CA (optionally
// a client certificate for mutual TLS) and SASL (SCRAM-SHA-512, SCRAM-SHA-256, or PLAIN over TLS
// only). The settings are TypeBox properties each program spreads into its config schema; the
// result is the `ssl`/`sasl` pair the shared Kafka client layer hands to kafkajs.
// Secrets (the password, the key) never appear in a message, a describe() or an error.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Type, type TSchema } from '@sinclair/typebox';
import type { SASLOptions } from 'kafkajs';
import { envName, loadConfig } from '../config.ts';
import { GridwatchError } from '../errors.ts';
import { errorTree } from './errors.ts';

/** sysexits EX_CONFIG: a program refused at start by its configuration (or by the broker over it) exits with this. */
export const EXIT_CONFIG = 78;

export const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type KafkaSaslMechanism = (typeof SASL_MECHANISMS)[number];

const path = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

/** Spread into a program's config schema: GRIDWATCH_KAFKA_TLS, GRIDWATCH_KAFKA_TLS_CA_FILE, ..., GRIDWATCH_KAFKA_SASL_PASSWORD(_FILE). */
export const kafkaSecuritySettings = {
  kafkaTls: Type.Boolean({
    default: false,
    description: 'Connect to Kafka over TLS (the broker certificate is verified against GRIDWATCH_KAFKA_TLS_CA_FILE, or the system CAs)',
  }),
  kafkaTlsCaFile: path('PEM file of the CA(s) that sign the Kafka brokers\' certificates'),
  kafkaTlsCertFile: path('PEM client certificate for mutual TLS with Kafka (with GRIDWATCH_KAFKA_TLS_KEY_FILE)'),
  kafkaTlsKeyFile: path('PEM private key of the Kafka client certificate'),
  kafkaSaslMechanism: Type.Optional(
    Type.Union(SASL_MECHANISMS.map((m) => Type.Literal(m)), { description: 'SASL mechanism for Kafka; plain is accepted only with GRIDWATCH_KAFKA_TLS=true' }),
  ),
  kafkaSaslUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'SASL user name (the Kafka principal User:<name>)' })),
  kafkaSaslPassword: Type.Optional(Type.String({ minLength: 1, description: 'SASL password (secret; prefer GRIDWATCH_KAFKA_SASL_PASSWORD_FILE)' })),
  kafkaSaslPasswordFile: path('File holding the SASL password (Docker/Kubernetes secret); trailing newline ignored'),
} satisfies Record<string, TSchema>;

export interface KafkaSecuritySettings {
  kafkaTls: boolean;
  kafkaTlsCaFile?: string;
  kafkaTlsCertFile?: string;
  kafkaTlsKeyFile?: string;
  kafkaSaslMechanism?: KafkaSaslMechanism;
  kafkaSaslUsername?: string;
  kafkaSaslPassword?: string;
  kafkaSaslPasswordFile?: string;
}

export interface KafkaSecurity {
  /** Passed as kafkajs `ssl`. */
  ssl?: ConnectionOptions;
  /** Passed as kafkajs `sasl`. */
  sasl?: SASLOptions;
  /** e.g. "SASL_SSL scram-sha-512 as user edge-1 (client certificate)" or "PLAINTEXT"; never a secret. */
  describe(): string;
}

const invalid = (message: string): GridwatchError => new GridwatchError('CONFIG_INVALID', `invalid Kafka security configuration: ${message}`);

function readSetting(key: keyof KafkaSecuritySettings, file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // The path is not a secret; the file's content would be.
    throw new GridwatchError('CONFIG_INVALID', `${envName(key)}: cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Reads the CA/cert/key/password files and checks the combination; throws CONFIG_INVALID naming the variable, never its value. */
export function kafkaSecurity(s: KafkaSecuritySettings): KafkaSecurity {
  const tlsOnly: (keyof KafkaSecuritySettings)[] = ['kafkaTlsCaFile', 'kafkaTlsCertFile', 'kafkaTlsKeyFile'];
  if (!s.kafkaTls) {
    const stray = tlsOnly.filter((k) => s[k] !== undefined);
    // A CA file without TLS is a half-done setup; connecting in plaintext anyway would be a silent downgrade.
    if (stray.length > 0) throw invalid(`${stray.map(envName).join(', ')} set but ${envName('kafkaTls')} is not true`);
  }
  if ((s.kafkaTlsCertFile === undefined) !== (s.kafkaTlsKeyFile === undefined)) {
    throw invalid(`${envName('kafkaTlsCertFile')} and ${envName('kafkaTlsKeyFile')} go together (mutual TLS needs both)`);
  }
  const ssl: ConnectionOptions | undefined = s.kafkaTls
    ? {
        rejectUnauthorized: true,
        ...(s.kafkaTlsCaFile ? { ca: [readSetting('kafkaTlsCaFile', s.kafkaTlsCaFile, 'CA file')] } : {}),
        ...(s.kafkaTlsCertFile ? { cert: readSetting('kafkaTlsCertFile', s.kafkaTlsCertFile, 'certificate file') } : {}),
        ...(s.kafkaTlsKeyFile ? { key: readSetting('kafkaTlsKeyFile', s.kafkaTlsKeyFile, 'key file') } : {}),
      }
    : undefined;

  const saslKeys: (keyof KafkaSecuritySettings)[] = ['kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaSaslPasswordFile'];
  let sasl: SASLOptions | undefined;
  const mechanism = s.kafkaSaslMechanism;
  if (mechanism === undefined) {
    const stray = saslKeys.filter((k) => s[k] !== undefined);
    if (stray.length > 0) throw invalid(`${stray.map(envName).join(', ')} set but ${envName('kafkaSaslMechanism')} is not (one of ${SASL_MECHANISMS.join(', ')})`);
  } else {
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw invalid(`${envName('kafkaSaslMechanism')} must be one of ${SASL_MECHANISMS.join(', ')}`);
    // PLAIN sends the password itself; without TLS anyone on the path reads it.
    if (mechanism === 'plain' && !s.kafkaTls) throw invalid(`${envName('kafkaSaslMechanism')}=plain sends the password in clear and needs ${envName('kafkaTls')}=true`);
    if (!s.kafkaSaslUsername) throw invalid(`${envName('kafkaSaslMechanism')} is set but ${envName('kafkaSaslUsername')} is missing`);
    if (s.kafkaSaslPassword !== undefined && s.kafkaSaslPasswordFile !== undefined) {
      throw invalid(`set ${envName('kafkaSaslPassword')} or ${envName('kafkaSaslPasswordFile')}, not both`);
    }
    const password = s.kafkaSaslPasswordFile !== undefined
      ? readSetting('kafkaSaslPasswordFile', s.kafkaSaslPasswordFile, 'password file').replace(/\r?\n$/, '')
      : s.kafkaSaslPassword;
    if (!password) throw invalid(`${envName('kafkaSaslMechanism')} is set but neither ${envName('kafkaSaslPassword')} nor ${envName('kafkaSaslPasswordFile')} gives a password`);
    sasl = { mechanism, username: s.kafkaSaslUsername, password };
  }

  const protocol = `${sasl ? 'SASL_' : ''}${ssl ? 'SSL' : 'PLAINTEXT'}`;
  const text = [
    protocol,
    ...(sasl ? [`${sasl.mechanism} as user ${s.kafkaSaslUsername}`] : []),
    ...(ssl?.cert ? ['(client certificate)'] : []),
  ].join(' ');
  return {
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
    describe: () => text,
  };
}

const settingsSchema = Type.Object(kafkaSecuritySettings);

/** Same from the GRIDWATCH_KAFKA_* variables, for tools, tests, bench and the demo. */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const only: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(kafkaSecuritySettings)) {
    const name = envName(key);
    if (env[name] !== undefined) only[name] = env[name];
  }
  // Not the program's GRIDWATCH_CONFIG file: these come from the environment alone.
  return kafkaSecurity(loadConfig(settingsSchema, { env: only, file: '' }) as KafkaSecuritySettings);
}

export type KafkaRefusalCode = 'KAFKA_AUTH_FAILED' | 'KAFKA_TLS_UNTRUSTED' | 'KAFKA_ACL_DENIED';

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_REVOKED',
]);
const TLS_TEXT = /self[- ]signed certificate|unable to verify|unable to get (local )?issuer|certificate has expired|certificate is not yet valid|Hostname\/IP does not match|certificate unknown|bad certificate|unknown ca|certificate required/i;
const AUTH_TEXT = /SASL .*authentication failed|SASL .*Invalid username or password|Authentication failed during authentication due to invalid credentials/i;
const ACL_TYPES: Record<string, string> = {
  TOPIC_AUTHORIZATION_FAILED: 'access to a topic',
  GROUP_AUTHORIZATION_FAILED: 'access to a consumer group',
  CLUSTER_AUTHORIZATION_FAILED: 'a cluster operation',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'a transactional id',
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: 'a delegation token',
};


/**
 * Turns a kafkajs error into a clear refusal (bad credentials, untrusted certificate, ACL denied),
 * or undefined when it is not one. The message names the broker(s), the mechanism and what was
 * refused; the password is scrubbed even if a broker were to echo it.
 */
export function classifyKafkaRefusal(err: unknown, ctx: { brokers: string[]; security: KafkaSecurity }): { code: KafkaRefusalCode; message: string } | undefined {
  // The error and its causes (kafkajs nests them in `cause`, `originalError` and retry wrappers; @platformatic/kafka in `cause` and `errors`).
  const errors = errorTree(err);
  const brokerOf = (): string => {
    const named = errors.map((e) => e.broker ?? (e.host !== undefined && e.port !== undefined ? `${String(e.host)}:${String(e.port)}` : undefined)).find((b) => typeof b === 'string' && b !== '');
    return typeof named === 'string' ? named : ctx.brokers.join(',');
  };
  const how = ctx.security.describe();
  const secret = ctx.security.sasl && 'password' in ctx.security.sasl ? ctx.security.sasl.password : undefined;
  const scrub = (text: string): string => (secret ? text.split(secret).join('***') : text);
  const detail = (e: Record<string, unknown>): string => scrub(String(e.message ?? '')).trim().slice(0, 300);

  // By name or type, and by message too: kafkajs' retry wrappers copy the message but may drop the cause.
  const auth = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || e.code === 'PLT_KFK_AUTHENTICATION' || e.type === 'SASL_AUTHENTICATION_FAILED' || e.type === 'ILLEGAL_SASL_STATE'
    || e.type === 'UNSUPPORTED_SASL_MECHANISM' || (typeof e.message === 'string' && AUTH_TEXT.test(e.message)));
  if (auth) {
    const user = ctx.security.sasl && 'username' in ctx.security.sasl ? ctx.security.sasl.username : '(none)';
    const mech = ctx.security.sasl?.mechanism ?? 'none';
    return {
      code: 'KAFKA_AUTH_FAILED',
      message: `Kafka broker ${brokerOf()} refused SASL authentication (mechanism ${mech}, user ${user}; connecting ${how}): ${detail(auth)}. Check GRIDWATCH_KAFKA_SASL_USERNAME and the password.`,
    };
  }
  const tls = errors.find((e) => (typeof e.code === 'string' && TLS_CODES.has(e.code)) || (typeof e.message === 'string' && TLS_TEXT.test(e.message)));
  if (tls) {
    // A TLS alert comes from the broker: it refused our client certificate. Otherwise we refused its.
    const ours = /alert/i.test(String(tls.message ?? ''));
    const what = ours
      ? 'the broker did not accept the client certificate (GRIDWATCH_KAFKA_TLS_CERT_FILE must be signed by a CA the broker trusts)'
      : "the broker's certificate is not trusted (GRIDWATCH_KAFKA_TLS_CA_FILE must name the CA that signs the broker)";
    return {
      code: 'KAFKA_TLS_UNTRUSTED',
      message: `TLS with Kafka broker ${brokerOf()} refused: ${what}; connecting ${how}: ${detail(tls)}`,
    };
  }
  // kafkajs names the protocol error `type`, @platformatic/kafka `apiId`.
  const aclType = (e: Record<string, unknown>): string | undefined => [e.type, e.apiId].find((t): t is string => typeof t === 'string' && t in ACL_TYPES);
  const acl = errors.find((e) => aclType(e) !== undefined);
  if (acl) {
    const type = aclType(acl)!;
    return {
      code: 'KAFKA_ACL_DENIED',
      message: `Kafka broker ${brokerOf()} denied ${ACL_TYPES[type]} (${type}) when connecting ${how}: ${detail(acl)}. The principal's ACLs do not allow it.`,
    };
  }
  return undefined;
}

/**
 * At start, a refusal (bad password, untrusted certificate, denied ACL) is a configuration problem:
 * a CONFIG_INVALID error (the command exits 78) carrying the refusal's message, which names the
 * broker and the mechanism and never the secret. Anything else (Kafka unreachable): undefined.
 */
export function refusalAtStart(err: unknown, ctx: { brokers: string[]; security: KafkaSecurity }): GridwatchError | undefined {
  const r = classifyKafkaRefusal(err, ctx);
  return r ? new GridwatchError('CONFIG_INVALID', `${r.code}: ${r.message}`) : undefined;
}
