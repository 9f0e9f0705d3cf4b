// Produce and consume through the real Kafka (KRaft) that the harness runs.
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../harness/env.ts';

const { Partitioners } = kafkajs;

describe('kafka smoke', () => {
  const kafka = createKafkaClient({ clientId: 'smoke', brokers: testEndpoints().kafkaBrokers, security: testKafkaSecurity() });
  const topic = uniqueName('smoke-readings');
  const admin = kafka.admin();

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('produces messages and reads them all back in order with a consumer group', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const count = 50;
    const sent = Array.from({ length: count }, (_, i) => ({ key: 'meter-1', value: JSON.stringify({ meterId: 'meter-1', seq: i, voltage: 230 + (i % 5) }) }));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    const received: { key: string; value: string; offset: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', offset: message.offset });
          if (received.length === count) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect(received.map((m) => m.value)).toEqual(sent.map((m) => m.value));
    expect(received.every((m) => m.key === 'meter-1')).toBe(true);
    expect(received.map((m) => Number(m.offset))).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});
