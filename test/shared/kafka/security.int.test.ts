// Kafka security against the real broker's SASL_SSL listener: who may read and write what (the
// harness's StandardAuthorizer ACLs), and that bad credentials and untrusted certificates are
// refused with a message that names the broker and the mechanism and never the password.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantKafkaPrefix, issueCertificate, kafkaAcls, makeCertificateAuthority } from '../../../deploy/services/index.ts';
import { classifyKafkaRefusal, type KafkaSecurity } from '../../../shared/kafka/security.ts';
import { uniqueName } from '../../harness/env.ts';
import { client, consumeFailure, failure, secureKafka, securityOf } from './kafka-helpers.ts';

const { AclPermissionTypes } = kafkajs;

const secure = secureKafka();
const { admin, edge, central } = secure.principals;
const prefix = `${uniqueName('kafkasec')}.`;
const centralGroup = uniqueName('kafkasec-central');
const readings = `${prefix}grid.readings`;
const events = `${prefix}grid.events`;
const tmp = mkdtempSync(join(tmpdir(), 'gw-kafkasec-'));
const rogue = { ca: { certFile: '', keyFile: '' }, edge: { certFile: join(tmp, 'rogue-edge.pem'), keyFile: join(tmp, 'rogue-edge.key') } };

function refusal(err: unknown, security: KafkaSecurity, brokers = secure.brokers): { code: string; message: string } {
  const r = classifyKafkaRefusal(err, { brokers, security });
  if (!r) throw new Error(`not classified as a refusal: ${String((err as Error)?.message ?? err)}`);
  return r;
}

beforeAll(async () => {
  const a = client(securityOf(admin)).admin();
  await a.connect();
  await a.createTopics({ waitForLeaders: true, topics: [readings, events].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })) });
  await a.disconnect();
  await grantKafkaPrefix({ topicPrefix: prefix, centralGroup });
  rogue.ca = await makeCertificateAuthority(join(tmp, 'rogue-ca'), 'not the gridwatch CA');
  await issueCertificate(rogue.ca, rogue.edge, 'edge');
});

afterAll(async () => {
  const a = client(securityOf(admin)).admin();
  await a.connect();
  await a.deleteTopics({ topics: [readings, events] }).catch(() => undefined);
  // The grants of this test's prefix go too (each entry is an exact filter).
  await a.deleteAcls({ filters: kafkaAcls({ topicPrefix: prefix, centralGroup }).map((acl) => ({ ...acl, permissionType: AclPermissionTypes.ALLOW })) });
  await a.disconnect();
  rmSync(tmp, { recursive: true, force: true });
});

