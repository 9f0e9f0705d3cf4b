import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { GridwatchError } from '../../../shared/errors.ts';
import { EXIT_CONFIG, classifyKafkaRefusal, kafkaSecurity, kafkaSecurityFromEnv } from '../../../shared/kafka/security.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError, KafkaJSNonRetriableError } = kafkajs;

const dir = mkdtempSync(join(tmpdir(), 'gw-kafkasec-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
const cert = file('c.pem', '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n');
const key = file('c.key', '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
const SECRET = 'hunter2-Very-Secret';
const pwFile = file('pw', `${SECRET}\n`);

function configError(fn: () => unknown): GridwatchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).code).toBe('CONFIG_INVALID');
    expect((err as GridwatchError).message).not.toContain(SECRET);
    return err as GridwatchError;
  }
  throw new Error('expected a configuration error');
}

describe('kafkaSecurity', () => {
  it('is PLAINTEXT with nothing set', () => {
    const s = kafkaSecurity({ kafkaTls: false });
    expect(s.ssl).toBeUndefined();
    expect(s.sasl).toBeUndefined();
    expect(s.describe()).toBe('PLAINTEXT');
    expect(EXIT_CONFIG).toBe(78);
  });

  it('reads the CA, client certificate and key, verifies the broker, and says so without secrets', () => {
    const s = kafkaSecurity({ kafkaTls: true, kafkaTlsCaFile: ca, kafkaTlsCertFile: cert, kafkaTlsKeyFile: key, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'edge-1', kafkaSaslPassword: SECRET });
    expect(s.ssl).toMatchObject({ rejectUnauthorized: true, ca: [expect.stringContaining('CA')], cert: expect.stringContaining('CLIENT'), key: expect.stringContaining('KEY') });
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'edge-1', password: SECRET });
    expect(s.describe()).toBe('SASL_SSL scram-sha-512 as user edge-1 (client certificate)');
    expect(JSON.stringify({ d: s.describe() })).not.toContain(SECRET);
  });

  it('takes the password from a file (Docker/Kubernetes secrets), trailing newline dropped', () => {
    const s = kafkaSecurity({ kafkaTls: false, kafkaSaslMechanism: 'scram-sha-256', kafkaSaslUsername: 'central', kafkaSaslPasswordFile: pwFile });
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'central', password: SECRET });
    expect(s.describe()).toBe('SASL_PLAINTEXT scram-sha-256 as user central');
  });

  it('refuses PLAIN without TLS, naming the variables', () => {
    const e = configError(() => kafkaSecurity({ kafkaTls: false, kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'u', kafkaSaslPassword: SECRET }));
    expect(e.message).toContain('GRIDWATCH_KAFKA_SASL_MECHANISM=plain');
    expect(e.message).toContain('GRIDWATCH_KAFKA_TLS=true');
    expect(kafkaSecurity({ kafkaTls: true, kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'u', kafkaSaslPassword: SECRET }).describe()).toBe('SASL_SSL plain as user u');
  });

  it('refuses half-done setups instead of silently connecting in plaintext', () => {
    expect(configError(() => kafkaSecurity({ kafkaTls: false, kafkaTlsCaFile: ca })).message).toContain('GRIDWATCH_KAFKA_TLS_CA_FILE set but GRIDWATCH_KAFKA_TLS is not true');
    expect(configError(() => kafkaSecurity({ kafkaTls: true, kafkaTlsCertFile: cert })).message).toContain('GRIDWATCH_KAFKA_TLS_KEY_FILE');
    expect(configError(() => kafkaSecurity({ kafkaTls: true, kafkaSaslUsername: 'u', kafkaSaslPassword: SECRET })).message).toContain('GRIDWATCH_KAFKA_SASL_MECHANISM is not');
    expect(configError(() => kafkaSecurity({ kafkaTls: true, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslPassword: SECRET })).message).toContain('GRIDWATCH_KAFKA_SASL_USERNAME is missing');
    expect(configError(() => kafkaSecurity({ kafkaTls: true, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'u' })).message).toContain('GRIDWATCH_KAFKA_SASL_PASSWORD_FILE');
    expect(configError(() => kafkaSecurity({ kafkaTls: true, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'u', kafkaSaslPassword: SECRET, kafkaSaslPasswordFile: pwFile })).message).toContain('not both');
  });

  it('names an unreadable file by variable and path', () => {
    const e = configError(() => kafkaSecurity({ kafkaTls: true, kafkaTlsCaFile: join(dir, 'missing.pem') }));
    expect(e.message).toContain('GRIDWATCH_KAFKA_TLS_CA_FILE');
    expect(e.message).toContain('missing.pem');
    expect(e.message).toContain('ENOENT');
  });
});

