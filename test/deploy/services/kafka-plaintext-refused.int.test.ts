// The plaintext listener in 'refused' mode (what KAFKA_PLAINTEXT_LISTENER becomes after the flip):
// a broker of its own, on other ports, started from scratch the way the harness provisions one
// (fresh KRaft storage, SCRAM users, ACLs). A client without TLS/SASL reaches the listener and is
// refused every request by the authorizer; the SASL_SSL listener of the same broker serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandaloneKafka } from '../../../deploy/services/index.ts';
import { classifyKafkaRefusal, kafkaSecurity } from '../../../shared/kafka/security.ts';
import { client, failure, secureKafka, securityOf } from '../../shared/kafka/kafka-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-kafka-refused-'));
const plaintext = kafkaSecurity({ kafkaTls: false });
let broker: Awaited<ReturnType<typeof startStandaloneKafka>> | undefined;
const topic = 'grid.readings';

beforeAll(async () => {
  broker = await startStandaloneKafka({ name: 'kafka-refused-test', dir, ports: { broker: 19592, controller: 19593, saslSsl: 19594 }, plaintextListener: 'refused' });
  const admin = client(securityOf(secureKafka().principals.admin), broker.secureBrokers).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
  await admin.disconnect();
}, 300_000);

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("Kafka plaintext listener, 'refused' mode", () => {
  it('refuses a plaintext producer as an ACL denial of the anonymous principal', async () => {
    const brokers = broker?.plaintextBrokers ?? [];
    const producer = client(plaintext, brokers).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const err = await failure(() => producer.send({ topic, messages: [{ value: 'x' }] }));
      const r = classifyKafkaRefusal(err, { brokers, security: plaintext });
      expect(r?.code).toBe('KAFKA_ACL_DENIED');
      expect(r?.message).toContain('TOPIC_AUTHORIZATION_FAILED');
      expect(r?.message).toContain('127.0.0.1:19592');
      expect(r?.message).toContain('PLAINTEXT');
    } finally {
      await producer.disconnect();
    }
  });

  it('refuses plaintext topic creation and shows it no topics', async () => {
    const brokers = broker?.plaintextBrokers ?? [];
    const admin = client(plaintext, brokers).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
      const err = await failure(() => admin.createTopics({ topics: [{ topic: 'grid.anomalies' }] }));
      expect(classifyKafkaRefusal(err, { brokers, security: plaintext })?.code).toBe('KAFKA_ACL_DENIED');
    } finally {
      await admin.disconnect();
    }
  });

  it('serves the edge principal on SASL_SSL of the same broker (SCRAM users set at provisioning)', async () => {
    const producer = client(securityOf(secureKafka().principals.edge), broker?.secureBrokers).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ value: '{"ok":true}' }] });
      expect(meta?.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });
});
