import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '../../shared/index.ts';
import { kafkaError } from './kafka-errors.ts';

export type TopicKey = keyof typeof TOPICS;

/** Contract name (as in contracts/v1/<name>.schema.json) carried in the `gridwatch-contract` header. */
export const CONTRACT_OF_TOPIC: Record<string, string> = {
  [TOPICS.readings]: 'forwarded-reading/v1',
  [TOPICS.anomalies]: 'anomaly/v1',
  [TOPICS.events]: 'grid-event/v1',
  [TOPICS.edgeStatus]: 'edge-status/v1',
  [TOPICS.topology]: 'topology-entry/v1',
  [TOPICS.gaps]: 'gap/v1',
};

/**
 * Creates the six v1 topics if missing. `grid.topology` is compacted (latest entry per meter is
 * the registry); the others are time-retained. `topics` renames them (tests use unique names).
 */
export async function ensureTopics(
  brokers: string[],
  opts: { partitions?: number; replicationFactor?: number; topics?: Partial<Record<TopicKey, string>> } = {},
): Promise<void> {
  const names = { ...TOPICS, ...opts.topics };
  const admin = new Kafka({ clientId: 'gridwatch-topics', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000 }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = (Object.keys(names) as TopicKey[]).filter((k) => !existing.has(names[k]));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((k) => ({
        topic: names[k],
        numPartitions: opts.partitions ?? 6,
        replicationFactor: opts.replicationFactor ?? 1,
        configEntries: k === 'topology' ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    });
  } catch (err) {
    throw kafkaError(err, 'creating topics');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
