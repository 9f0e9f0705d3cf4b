// Kafka plumbing for central: the client, topic creation, and which partition a key lands on.
// The only central files that import kafkajs are in central/consume/ (and the pipeline's producer).
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { GridwatchError, type Logger } from '../../shared/index.ts';

export function createKafka(opts: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: 5000,
    retry: { retries: 8, initialRetryTime: 200 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const fields = { kafkajs: entry.namespace, ...entry.log };
      if (entry.level <= logLevel.ERROR) opts.logger.error(fields, `kafkajs: ${entry.log.message}`);
      else opts.logger.warn(fields, `kafkajs: ${entry.log.message}`);
    },
  });
}

export interface TopicSpec {
  topic: string;
  compacted?: boolean;
}

/** Creates the topics that are missing (6 partitions, as the edge does); existing ones are left alone. */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], partitions = 6): Promise<string[]> {
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: partitions,
        replicationFactor: -1,
        configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    });
    return missing.map((t) => t.topic);
  } catch (err) {
    throw new GridwatchError('KAFKA_UNAVAILABLE', `creating topics: ${(err as Error).message}`, { retryable: true, cause: err });
  }
}

export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const n = md.topics[0]?.partitions.length ?? 0;
  if (n === 0) throw new GridwatchError('KAFKA_UNAVAILABLE', `topic ${topic} has no partitions (does it exist?)`, { retryable: true });
  return n;
}

/**
 * The partition a keyed record lands on with kafkajs' default (Java-compatible murmur2)
 * partitioner, which is what the edge's producer uses. Central uses it to know which instance owns
 * a substation's heartbeats and gaps (keyed by edgeId, elsewhere) without waiting for an anomaly.
 */
export function partitionOf(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return partitioner({ topic: 'x', partitionMetadata, message: { key, value: null } });
}
