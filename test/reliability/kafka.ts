/** Reading a topic back in the reliability tests, with the environment's Kafka security. */
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../harness/env.ts';

export interface Record_ {
  key: string | null;
  value: Record<string, unknown>;
  partition: number;
}

/** Reads `topic` from the beginning until `until(all)` holds (then `settleMs` more) or `timeoutMs` passes. */
export async function readTopic(topic: string, until: (all: Record_[]) => boolean, opts: { timeoutMs?: number; settleMs?: number } = {}): Promise<Record_[]> {
  const kafka = createKafkaClient({ clientId: 'reliability-reader', brokers: testEndpoints().kafkaBrokers, security: testKafkaSecurity() });
  const consumer = kafka.consumer({ groupId: uniqueName('reliability-reader'), maxWaitTimeInMs: 200 });
  const out: Record_[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) out.push({ key: m.key?.toString() ?? null, value: JSON.parse(m.value!.toString()) as Record<string, unknown>, partition: batch.partition });
        if (until(out)) done();
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, opts.timeoutMs ?? 120_000))]);
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 1000));
    return out;
  } finally {
    await consumer.disconnect();
  }
}

/** The GRIDWATCH_KAFKA_TLS* / GRIDWATCH_KAFKA_SASL* variables of this process, for configs loaded from an explicit env. */
export function kafkaSecurityEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && /^GRIDWATCH_KAFKA_(TLS|SASL)/.test(k)) out[k] = v;
  return out;
}
