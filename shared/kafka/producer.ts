// The producer port of the edge's forwarder (issue 12 goal 2): an idempotent, acks=all producer
// whose send resolves only once Kafka acknowledged every record of every partition in it. Two
// adapters, chosen by configuration (GRIDWATCH_FORWARD_CLIENT): kafkajs (this file, through
// shared/kafka/send.ts's acknowledgement check) and @platformatic/kafka (platformatic-producer.ts).
// Both connect with the same TLS/SASL from shared/kafka/security.ts and put a keyed record on the
// partition Kafka's Java client would (murmur2 of the key, positive, modulo the partition count),
// so a meter stays on its partition whichever adapter a gateway runs.
import kafkajs, { type Kafka } from 'kafkajs';
import { PartitionTracker, sendBatchAcknowledged } from './send.ts';

const { CompressionTypes } = kafkajs;

/** platformatic-thread: @platformatic/kafka on a thread of its own (thread-producer.ts). */
export const PRODUCER_CLIENTS = ['kafkajs', 'platformatic', 'platformatic-thread'] as const;
export type ProducerClient = (typeof PRODUCER_CLIENTS)[number];
/** Record batch compression. zstd goes through zstd-napi in both adapters (shared/kafka/zstd.ts). */
export type RecordCodec = 'gzip' | 'zstd' | 'none';

/** One record to produce: the shape of a kafkajs Message, so the kafkajs adapter passes it as is. */
export interface OutRecord {
  /** null: no key (the record names its partition). */
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
  /** Set: the record goes to this partition; unset: the partition of its key. */
  partition?: number;
}

export interface TopicRecords {
  topic: string;
  records: OutRecord[];
}

export interface UnsentReport {
  messages: number;
  partitions: string[];
  resend: number;
}

export interface RecordProducer {
  readonly client: ProducerClient;
  /** Reaches a broker and starts the idempotent session; rejects when Kafka cannot be had. */
  connect(): Promise<void>;
  /**
   * Resolves once Kafka acknowledged every record (acks=all); rejects otherwise (the caller keeps
   * the records and sends them again through a new producer).
   */
  send(batch: TopicRecords[], codec: RecordCodec): Promise<void>;
  /** The partition count of `topic` as this producer's metadata said at its latest send there; undefined before any. */
  partitionsOf(topic: string): number | undefined;
  disconnect(): Promise<void>;
}

export interface RecordProducerOptions {
  /** Hears of every send kafkajs resolved with partitions unsent (repaired by sending them again; kafkajs only). */
  onUnsent?: (u: UnsentReport) => void;
}

const KAFKAJS_CODEC = { gzip: CompressionTypes.GZIP, zstd: CompressionTypes.ZSTD, none: CompressionTypes.None } as const;

/**
 * The kafkajs adapter: an idempotent producer with one request in flight (kafkajs keeps idempotent
 * order only then), sends checked by shared/kafka/send.ts (kafkajs 2.2.4 can resolve a sendBatch
 * with partitions unsent after a leader change, tulios/kafkajs#1798).
 */
export function kafkajsRecordProducer(kafka: Kafka, o: RecordProducerOptions = {}): RecordProducer {
  const tracker = new PartitionTracker();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: tracker.createPartitioner,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  return {
    client: 'kafkajs',
    async connect() {
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async send(batch, codec) {
      // OutRecord is a kafkajs Message: no copy.
      const topicMessages = batch.map(({ topic, records }) => ({ topic, messages: records }));
      await sendBatchAcknowledged(producer, tracker, { topicMessages, acks: -1, compression: KAFKAJS_CODEC[codec] }, { onUnsent: o.onUnsent });
    },
    partitionsOf: (topic) => tracker.partitionsOf(topic),
    disconnect: () => producer.disconnect(),
  };
}
