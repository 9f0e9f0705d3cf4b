import type { Admin } from 'kafkajs';
import type { Logger } from '../../shared/index.ts';
import type { CentralMetrics } from '../metrics.ts';

/** End offset minus committed offset of the group, per partition (the consumer-lag gauge). */
export async function measureLag(admin: Admin, groupId: string, topics: string[], gauge: CentralMetrics['lag'], logger: Logger): Promise<void> {
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      for (const p of t.partitions) {
        const end = ends.find((e: { partition: number }) => e.partition === p.partition);
        if (!end) continue;
        const from = p.offset === '-1' ? BigInt(end.low) : BigInt(p.offset);
        gauge.set({ topic: t.topic, partition: String(p.partition) }, Number(BigInt(end.high) - from));
      }
    }
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'measuring consumer lag failed');
  }
}
