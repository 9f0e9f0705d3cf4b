// Throwaway topics in the harness's own Kafka: every test run, benchmark and demo makes topics
// under a fresh prefix and none of them is needed after a few hours. Left alone they pile up
// (11,000 partitions after one day of work here) and a broker start loads every one of them:
// more than 120 s on two cores, which failed a CI run. The broker the harness provisions into
// ~/.cache/gridwatch is a development server, so its throwaway topics are deleted once they are old.
import type { KafkaSecurity } from '../../shared/kafka/security.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import type { Log } from './process.ts';

/** Ages past which a throwaway topic is deleted: test and bench prefixes, and the demo's prefixes. */
export const PRUNE_AGES = { testMs: 3 * 3600_000, demoMs: 24 * 3600_000 };

const EARLIEST = Date.UTC(2024, 0, 1);
// test/harness uniqueName and the benches: `<prefix>-<Date.now() base 36, 8 chars>[-<hex or digits>]`.
const TEST_STAMP = /-([0-9a-z]{8})(?:-[0-9a-f]+)?(?=[.-]|$)/g;
// the demo and the soak: `demo-20261201-185800`, `demo-soak-20261201-172927` (UTC).
const DEMO_STAMP = /^demo(?:-[a-z0-9]+)*-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?=[.-]|$)/;

export type ThrowawayStamp = { kind: 'test' | 'demo'; createdMs: number };

/**
 * When a topic's name says it was made as a throwaway, and when. Undefined for every other topic
 * (Kafka's own, `grid.*`, anything an operator named): those are never pruned. A base-36 stamp
 * counts only when it decodes to a time between 2024 and `nowMs`, so ordinary words of eight
 * letters (`-consumer`) are not taken for stamps.
 */
export function throwawayStamp(topic: string, nowMs: number): ThrowawayStamp | undefined {
  if (topic.startsWith('__') || topic.startsWith('grid.')) return undefined;
  const demo = DEMO_STAMP.exec(topic);
  if (demo) {
    const [, y, mo, d, h, mi, s] = demo.map(Number);
    const createdMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    if (createdMs >= EARLIEST && createdMs <= nowMs) return { kind: 'demo', createdMs };
  }
  for (const m of topic.matchAll(TEST_STAMP)) {
    const createdMs = parseInt(m[1]!, 36);
    if (createdMs >= EARLIEST && createdMs <= nowMs) return { kind: 'test', createdMs };
  }
  return undefined;
}

/** The topics of `topics` that are throwaways older than their age in `ages`. */
export function topicsToPrune(topics: readonly string[], nowMs: number, ages = PRUNE_AGES): string[] {
  return topics.filter((t) => {
    const stamp = throwawayStamp(t, nowMs);
    if (!stamp) return false;
    return nowMs - stamp.createdMs > (stamp.kind === 'demo' ? ages.demoMs : ages.testMs);
  });
}

/**
 * Deletes the old throwaway topics of the broker at `brokers` (in batches, so one request never
 * names thousands). Returns how many were deleted; a failure is logged and returns what was done,
 * never fails the caller: pruning is housekeeping.
 */
export async function pruneThrowawayTopics(opts: {
  brokers: string[]; security?: KafkaSecurity; log: Log; nowMs?: number; ages?: typeof PRUNE_AGES;
}): Promise<number> {
  const kafka = createKafkaClient({ clientId: 'gridwatch-services-prune', brokers: opts.brokers, ...(opts.security ? { security: opts.security } : {}), requestTimeoutMs: 60_000, retries: 2 });
  const admin = kafka.admin();
  let deleted = 0;
  try {
    await admin.connect();
    const doomed = topicsToPrune(await admin.listTopics(), opts.nowMs ?? Date.now(), opts.ages);
    if (doomed.length === 0) return 0;
    const t = Date.now();
    for (let i = 0; i < doomed.length; i += 100) {
      const batch = doomed.slice(i, i + 100);
      await admin.deleteTopics({ topics: batch, timeout: 60_000 });
      deleted += batch.length;
    }
    opts.log(`[services] kafka: deleted ${deleted} throwaway topic(s) of old test runs, benchmarks and demos in ${((Date.now() - t) / 1000).toFixed(1)}s (see docs/services.md)`);
  } catch (err) {
    opts.log(`[services] kafka: pruning old throwaway topics stopped after ${deleted}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return deleted;
}
