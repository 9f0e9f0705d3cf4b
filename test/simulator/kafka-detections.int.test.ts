// The scorer reading detections back from the real Kafka the harness runs.
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { readDetectionsFromKafka } from '../../simulator/kafka-detections.ts';
import { score, truthToDetections } from '../../simulator/score.ts';
import { simulateToArrays } from '../../simulator/generate.ts';
import { generateTopology } from '../../simulator/topology.ts';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../harness/env.ts';

const { Partitioners } = kafkajs;

describe('readDetectionsFromKafka', () => {
  const brokers = testEndpoints().kafkaBrokers;
  const kafka = createKafkaClient({ clientId: 'sim-score-test', brokers, security: testKafkaSecurity() });
  const admin = kafka.admin();
  const topics = { anomalies: uniqueName('sim-anomalies'), events: uniqueName('sim-events') };

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topics.anomalies, topics.events] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reads both topics from the beginning until caught up, and the perfect detections score perfectly', async () => {
    const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
    const topo = generateTopology({ meters: 60, seed: 1 }).actual;
    const { truth } = simulateToArrays({ topology: topo, from: T0, to: T0 + 2 * 3_600_000, intervalMs: 10_000, seed: 9, randomFaults: 6 });
    const { anomalies, events } = truthToDetections(truth);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: topics.anomalies, numPartitions: 3 }, { topic: topics.events, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: topics.anomalies, acks: -1, messages: [...anomalies.map((a) => ({ key: a.substationId ?? 'grid', value: JSON.stringify(a) })), { key: 'x', value: 'not json' }] });
    await producer.send({ topic: topics.events, acks: -1, messages: events.map((e) => ({ key: e.substationId ?? 'grid', value: JSON.stringify(e) })) });
    await producer.disconnect();

    const got = await readDetectionsFromKafka({ brokers, topics, timeoutMs: 60_000 });
    expect(got.anomalies).toHaveLength(anomalies.length);
    expect(got.events).toHaveLength(events.length);
    expect(got.invalid).toBe(1);
    const r = score(truth, got.anomalies, got.events);
    expect(r.anomalyTotal.f1).toBe(1);
    expect(r.eventTotal.f1).toBe(1);
  });

  it('returns nothing for topics that do not exist', async () => {
    const got = await readDetectionsFromKafka({ brokers, topics: { anomalies: uniqueName('none-a'), events: uniqueName('none-e') } });
    expect(got).toEqual({ anomalies: [], events: [], invalid: 0 });
  });
});
