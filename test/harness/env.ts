// What an integration test needs to reach the servers the global setup provided.
import { randomBytes } from 'node:crypto';
import type { ServiceEndpoints } from '../../deploy/services/index.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../shared/kafka/security.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined) {
    throw new Error(
      `${name} is not set: integration tests get their servers from test/harness/global-setup.ts ` +
        '(run them with `npx vitest run --project integration`), or export them with eval "$(gridwatch services env)"',
    );
  }
  return value;
}

/** The endpoints of the real servers, from the GRIDWATCH_* variables set by the global setup. */
export function testEndpoints(): ServiceEndpoints {
  const s3 = new URL(required('GRIDWATCH_S3_ENDPOINT'));
  const useSSL = s3.protocol === 'https:';
  return {
    kafkaBrokers: required('GRIDWATCH_KAFKA_BROKERS').split(',').map((b) => b.trim()).filter((b) => b !== ''),
    s3: {
      endPoint: s3.hostname,
      port: s3.port ? Number(s3.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: required('GRIDWATCH_S3_ACCESS_KEY'),
      secretKey: required('GRIDWATCH_S3_SECRET_KEY'),
      url: s3.origin,
    },
    influx: { url: required('GRIDWATCH_INFLUX_URL'), token: required('GRIDWATCH_INFLUX_TOKEN'), org: required('GRIDWATCH_INFLUX_ORG') },
    mqttUrl: required('GRIDWATCH_MQTT_URL'),
    cacheDir: process.env.GRIDWATCH_CACHE_DIR ?? '',
  };
}

/**
 * A name no other test (or earlier run) uses: lower-case letters, digits and dashes, valid as a
 * Kafka topic, an S3 bucket (3-63 chars) and an InfluxDB database.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'test';
  return `${clean}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The kafkajs `ssl`/`sasl` for GRIDWATCH_KAFKA_BROKERS (PLAINTEXT unless the setup exported SASL_SSL): pass as `security` to shared/kafka createKafkaClient. */
export function testKafkaSecurity(): KafkaSecurity {
  return kafkaSecurityFromEnv(process.env);
}

/**
 * The GRIDWATCH_KAFKA_* variables the global setup exported (brokers, TLS, SASL): spread into the
 * `env` of an in-process program's config loader or of a spawned program, so it connects the way
 * the suite does (SASL_SSL as admin by default).
 */
export function testKafkaEnv(): Record<string, string> {
  const out: Record<string, string> = { GRIDWATCH_KAFKA_BROKERS: required('GRIDWATCH_KAFKA_BROKERS') };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && /^GRIDWATCH_KAFKA_(TLS|SASL)(_|$)/.test(k)) out[k] = v;
  }
  return out;
}
