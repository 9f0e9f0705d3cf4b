// One place that builds a producer of the port (shared/kafka/producer.ts) for a configured client:
// the gateway, the benches and the tests all go through it.
import type { Kafka } from 'kafkajs';
import { kafkajsRecordProducer, type ProducerClient, type RecordProducer, type UnsentReport } from './producer.ts';
import { loadPlatformatic, platformaticRecordProducer } from './platformatic-producer.ts';
import type { KafkaSecurity } from './security.ts';
import { preloadProducerThread, threadRecordProducer } from './thread-producer.ts';

export interface RecordProducerSpec {
  client: ProducerClient;
  /** The kafkajs client (kafkajs only; it carries brokers, security and retries of its own). */
  kafka: Kafka;
  brokers: string[];
  clientId: string;
  security?: KafkaSecurity;
  retries?: number;
  connectionTimeoutMs?: number;
  zstdLevel?: number;
  /** kafkajs only: a send it resolved with partitions unsent (repaired by sending again). */
  onUnsent?: (u: UnsentReport) => void;
}

export function createRecordProducer(s: RecordProducerSpec): RecordProducer {
  if (s.client === 'kafkajs') return kafkajsRecordProducer(s.kafka, s.onUnsent ? { onUnsent: s.onUnsent } : {});
  const o = {
    brokers: s.brokers,
    clientId: s.clientId,
    ...(s.security ? { security: s.security } : {}),
    ...(s.retries !== undefined ? { retries: s.retries } : {}),
    ...(s.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: s.connectionTimeoutMs } : {}),
    ...(s.zstdLevel !== undefined ? { zstdLevel: s.zstdLevel } : {}),
  };
  return s.client === 'platformatic' ? platformaticRecordProducer(o) : threadRecordProducer(o);
}

/**
 * Loads what the client needs before its first connect: @platformatic/kafka costs ~0.3-0.5 s of
 * the loading thread (the caller's, or the producer thread's), which a running fleet's publishes
 * should not wait on.
 */
export async function preloadProducerClient(client: ProducerClient): Promise<void> {
  if (client === 'platformatic') await loadPlatformatic();
  else if (client === 'platformatic-thread') await preloadProducerThread();
}
