// The producer port of the grid-event outbox, and its kafkajs adapter (the only kafkajs producer
// of central): idempotent, one request in flight, acks=all, gzip. Every send is checked against
// the partitions kafkajs acknowledged (shared/kafka/send.ts: kafkajs 2.2.4 can resolve a send
// during a leader change without having sent some partitions), so "resolved" means written.
import kafkajs, { type Kafka } from 'kafkajs';
import { PartitionTracker, sendBatchAcknowledged } from '../../shared/kafka/index.ts';

export interface OutRecord {
  key: string;
  value: string;
}

export interface ProducerPort {
  connect(): Promise<void>;
  /** One produce request; resolves once every record is acknowledged by all in-sync replicas. */
  send(topicRecords: { topic: string; records: OutRecord[] }[]): Promise<void>;
  disconnect(): Promise<void>;
}

export function kafkaProducer(kafka: Kafka): ProducerPort {
  const partitions = new PartitionTracker();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: partitions.createPartitioner });
  return {
    connect: () => producer.connect(),
    send: async (topicRecords) => {
      await sendBatchAcknowledged(producer, partitions, { topicMessages: topicRecords.map((t) => ({ topic: t.topic, messages: t.records })), acks: -1, compression: kafkajs.CompressionTypes.GZIP });
    },
    disconnect: () => producer.disconnect(),
  };
}

/** A record whose value may be null: the tombstone that removes its key from a compacted topic. */
export interface KeyedRecord {
  key: string;
  value: string | null;
}

/** The operators' writes (event actions, maintenance windows): one topic, a few records, acks=all. */
export interface RecordWriter {
  connect(): Promise<void>;
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: KeyedRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export function kafkaRecordWriter(kafka: Kafka): RecordWriter {
  const partitions = new PartitionTracker();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: partitions.createPartitioner });
  return {
    connect: () => producer.connect(),
    send: async (topic, records) => {
      await sendBatchAcknowledged(producer, partitions, { topicMessages: [{ topic, messages: records }], acks: -1 });
    },
    disconnect: () => producer.disconnect(),
  };
}
