/**
 * Reads detected anomalies and grid events back from Kafka for the scorer: every partition of
 * `grid.anomalies` and `grid.events` from the beginning up to the high watermark seen at start
 * ("caught up"), with a throwaway consumer group. The only file of the simulator that talks to
 * Kafka (through shared/kafka).
 */
import { randomBytes } from 'node:crypto';
import { TOPICS, validators, type Anomaly, type GridEvent } from '../shared/contracts/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import { createKafkaClient } from '../shared/kafka/client.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../shared/kafka/security.ts';

export interface KafkaDetections {
  anomalies: Anomaly[];
  events: GridEvent[];
  /** Records that were not valid v1 anomalies/events (counted, not trusted). */
  invalid: number;
}

/** `security`: the connection's TLS/SASL (default: the GRIDWATCH_KAFKA_* variables of the environment). */
export async function readDetectionsFromKafka(opts: { brokers: string[]; timeoutMs?: number; topics?: { anomalies: string; events: string }; security?: KafkaSecurity }): Promise<KafkaDetections> {
  const topics = opts.topics ?? { anomalies: TOPICS.anomalies, events: TOPICS.events };
  const kafka = createKafkaClient({ clientId: 'gridwatch-score', brokers: opts.brokers, connectionTimeoutMs: 3000, retries: 3, security: opts.security ?? kafkaSecurityFromEnv() });
  const admin = kafka.admin();
  const out: KafkaDetections = { anomalies: [], events: [], invalid: 0 };
  const remaining = new Map<string, number>(); // `${topic}:${partition}` -> high watermark
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    for (const topic of [topics.anomalies, topics.events]) {
      if (!existing.has(topic)) continue;
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (Number(p.high) > Number(p.low)) remaining.set(`${topic}:${p.partition}`, Number(p.high));
      }
    }
  } catch (err) {
    throw new GridwatchError('KAFKA_UNAVAILABLE', `cannot read topic offsets from ${opts.brokers.join(',')}: ${(err as Error).message}`, { retryable: true, cause: err });
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return out;

  const consumer = kafka.consumer({ groupId: `gridwatch-score-${randomBytes(6).toString('hex')}` });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set([...remaining.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GridwatchError('KAFKA_UNAVAILABLE', `did not catch up on ${[...remaining.keys()].join(', ')} within ${opts.timeoutMs ?? 60_000} ms`, { retryable: true })), opts.timeoutMs ?? 60_000);
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }) => {
            if (message.value) {
              let value: unknown;
              try {
                value = JSON.parse(message.value.toString());
              } catch {
                value = undefined;
              }
              if (topic === topics.anomalies && validators.anomaly.check(value)) out.anomalies.push(value);
              else if (topic === topics.events && validators.gridEvent.check(value)) out.events.push(value);
              else out.invalid++;
            }
            const key = `${topic}:${partition}`;
            const high = remaining.get(key);
            if (high !== undefined && Number(message.offset) + 1 >= high) remaining.delete(key);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
