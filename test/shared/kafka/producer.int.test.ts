// The producer port's contract (shared/kafka/producer.ts), the same for each adapter, against the
// real broker's SASL_SSL listener as the edge principal: what a resolved send means (every record
// on its key's partition, whole, in order), the codecs central reads, and how each refusal and an
// absent broker come out of the shared classifiers.
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Producer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantKafkaPrefix, kafkaAcls } from '../../../deploy/services/index.ts';
import { kafkaError, partitionOf } from '../../../shared/kafka/index.ts';
import { guardConnectionErrors } from '../../../shared/kafka/platformatic-producer.ts';
import { createRecordProducer } from '../../../shared/kafka/record-producers.ts';
import { producerThreadHolds, stopProducerThread } from '../../../shared/kafka/thread-producer.ts';
import { PRODUCER_CLIENTS, type ProducerClient, type OutRecord, type RecordCodec, type RecordProducer } from '../../../shared/kafka/producer.ts';
import { classifyKafkaRefusal, type KafkaSecurity } from '../../../shared/kafka/security.ts';
import { createKafkaClient } from '../../../shared/kafka/client.ts';
import { uniqueName } from '../../harness/env.ts';
import { freePorts } from '../../harness/ports.ts';
import { consume } from '../../edge/forward/kafka-helpers.ts';
import { client, failure, secureKafka, securityOf } from './kafka-helpers.ts';

const { AclPermissionTypes } = kafkajs;
const secure = secureKafka();
const { admin, edge } = secure.principals;
const base = uniqueName('port');
// The harness grants the edge exact topic names under a prefix: one prefix per client.
const prefixOf = (c: ProducerClient): string => `${base}.${c}.`;
const events = `${prefixOf('kafkajs')}grid.events`;
/** The producer thread's own test (its topic apart from the contract tests' readings). */
const threadDeath = `${base}.thread-death.`;
const PARTITIONS = 6;

function producerOf(c: ProducerClient, security: KafkaSecurity, brokers = secure.brokers): RecordProducer {
  const kafka = createKafkaClient({ brokers, clientId: 'gw-port-test', security, retries: 2, connectionTimeoutMs: 3000 });
  return createRecordProducer({ client: c, kafka, brokers, clientId: 'gw-port-test', security, retries: 2, connectionTimeoutMs: 3000 });
}

async function createTopics(topics: { topic: string; numPartitions: number }[]): Promise<void> {
  const a = client(securityOf(admin)).admin();
  await a.connect();
  await a.createTopics({ waitForLeaders: true, topics: topics.map((t) => ({ ...t, replicationFactor: 1 })) });
  await a.disconnect();
}

beforeAll(async () => {
  await createTopics([{ topic: events, numPartitions: 1 }]);
  for (const prefix of [...PRODUCER_CLIENTS.map(prefixOf), threadDeath]) await grantKafkaPrefix({ topicPrefix: prefix });
});

afterAll(async () => {
  const a = client(securityOf(admin)).admin();
  await a.connect();
  const mine = (await a.listTopics()).filter((t) => t.startsWith(base));
  await a.deleteTopics({ topics: mine }).catch(() => undefined);
  await a.deleteAcls({ filters: [...PRODUCER_CLIENTS.map(prefixOf), threadDeath].flatMap((prefix) => kafkaAcls({ topicPrefix: prefix })).map((acl) => ({ ...acl, permissionType: AclPermissionTypes.ALLOW })) });
  await a.disconnect();
});

