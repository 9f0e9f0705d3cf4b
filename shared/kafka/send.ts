// kafkajs 2.2.4's sendBatch can resolve without having sent some of its partitions. Its retry loop
// (src/producer/sendMessages.js) keeps one response per broker across retries and, on a retry,
// sends only to brokers without a response. When a broker answered for its partitions and another
// broker failed (NOT_LEADER_FOR_PARTITION, a timeout while a leader is SIGSTOPped), the refreshed
// metadata can move the failed broker's partitions onto the broker that already answered: that
// broker is skipped, nothing is sent for those partitions, and sendBatch resolves as if they were
// written (tulios/kafkajs#1798, open). A caller that deletes what it sent after the resolve (the
// edge outbox) loses those records. This module checks the resolve against what was asked and
// sends the missing partitions' messages again, so "resolved" means "acknowledged" again.
import kafkajs, { type ICustomPartitioner, type Message, type Producer, type ProducerBatch, type RecordMetadata, type TopicMessages } from 'kafkajs';

const { Partitioners } = kafkajs;

/**
 * kafkajs' default (murmur2) partitioner, remembering which partition it chose for each message
 * object, so a send's acknowledgements can be checked per message (`partitionOf`).
 */
export class PartitionTracker {
  private readonly chosen = new WeakMap<Message, number>();
  /** Partitions of each topic as the producer's metadata said at its latest send. */
  private readonly counts = new Map<string, number>();

  readonly createPartitioner: ICustomPartitioner = () => {
    const partition = Partitioners.DefaultPartitioner();
    return (args) => {
      const p = partition(args);
      this.chosen.set(args.message, p);
      this.counts.set(args.topic, args.partitionMetadata.length);
      return p;
    };
  };

  /** The partition count of `topic` seen by the latest send to it; undefined before any. */
  partitionsOf(topic: string): number | undefined {
    return this.counts.get(topic);
  }

  partitionOf(message: Message): number | undefined {
    return this.chosen.get(message);
  }
}

/**
 * The messages of `topicMessages` whose (topic, partition) is not acknowledged in `acks`. A
 * message the partitioner never saw counts as not sent.
 */
export function unacknowledged(topicMessages: TopicMessages[], acks: RecordMetadata[], partitionOf: (m: Message) => number | undefined): TopicMessages[] {
  // Per topic, the acknowledged partitions as numbers: one Set lookup per message, no string each.
  const done = new Map<string, Set<number>>();
  for (const a of acks) {
    if (a.errorCode !== 0) continue;
    let set = done.get(a.topicName);
    if (set === undefined) done.set(a.topicName, (set = new Set()));
    set.add(a.partition);
  }
  const out: TopicMessages[] = [];
  for (const { topic, messages } of topicMessages) {
    const acked = done.get(topic);
    const missing = acked === undefined ? messages : messages.filter((m) => {
      const p = partitionOf(m);
      return p === undefined || !acked.has(p);
    });
    if (missing.length > 0) out.push({ topic, messages: missing });
  }
  return out;
}

export class UnsentPartitionsError extends Error {
  override readonly name = 'UnsentPartitionsError';
  /** Retryable: the records are in doubt only in that they were never sent; the caller sends again. */
  readonly retriable = true;
}

/**
 * producer.sendBatch, and again for the messages of partitions its resolve did not acknowledge
 * (at most `resends` times, then UnsentPartitionsError). The producer must have been built with
 * `createPartitioner: tracker.createPartitioner`. `onUnsent` hears of every repaired send.
 */
export async function sendBatchAcknowledged(
  producer: Producer,
  tracker: PartitionTracker,
  batch: ProducerBatch,
  opts: { resends?: number; onUnsent?: (u: { messages: number; partitions: string[]; resend: number }) => void } = {},
): Promise<RecordMetadata[]> {
  const acks: RecordMetadata[] = [];
  let pending = batch.topicMessages ?? [];
  for (let resend = 0; ; resend++) {
    acks.push(...(await producer.sendBatch({ ...batch, topicMessages: pending })));
    pending = unacknowledged(pending, acks, (m) => tracker.partitionOf(m));
    if (pending.length === 0) return acks;
    const partitions = [...new Set(pending.flatMap(({ topic, messages }) => messages.map((m) => `${topic}/${tracker.partitionOf(m) ?? '?'}`)))];
    const messages = pending.reduce((n, t) => n + t.messages.length, 0);
    opts.onUnsent?.({ messages, partitions, resend: resend + 1 });
    if (resend >= (opts.resends ?? 3)) throw new UnsentPartitionsError(`Kafka acknowledged a send without ${partitions.join(', ')} (${messages} messages) after ${resend + 1} tries`);
  }
}
