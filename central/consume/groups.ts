// The consumer groups central joins, by name, and the one-time move of the anomalies' committed
// offsets from the shared group into their own (central/README.md, "Consumers and groups").
import type { Admin } from 'kafkajs';
import type { Logger } from '../../shared/index.ts';

/**
 * The group of the anomalies consumer, shared by every instance like `centralGroup` itself (the
 * ACLs grant the central principal `centralGroup` as a prefix, so no new grant is needed).
 */
export function anomaliesGroupId(centralGroup: string): string {
  return `${centralGroup}.anomalies`;
}

/**
 * Before the anomalies group is first joined: when it has no committed offset for `topic` and the
 * shared group has (an installation from before the anomalies had a group of their own), the
 * shared group's offsets are copied, so the new group neither reads the retained anomalies again
 * (archived twice) nor skips any. Kafka refuses the copy while the group has members; then another
 * instance joined it first, which copied them before it joined, and nothing is done here.
 * Returns the partitions copied (0 when there was nothing to do).
 */
export async function seedOffsetsFrom(admin: Admin, topic: string, from: string, to: string, logger: Logger): Promise<number> {
  const [target] = await admin.fetchOffsets({ groupId: to, topics: [topic] });
  if ((target?.partitions ?? []).some((p) => p.offset !== '-1')) return 0;
  const [source] = await admin.fetchOffsets({ groupId: from, topics: [topic] });
  const partitions = (source?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => ({ partition: p.partition, offset: p.offset }));
  if (partitions.length === 0) return 0;
  try {
    await admin.setOffsets({ groupId: to, topic, partitions });
  } catch (err) {
    logger.info({ err: (err as Error).message, from, to, topic }, 'anomalies offsets not copied: the group already has members');
    return 0;
  }
  logger.info({ from, to, topic, partitions: partitions.length }, 'committed anomalies offsets copied from the shared group into the anomalies group');
  return partitions.length;
}