describe.each(PRODUCER_CLIENTS)('producer port, client %s, as the edge principal over SASL_SSL with mutual TLS', (c) => {
  it('a resolved send: every record on its key\'s partition (Kafka\'s murmur2) or the one it names, whole, in order; gzip, zstd and none all read by kafkajs', async () => {
    const readings = `${prefixOf(c)}grid.readings`;
    await createTopics([{ topic: readings, numPartitions: PARTITIONS }]);
    const p = producerOf(c, securityOf(edge));
    await p.connect();
    const codecs: RecordCodec[] = ['gzip', 'zstd', 'none'];
    const keys = 300;
    try {
      for (const [round, codec] of codecs.entries()) {
        const records: OutRecord[] = Array.from({ length: keys }, (_, k) => ({
          key: `m-${k}`,
          value: JSON.stringify({ meterId: `m-${k}`, seq: round, codec }),
          headers: { 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `gw-port-test:${round * keys + k}` },
        }));
        // Records that name their partition (the batched readings form): key null.
        for (let part = 0; part < PARTITIONS; part++) records.push({ key: null, partition: part, value: JSON.stringify({ meterId: `p-${part}`, seq: round, codec, partition: part }), headers: { 'gridwatch-contract': 'forwarded-reading-batch/v1', 'gridwatch-record-id': `gw-port-test:p${round}-${part}` } });
        await p.send([{ topic: readings, records }], codec);
      }
      expect(p.partitionsOf(readings)).toBe(PARTITIONS);
    } finally {
      await p.disconnect();
    }
    const total = codecs.length * (keys + PARTITIONS);
    const got = await consume(secure.brokers, [readings], (all) => all.length >= total, 60_000, securityOf(admin));
    expect(got).toHaveLength(total);
    const keyed = got.filter((m) => m.key !== '');
    for (const m of keyed) expect(m.partition, `partition of ${m.key}`).toBe(partitionOf(m.key, PARTITIONS));
    // The keys spread: the check above is not one partition taking everything.
    expect(new Set(keyed.map((m) => m.partition)).size).toBe(PARTITIONS);
    for (const m of got.filter((x) => x.key === '')) expect(m.partition).toBe(m.value.partition);
    // Each meter's records in send order, one per codec, values and headers whole.
    const byMeter = new Map<string, typeof got>();
    for (const m of got) byMeter.set(String(m.value.meterId), [...(byMeter.get(String(m.value.meterId)) ?? []), m]);
    expect(byMeter.size).toBe(keys + PARTITIONS);
    for (const list of byMeter.values()) expect(list.map((m) => m.value.codec)).toEqual(codecs);
    const one = keyed.find((m) => m.key === 'm-7' && m.value.codec === 'zstd')!;
    expect(one.headers).toEqual({ 'gridwatch-contract': 'forwarded-reading/v1', 'gridwatch-record-id': `gw-port-test:${keys + 7}` });
  }, 120_000);

  it('a topic the principal may not write: an ACL denial naming broker and principal, not retryable', async () => {
    // grid.events under a granted prefix: the edge may write its own topics there, not events.
    const security = securityOf(edge);
    const p = producerOf(c, security);
    try {
      await p.connect();
      const err = await failure(() => p.send([{ topic: events, records: [{ key: 'm-1', value: '{"forged":true}' }] }], 'none'));
      const r = classifyKafkaRefusal(err, { brokers: secure.brokers, security });
      expect(r?.code, String((err as Error).message)).toBe('KAFKA_ACL_DENIED');
      expect(r!.message).toContain('TOPIC_AUTHORIZATION_FAILED');
      expect(r!.message).toContain('scram-sha-512 as user edge');
      expect(kafkaError(err, 'forwarding').retryable).toBe(false);
    } finally {
      await p.disconnect();
    }
  }, 60_000);

  it('a wrong password: connect refused as KAFKA_AUTH_FAILED, the password in no message, and the process goes on', async () => {
    const wrong = `not-${readFileSync(edge.passwordFile, 'utf8').trim().slice(0, 6)}-Zq9`;
    const security = securityOf(edge, { password: wrong });
    const p = producerOf(c, security);
    const err = await failure(() => p.connect());
    await p.disconnect().catch(() => undefined);
    const r = classifyKafkaRefusal(err, { brokers: secure.brokers, security });
    expect(r?.code, String((err as Error).message)).toBe('KAFKA_AUTH_FAILED');
    expect(r!.message).toContain('user edge');
    expect(r!.message).not.toContain(wrong);
    expect(kafkaError(err, 'forwarding').message).not.toContain(wrong);
    expect(kafkaError(err, 'forwarding').retryable).toBe(false);
    // The refused connection closes after this; an 'error' it emitted then with no listener would
    // end this worker (the case of two errors is the test of guardConnectionErrors below).
    await new Promise((r) => setTimeout(r, 1500));
  }, 60_000);

  it('no broker at the address: connect rejects within its retries, and the classifier says Kafka is unavailable (retryable)', async () => {
    const [port] = await freePorts(1);
    const p = producerOf(c, securityOf(edge), [`127.0.0.1:${port!}`]);
    const t0 = Date.now();
    const err = await failure(() => p.connect());
    await p.disconnect().catch(() => undefined);
    expect(Date.now() - t0).toBeLessThan(40_000);
    const e = kafkaError(err, 'forwarding');
    expect(e.code, e.message).toBe('KAFKA_UNAVAILABLE');
    expect(e.retryable).toBe(true);
  }, 60_000);
});