describe('kafkaSecurityFromEnv', () => {
  it('reads the GRIDWATCH_KAFKA_* variables', () => {
    const s = kafkaSecurityFromEnv({
      GRIDWATCH_KAFKA_TLS: 'true', GRIDWATCH_KAFKA_TLS_CA_FILE: ca, GRIDWATCH_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      GRIDWATCH_KAFKA_SASL_USERNAME: 'admin', GRIDWATCH_KAFKA_SASL_PASSWORD_FILE: pwFile, GRIDWATCH_CONFIG: '/nonexistent.yaml',
    });
    expect(s.describe()).toBe('SASL_SSL scram-sha-512 as user admin');
    expect(s.sasl).toMatchObject({ password: SECRET });
  });

  it('rejects an unknown mechanism naming the variable, not echoing a password', () => {
    const e = configError(() => kafkaSecurityFromEnv({ GRIDWATCH_KAFKA_SASL_MECHANISM: 'gssapi', GRIDWATCH_KAFKA_SASL_USERNAME: 'u', GRIDWATCH_KAFKA_SASL_PASSWORD: SECRET }));
    expect(e.message).toContain('GRIDWATCH_KAFKA_SASL_MECHANISM');
  });

  it('is PLAINTEXT with an empty environment', () => {
    expect(kafkaSecurityFromEnv({}).describe()).toBe('PLAINTEXT');
  });
});

describe('classifyKafkaRefusal', () => {
  const security = kafkaSecurity({ kafkaTls: true, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'edge', kafkaSaslPassword: SECRET });
  const ctx = { brokers: ['127.0.0.1:19094', '127.0.0.1:19194'], security };

  it('names broker, mechanism and user for a failed SASL authentication, and scrubs the password', () => {
    // kafkajs' type declarations give this error no constructor arguments; its code takes the message.
    const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    const err = new KafkaJSNonRetriableError(new SaslError(`SASL SCRAM SHA512 authentication failed: bad password ${SECRET}`));
    const r = classifyKafkaRefusal(err, ctx);
    expect(r?.code).toBe('KAFKA_AUTH_FAILED');
    expect(r?.message).toContain('127.0.0.1:19094');
    expect(r?.message).toContain('scram-sha-512');
    expect(r?.message).toContain('user edge');
    expect(r?.message).not.toContain(SECRET);
  });

  it('recognises an untrusted broker certificate through the retry wrapper, naming the broker it failed on', () => {
    const conn = new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { broker: '127.0.0.1:19194', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const r = classifyKafkaRefusal(new KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 5, retryTime: 100 }), ctx);
    expect(r?.code).toBe('KAFKA_TLS_UNTRUSTED');
    expect(r?.message).toContain('127.0.0.1:19194');
    expect(r?.message).toContain('scram-sha-512');
    expect(r?.message).toContain('GRIDWATCH_KAFKA_TLS_CA_FILE');
    expect(r?.message).toContain("broker's certificate is not trusted");
  });

  it.each(['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED'])('turns %s into an ACL refusal', (type) => {
    const err = new KafkaJSProtocolError({ message: 'Not authorized', type, code: 29, retriable: false } as never);
    const r = classifyKafkaRefusal(err, ctx);
    expect(r?.code).toBe('KAFKA_ACL_DENIED');
    expect(r?.message).toContain(type);
    expect(r?.message).toContain('as user edge');
    expect(r?.message).toContain('127.0.0.1:19094');
  });

  it('leaves other errors alone (they are retried as unavailability, not refusals)', () => {
    expect(classifyKafkaRefusal(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19094', { code: 'ECONNREFUSED' }), ctx)).toBeUndefined();
    expect(classifyKafkaRefusal(new Error('boom'), ctx)).toBeUndefined();
    expect(classifyKafkaRefusal(undefined, ctx)).toBeUndefined();
  });
});
