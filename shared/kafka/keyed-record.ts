/**
 * One record under one key on a compacted topic (grid.models): read its latest value, and change
 * it with a compare-and-set, so that two operators changing it at the same moment cannot silently
 * overwrite each other.
 *
 * Kafka has no compare-and-set on a key; a transactional producer's fencing gives one. Every writer
 * uses the same transactional id; beginning a transaction (InitProducerId) fences every earlier
 * producer with that id and aborts its open transaction. The writer begins its transaction, then
 * reads the latest committed value, builds the next one from it and commits. A writer that was
 * fenced between its read and its commit (someone else began after it) fails to commit and writes
 * nothing: a conflict, reported as such. One that was not fenced read the latest committed value,
 * because every later writer began after its commit. Readers read committed records only (the
 * kafkajs default), so an aborted write is never seen.
 */
import kafkajs, { type Kafka } from 'kafkajs';
import { GridwatchError } from '../errors.ts';
import { kafkaError } from './errors.ts';

export interface LatestRecord {
  value: Buffer | null;
  /** Offset of the record read; -1n when the key has no record. */
  offset: bigint;
}

/**
 * The latest committed value of `key` on the topic (offset -1n when it has none). Reads from the
 * beginning to the end offsets the admin reports; a transaction's commit marker is the partition's
 * last offset and is never delivered as a message, so the end is judged by each batch's last
 * offset (control records included), not by the last message.
 */
export async function readLatestRecord(kafka: Kafka, topic: string, key: string, timeoutMs = 30_000): Promise<LatestRecord> {
  const admin = kafka.admin();
  await admin.connect();
  let ends;
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const left = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const latest: LatestRecord = { value: null, offset: -1n };
  if (left.size === 0) return latest;
  const consumer = kafka.consumer({ groupId: `gridwatch-record-reader-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GridwatchError('KAFKA_UNAVAILABLE', `${topic}: not read to its end within ${timeoutMs / 1000} s`, { retryable: true })), timeoutMs);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (m.key?.toString() !== key) continue;
            latest.value = m.value;
            latest.offset = BigInt(m.offset);
          }
          if (BigInt(batch.lastOffset()) + 1n >= (left.get(batch.partition) ?? 0n)) left.delete(batch.partition);
          if (left.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return latest;
}

/** A compare-and-set that lost: another writer changed the record between this one's read and its commit. Nothing was written. */
export class RecordConflictError extends GridwatchError {
  constructor(topic: string, key: string, cause: unknown) {
    super('CONFIG_INVALID', `${topic}/${key}: changed by another writer at the same moment; nothing was written (read the record again and retry)`, { cause, details: { reason: 'conflict' } });
  }
}

/**
 * Reads the latest value of `key` and writes `next(latest)` in its place, atomically against every
 * other writer using the same `transactionalId`. `next` may throw (a refused change): nothing is
 * written. Throws RecordConflictError when another writer came in between.
 */
export async function compareAndSetRecord<T>(kafka: Kafka, o: { topic: string; key: string; transactionalId: string }, next: (latest: LatestRecord) => { value: string; result: T } | Promise<{ value: string; result: T }>): Promise<T> {
  const producer = kafka.producer({ transactionalId: o.transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    // Fences every earlier writer (and aborts its open transaction) before this one reads.
    const tx = await producer.transaction();
    let out: { value: string; result: T };
    try {
      out = await next(await readLatestRecord(kafka, o.topic, o.key));
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    try {
      await tx.send({ topic: o.topic, acks: -1, messages: [{ key: o.key, value: out.value }] });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      const e = kafkaError(err, `${o.topic}/${o.key}`);
      // Fenced: a later writer began (the broker says INVALID_PRODUCER_EPOCH or PRODUCER_FENCED).
      if (/PRODUCER_EPOCH|FENCED|fenced/i.test(`${(err as { type?: string }).type ?? ''} ${(err as Error).message} ${String((err as { cause?: Error }).cause?.message ?? '')}`)) throw new RecordConflictError(o.topic, o.key, err);
      throw e;
    }
    return out.result;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