describe('@platformatic/kafka connections that error twice', () => {
  /** A connected raw Producer (SASL_SSL as edge) and the Connection its first request opened. */
  async function connected(guarded: boolean): Promise<{ producer: Producer; connection: EventEmitter }> {
    const security = securityOf(edge);
    const sasl = security.sasl as { username: string; password: string };
    const producer = new Producer({ clientId: 'gw-port-guard', bootstrapBrokers: secure.brokers, tls: security.ssl, sasl: { mechanism: 'SCRAM-SHA-512', username: sasl.username, password: sasl.password }, retries: 0 });
    if (guarded) guardConnectionErrors(producer);
    const opened = new Promise<EventEmitter>((resolve) => producer.once('client:broker:connect', (p: { connection: EventEmitter }) => resolve(p.connection)));
    await producer.metadata({ topics: [] });
    return { producer, connection: await opened };
  }

  it('a second error on a connection is an unhandled error event without the guard, and harmless with it', async () => {
    const bare = await connected(false);
    try {
      bare.connection.emit('error', new Error('first: the pool removes the connection (its listener is once)'));
      expect(() => bare.connection.emit('error', new Error('second: the closing socket\'s own'))).toThrow(/second/);
    } finally {
      await bare.producer.close().catch(() => undefined);
    }
    const safe = await connected(true);
    try {
      safe.connection.emit('error', new Error('first'));
      expect(() => safe.connection.emit('error', new Error('second'))).not.toThrow();
    } finally {
      await safe.producer.close().catch(() => undefined);
    }
  }, 60_000);
});

describe('the producer thread (client platformatic-thread)', () => {
  it('takes a KafkaSecurity that a kafkajs client used first (kafkajs adds a function to the sasl object it is given, which no thread takes)', async () => {
    const topic = `${threadDeath}grid.readings`;
    await createTopics([{ topic, numPartitions: PARTITIONS }]);
    const security = securityOf(edge);
    const k = client(security).producer();
    await k.connect();
    await k.disconnect();
    const p = producerOf('platformatic-thread', security);
    await p.connect();
    try {
      await p.send([{ topic, records: [{ key: 'm-shared-security', value: JSON.stringify({ meterId: 'm-shared-security', seq: -1 }) }] }], 'none');
    } finally {
      await p.disconnect();
    }
  }, 60_000);

  it('connects refused during an outage leave no producer behind in the thread (the forwarder drops each and makes another)', async () => {
    const [port] = await freePorts(1);
    for (let i = 0; i < 3; i++) {
      const p = producerOf('platformatic-thread', securityOf(edge), [`127.0.0.1:${port!}`]);
      const e = kafkaError(await failure(() => p.connect()), 'forwarding');
      expect([e.code, e.retryable]).toEqual(['KAFKA_UNAVAILABLE', true]);
    }
    expect(await producerThreadHolds()).toBe(0);
    // And one that connected and disconnected leaves none either.
    const ok = producerOf('platformatic-thread', securityOf(edge));
    await ok.connect();
    expect(await producerThreadHolds()).toBe(1);
    await ok.disconnect();
    expect(await producerThreadHolds()).toBe(0);
  }, 90_000);

  it('a thread that dies under a send: the send fails as Kafka unavailable (retryable), its producer is gone, the next producer starts a thread and delivers every record', async () => {
    const topic = `${threadDeath}grid.readings`;
    await createTopics([{ topic, numPartitions: PARTITIONS }]);
    const records = (from: number, n: number): OutRecord[] => Array.from({ length: n }, (_, i) => ({ key: `m-${(from + i) % 500}`, value: JSON.stringify({ meterId: `m-${(from + i) % 500}`, seq: from + i }) }));
    const first = producerOf('platformatic-thread', securityOf(edge));
    await first.connect();
    // A large send in flight when the thread ends.
    const pending = first.send([{ topic, records: records(0, 20_000) }], 'gzip');
    await stopProducerThread();
    const e = kafkaError(await failure(() => pending), 'forwarding');
    expect([e.code, e.retryable]).toEqual(['KAFKA_UNAVAILABLE', true]);
    expect(e.message).toMatch(/producer thread/);
    const again = kafkaError(await failure(() => first.send([{ topic, records: records(0, 10) }], 'gzip')), 'forwarding');
    expect([again.code, again.retryable]).toEqual(['KAFKA_UNAVAILABLE', true]);
    await first.disconnect();
    // As the forwarder does after a failed send: a new producer, the same records again.
    const second = producerOf('platformatic-thread', securityOf(edge));
    await second.connect();
    try {
      await second.send([{ topic, records: records(0, 20_000) }], 'gzip');
      expect(second.partitionsOf(topic)).toBe(PARTITIONS);
    } finally {
      await second.disconnect();
    }
    const ours = <T extends { key: string }>(all: T[]): T[] => all.filter((m) => m.key !== 'm-shared-security');
    const got = ours(await consume(secure.brokers, [topic], (all) => new Set(ours(all).map((m) => m.value.seq)).size >= 20_000, 90_000, securityOf(admin)));
    // The first send may have reached Kafka in part before the thread ended (in doubt: central de-duplicates).
    expect(new Set(got.map((m) => m.value.seq)).size).toBe(20_000);
    for (const m of got) expect(m.partition).toBe(partitionOf(m.key, PARTITIONS));
  }, 150_000);
});
