import { describe, expect, it } from 'vitest';
import { endpointsToEnv, kafkaPrincipalEnv, serviceEndpoints } from '../../../deploy/services/index.ts';

describe('endpointsToEnv', () => {
  const e = serviceEndpoints();

  it('exports SASL_SSL as admin by default, SCRAM-SHA-512 with the client certificate, the password only by file', () => {
    for (const env of [endpointsToEnv(e), endpointsToEnv(e, { kafkaSecure: true })]) {
      expect(env).toMatchObject({
        GRIDWATCH_KAFKA_BROKERS: '127.0.0.1:19094',
        GRIDWATCH_KAFKA_TLS: 'true',
        GRIDWATCH_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        GRIDWATCH_KAFKA_SASL_USERNAME: 'admin',
      });
      expect(env.GRIDWATCH_KAFKA_TLS_CA_FILE).toMatch(/kafka-pki\/ca\.pem$/);
      expect(env.GRIDWATCH_KAFKA_TLS_CERT_FILE).toMatch(/kafka-pki\/admin\.pem$/);
      expect(env.GRIDWATCH_KAFKA_TLS_KEY_FILE).toMatch(/kafka-pki\/admin\.key$/);
      expect(env.GRIDWATCH_KAFKA_SASL_PASSWORD_FILE).toMatch(/kafka-pki\/admin\.password$/);
      expect(env.GRIDWATCH_KAFKA_SASL_PASSWORD).toBeUndefined();
      expect(env.GRIDWATCH_S3_ENDPOINT).toBe(e.s3.url);
    }
  });

  it('exports the plaintext Kafka endpoint only when asked explicitly, and nothing of TLS/SASL', () => {
    const env = endpointsToEnv(e, { kafkaSecure: false });
    expect(env.GRIDWATCH_KAFKA_BROKERS).toBe('127.0.0.1:19092');
    expect(Object.keys(env).filter((k) => k.startsWith('GRIDWATCH_KAFKA_'))).toEqual(['GRIDWATCH_KAFKA_BROKERS']);
  });

  it('refuses the secure default for endpoints without a SASL_SSL listener instead of falling back to plaintext', () => {
    const { kafkaSecure: _, ...bare } = e;
    expect(() => endpointsToEnv(bare)).toThrow(/no SASL_SSL listener/);
    expect(endpointsToEnv(bare, { kafkaSecure: false }).GRIDWATCH_KAFKA_BROKERS).toBe('127.0.0.1:19092');
  });

  it('gives each principal its own variables', () => {
    expect(kafkaPrincipalEnv(e, 'edge')).toMatchObject({ GRIDWATCH_KAFKA_SASL_USERNAME: 'edge', GRIDWATCH_KAFKA_TLS_CERT_FILE: expect.stringMatching(/edge\.pem$/) });
    expect(kafkaPrincipalEnv(e, 'central').GRIDWATCH_KAFKA_SASL_PASSWORD_FILE).toMatch(/central\.password$/);
  });

  it('three-node cluster: the three SASL_SSL listeners', () => {
    expect(endpointsToEnv(serviceEndpoints({ kafkaCluster: true })).GRIDWATCH_KAFKA_BROKERS).toBe('127.0.0.1:19194,127.0.0.1:19294,127.0.0.1:19394');
  });
});