describe('Kafka ACLs over SASL_SSL with mutual TLS', () => {
  it('edge (SCRAM-SHA-512 + client certificate) writes grid.readings with an idempotent producer', async () => {
    const producer = client(securityOf(edge)).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const [meta] = await producer.send({ topic: readings, acks: -1, messages: [{ key: 'm-1', value: JSON.stringify({ meterId: 'm-1', v: 230.1 }) }] });
      expect(meta?.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });

  it('edge cannot write grid.events: refused as an ACL denial naming the broker and the principal', async () => {
    const security = securityOf(edge);
    const producer = client(security).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const err = await failure(() => producer.send({ topic: events, acks: -1, messages: [{ value: '{"forged":true}' }] }));
      const r = refusal(err, security);
      expect(r.code).toBe('KAFKA_ACL_DENIED');
      expect(r.message).toContain('TOPIC_AUTHORIZATION_FAILED');
      expect(r.message).toContain(secure.brokers[0]);
      expect(r.message).toContain('scram-sha-512 as user edge');
    } finally {
      await producer.disconnect();
    }
  });

  it('edge cannot consume grid.events, nor even the readings it wrote (it reads nothing)', async () => {
    const security = securityOf(edge);
    for (const [topic, groupId] of [[events, `${centralGroup}-edge`], [readings, centralGroup]] as const) {
      const log: string[] = [];
      const err = await consumeFailure(client(security, secure.brokers, log), topic, groupId);
      expect(err, `edge consumed ${topic}`).toBeDefined();
      // kafkajs reports a refused FindCoordinator as "Failed to find group coordinator" and tells
      // the broker's reason (GROUP_AUTHORIZATION_FAILED) only in its debug log.
      const denied = classifyKafkaRefusal(err, { brokers: secure.brokers, security })?.code === 'KAFKA_ACL_DENIED' || log.some((l) => l.includes('GROUP_AUTHORIZATION_FAILED'));
      expect(denied, `edge consuming ${topic}: ${String((err as Error).message)}`).toBe(true);
    }
  });

  it("central reads the edge's readings, writes grid.events and reads them back, in its consumer group", async () => {
    const kafka = client(securityOf(central));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: events, acks: -1, messages: [{ key: 'sub-1', value: '{"kind":"outage"}' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${centralGroup}.instance.test`, retry: { retries: 0, restartOnFailure: async () => false } });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [readings, events], fromBeginning: true });
      const seen = new Map<string, string>();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`central read only ${[...seen.keys()].join(', ') || 'nothing'}`)), 60_000);
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        void consumer.run({
          eachMessage: async ({ topic, message }) => {
            seen.set(topic, message.value?.toString() ?? '');
            if (seen.size === 2) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      expect(seen.get(readings)).toContain('"meterId":"m-1"');
      expect(seen.get(events)).toBe('{"kind":"outage"}');
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('Kafka refusals at connect', () => {
  it('a wrong password is refused with a message naming broker and mechanism, never the password', async () => {
    const wrong = `not-${readFileSync(edge.passwordFile, 'utf8').trim().slice(0, 6)}-Zq9`;
    const security = securityOf(edge, { mechanism: 'scram-sha-256', password: wrong });
    const err = await failure(async () => {
      const a = client(security).admin();
      try {
        await a.connect();
        await a.listTopics();
      } finally {
        await a.disconnect();
      }
    });
    const r = refusal(err, security);
    expect(r.code).toBe('KAFKA_AUTH_FAILED');
    expect(r.message).toContain(secure.brokers[0]);
    expect(r.message).toContain('mechanism scram-sha-256');
    expect(r.message).toContain('user edge');
    expect(r.message).not.toContain(wrong);
    expect(JSON.stringify(r)).not.toContain(readFileSync(edge.passwordFile, 'utf8').trim());
  });

  it('a CA that did not sign the broker is refused (no plaintext fallback)', async () => {
    const security = securityOf(edge, { caFile: rogue.ca.certFile });
    const err = await failure(async () => {
      const a = client(security).admin();
      await a.connect();
      await a.disconnect();
    });
    const r = refusal(err, security);
    expect(r.code).toBe('KAFKA_TLS_UNTRUSTED');
    expect(r.message).toContain(secure.brokers[0]);
    expect(r.message).toContain('scram-sha-512');
    expect(r.message).toContain("broker's certificate is not trusted");
    expect(r.message).not.toContain(readFileSync(edge.passwordFile, 'utf8').trim());
  });

  it('a client certificate from another CA is refused by the broker; the same principal with ours is accepted', async () => {
    const bad = securityOf(edge, { cert: rogue.edge });
    const err = await failure(async () => {
      const a = client(bad).admin();
      await a.connect();
      await a.listTopics();
      await a.disconnect();
    });
    const r = refusal(err, bad);
    expect(r.code).toBe('KAFKA_TLS_UNTRUSTED');
    expect(r.message).toContain('did not accept the client certificate');
    expect(r.message).toContain(secure.brokers[0]);

    const good = client(securityOf(edge)).admin();
    await good.connect();
    const topics = await good.listTopics();
    await good.disconnect();
    // Edge sees (describes) the topics it may write, and not grid.events.
    expect(topics).toContain(readings);
    expect(topics).not.toContain(events);
  });

  it('PLAIN works only inside TLS, with the same principals', async () => {
    const a = client(securityOf(central, { mechanism: 'plain', cert: false })).admin();
    await a.connect();
    expect(await a.listTopics()).toContain(events);
    await a.disconnect();
  });
});
