import type { Kafka } from 'kafkajs';
import type { KafkaSecurity } from '../../../shared/kafka/security.ts';
import { TOPICS } from '../../../shared/index.ts';
import { createKafkaClient, ensureTopicsOn, topicSpecs } from '../../../shared/kafka/index.ts';
import type { ProducerClient, RecordProducer } from '../../../shared/kafka/producer.ts';
import { createRecordProducer } from '../../../shared/kafka/record-producers.ts';
import { testKafkaSecurity, uniqueName } from '../../harness/env.ts';

export interface Consumed {
  topic: string;
  partition: number;
  key: string;
  value: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Unique Kafka names for the six v1 topics, so tests never see each other's data. */
export function uniqueTopics(prefix: string): { names: Record<keyof typeof TOPICS, string>; map: Record<string, string> } {
  const names = {} as Record<keyof typeof TOPICS, string>;
  const map: Record<string, string> = {};
  for (const [k, t] of Object.entries(TOPICS) as [keyof typeof TOPICS, string][]) {
    names[k] = uniqueName(`${prefix}-${k}`);
    map[t] = names[k];
  }
  return { names, map };
}

/** The client the gateway gives its forwarder (edge/gateway.ts). */
export function forwarderKafka(brokers: string[], clientId: string, security?: KafkaSecurity): Kafka {
  return createKafkaClient({ brokers, clientId, kafkajsLogs: 'debug', retries: 3, security: security ?? testKafkaSecurity() });
}

/**
 * The Forwarder options that pick a producer client (shared/kafka/producer.ts): kafkajs on a
 * client as the edge builds it, or @platformatic/kafka with the same brokers and security.
 */
export function forwarderClient(client: ProducerClient, brokers: string[], clientId: string, security?: KafkaSecurity): { kafka: Kafka } | { createProducer: () => RecordProducer } {
  if (client === 'kafkajs') return { kafka: forwarderKafka(brokers, clientId, security) };
  const kafka = forwarderKafka(brokers, clientId, security);
  return { createProducer: () => createRecordProducer({ client, kafka, brokers, clientId, security: security ?? testKafkaSecurity(), retries: 3 }) };
}

/** Creates the test's unique topics. */
export async function ensureTestTopics(brokers: string[], names: Partial<Record<keyof typeof TOPICS, string>>, partitions: number, security?: KafkaSecurity): Promise<void> {
  await ensureTopicsOn(createKafkaClient({ brokers, clientId: 'gw-test-topics', security: security ?? testKafkaSecurity() }), topicSpecs(names), { partitions });
}

/** Reads the topics from the beginning until `until` says enough (or the timeout passes). */
export async function consume(brokers: string[], topics: string[], until: (all: Consumed[]) => boolean, timeoutMs = 60_000, security?: KafkaSecurity): Promise<Consumed[]> {
  const kafka = createKafkaClient({ clientId: 'gw-test-consumer', brokers, security: security ?? testKafkaSecurity() });
  const consumer = kafka.consumer({ groupId: uniqueName('gw-test'), maxWaitTimeInMs: 200 });
  const all: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          all.push({ topic: batch.topic, partition: batch.partition, key: m.key?.toString() ?? '', value: JSON.parse(m.value!.toString()) as Record<string, unknown>, headers });
        }
        if (until(all)) resolveDone();
      },
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
    return all;
  } finally {
    await consumer.disconnect();
  }
}

/** Per meter, the seqs in the order Kafka holds them (one partition per meter by key). */
export function seqsByMeter(msgs: Consumed[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of msgs) {
    const id = String(m.value.meterId);
    let l = out.get(id);
    if (l === undefined) out.set(id, (l = []));
    l.push(Number(m.value.seq));
  }
  return out;
}
