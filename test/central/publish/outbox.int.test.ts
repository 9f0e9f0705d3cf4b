// The grid-event outbox against the real Kafka: events and snapshots land on their topics keyed
// as the readers expect; a publish to a topic that does not exist yet fails, keeps its events,
// and the next publish, once the topic exists, sends them first.
import { afterEach, describe, expect, it } from 'vitest';
import { centralMetrics } from '../../../central/metrics.ts';
import { GridEventOutbox } from '../../../central/publish/outbox.ts';
import { kafkaProducer } from '../../../central/publish/producer.ts';
import { Metrics, silentLogger, type GridEvent } from '../../../shared/index.ts';
import { createKafkaClient, ensureTopicsOn } from '../../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../../harness/env.ts';
import { event } from './fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

async function readAll(topics: string[], n: number): Promise<{ topic: string; key: string; value: string }[]> {
  const kafka = createKafkaClient({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('outbox-reader'), security: testKafkaSecurity() });
  const consumer = kafka.consumer({ groupId: uniqueName('outbox-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  const out: { topic: string; key: string; value: string }[] = [];
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => void out.push({ topic, key: String(message.key), value: String(message.value) }) });
    const end = Date.now() + 30_000;
    while (out.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500)); // anything beyond n arrives too
    return out;
  } finally {
    await consumer.disconnect();
  }
}

describe('grid-event outbox (real Kafka)', () => {
  it('keeps the events of a failed publish and sends them first once Kafka takes them', async () => {
    const brokers = testEndpoints().kafkaBrokers;
    const topics = { events: uniqueName('outbox-events'), state: uniqueName('outbox-state') };
    // Few retries: the publish to the missing topic fails in seconds rather than the policy's default.
    const kafka = createKafkaClient({ brokers, clientId: uniqueName('outbox'), retries: 1, security: testKafkaSecurity() });
    const dirty = new Set<string>(['S01']);
    const published: GridEvent[] = [];
    const outbox = new GridEventOutbox({
      producer: kafkaProducer(kafka),
      topics,
      snapshots: {
        takeSnapshots: () => {
          const out = [...dirty].map((s) => ({ key: s, value: JSON.stringify({ substationId: s }) }));
          dirty.clear();
          return out;
        },
        snapshotsFailed: (ids) => ids.forEach((s) => dirty.add(s)),
      },
      metrics: centralMetrics(new Metrics('central', { defaultMetrics: false })),
      logger: silentLogger(),
      onPublished: (e) => published.push(e),
    });
    await outbox.start();
    cleanup.push(() => outbox.stop());

    expect(await outbox.publish([event('e1')], 'anomalies')).toBe(false); // the topics do not exist yet
    expect(outbox.pending).toBe(1);
    expect(dirty.has('S01')).toBe(true);
    expect(published).toEqual([]);

    await ensureTopicsOn(createKafkaClient({ brokers, clientId: uniqueName('outbox-topics'), security: testKafkaSecurity() }), [{ topic: topics.events }, { topic: topics.state, compacted: true }], { partitions: 2 });
    expect(await outbox.publish([event('e2', { substationId: null, scope: 'grid', rootId: 'grid' })], 'tick')).toBe(true);
    expect(outbox.pending).toBe(0);
    expect(published.map((e) => e.eventId)).toEqual(['e1', 'e2']);

    const got = await readAll([topics.events, topics.state], 3);
    const events = got.filter((r) => r.topic === topics.events);
    // Keyed by substation ('grid' for grid scope); two keys may be on two partitions, so no order between them.
    expect(events.map((r) => [r.key, (JSON.parse(r.value) as GridEvent).eventId]).sort()).toEqual([['S01', 'e1'], ['grid', 'e2']]);
    expect(got.filter((r) => r.topic === topics.state).map((r) => r.key)).toEqual(['S01']);
  }, 90_000);
});
