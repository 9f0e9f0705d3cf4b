// Knows how far a consumer has read each partition, and waits until it has read everything that
// was in a topic at the moment of asking (the topology and the state topic must be read to their
// end before the registry is complete or a partition's state can be imported).
import type { Admin } from 'kafkajs';

export class CatchUp {
  private readonly positions = new Map<string, bigint>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly admin: Admin) {}

  /** The consumer has processed everything below `nextOffset`. */
  advance(topic: string, partition: number, nextOffset: bigint): void {
    const k = `${topic}\u0000${partition}`;
    const prev = this.positions.get(k);
    if (prev === undefined || nextOffset > prev) this.positions.set(k, nextOffset);
    for (const w of [...this.waiters]) w();
  }

  private position(topic: string, partition: number): bigint {
    return this.positions.get(`${topic}\u0000${partition}`) ?? -1n;
  }

  /**
   * Resolves true once every partition of `topic` was read up to its end offset as of now, false
   * on timeout (a compacted partition whose last records were removed can end below its high
   * watermark; the caller logs and goes on).
   */
  async waitFor(topic: string, timeoutMs: number): Promise<boolean> {
    const ends = await fetchTopicOffsetsRetrying(this.admin, topic, timeoutMs);
    const todo = ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => ({ partition: e.partition, high: BigInt(e.high) }));
    const done = (): boolean => todo.every((t) => this.position(topic, t.partition) >= t.high);
    if (done()) return true;
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(false);
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}

/**
 * `admin.fetchTopicOffsets`, retried while Kafka answers with a retriable error (a topic created a
 * moment ago has no partition leader yet: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE), with
 * backoff from 100 ms to 2 s, for at most `timeoutMs`; other errors and the last one are thrown.
 * Also retried: the TypeError kafkajs 2.2.4 throws (`Cannot destructure property 'partitions' of
 * 'high.pop(...)'`, src/admin/index.js) when the broker it asked has no partitions of a topic
 * created a moment ago in its metadata yet; seen on the 3-broker cluster at central's start.
 */
export async function fetchTopicOffsetsRetrying(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string, timeoutMs: number): ReturnType<Admin['fetchTopicOffsets']> {
  const end = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(2000, delay * 2)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true || isNoPartitionsYet(err);
      if (!retriable || Date.now() + delay > end) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** kafkajs' fetchTopicOffsets on a topic whose metadata has no partitions yet (see above). */
function isNoPartitionsYet(err: unknown): boolean {
  return err instanceof TypeError && /property 'partitions' of '(high|low)\.pop\(\.\.\.\)'/.test(err.message);
}
