/**
 * The cost of Kafka security, side by side in one run against the harness's broker: an edge-style
 * producer (idempotent, acks=all, gzip, batches like the Forwarder's) and a central-style consumer
 * (a consumer group reading a topic from the start, batch by batch) over the PLAINTEXT listener
 * and over SASL_SSL (TLS 1.3, SCRAM-SHA-512, client certificate), as the edge and central
 * principals. Rounds alternate plaintext/secure (and which goes first) so both see the same
 * machine; the figure is the secure/plaintext ratio of the best round of each. The plaintext side needs the
 * 'open' plaintext listener (KAFKA_PLAINTEXT_LISTENER); when it is refused the part says so.
 */
import { randomBytes } from 'node:crypto';
import kafkajs, { type Kafka as KafkaClient } from 'kafkajs';
import { KAFKA_PLAINTEXT_LISTENER, grantKafkaPrefix, kafkaAcls, serviceEndpoints, type KafkaPrincipal } from '../deploy/services/index.ts';
import { createKafkaClient } from '../shared/kafka/client.ts';
import { kafkaSecurity, type KafkaSecurity } from '../shared/kafka/security.ts';
import type { BenchFigure } from './figures.ts';
import { loadProbe } from './report.ts';

const { AclPermissionTypes, CompressionTypes } = kafkajs;

export interface KafkaSecurityBenchOptions {
  /** Records per round (default 60,000). */
  readings?: number;
  rounds?: number;
  batch?: number;
  log?: (line: string) => void;
}

const principalSecurity = (p: KafkaPrincipal, caFile: string): KafkaSecurity =>
  kafkaSecurity({ kafkaTls: true, kafkaTlsCaFile: caFile, kafkaTlsCertFile: p.certFile, kafkaTlsKeyFile: p.keyFile, kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: p.username, kafkaSaslPasswordFile: p.passwordFile });

const client = (brokers: string[], security?: KafkaSecurity): KafkaClient =>
  createKafkaClient({ clientId: 'bench-kafka-security', brokers, ...(security ? { security } : {}), connectionTimeoutMs: 10_000 });

/** A forwarded reading's size and shape (about 200 bytes of JSON). */
function records(n: number): { key: string; value: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const meterId = `m-${(i % 2000).toString().padStart(5, '0')}`;
    return { key: meterId, value: JSON.stringify({ meterId, seq: i, ts: 1_764_000_000_000 + i * 1000, voltage: 230 + (i % 7) / 10, current: 4.2, powerFactor: 0.97, edgeId: 'edge-bench', substationId: 'sub-1' }) };
  });
}

async function produce(kafka: KafkaClient, topic: string, rows: { key: string; value: string }[], batch: number): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const t = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    await producer.sendBatch({ topicMessages: [{ topic, messages: rows.slice(i, i + batch) }], acks: -1, compression: CompressionTypes.GZIP });
  }
  const rate = (rows.length / (performance.now() - t)) * 1000;
  await producer.disconnect();
  return rate;
}

/**
 * Catch-up of a new group member reading the topic from the start, timed from run() (join, sync,
 * fetches). Fetches are capped at 64 KiB per partition so the read takes many round trips, each
 * paying whatever TLS costs, as a consumer behind by more than one fetch does.
 */
async function consume(kafka: KafkaClient, topic: string, groupId: string, expected: number): Promise<number> {
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 64 * 1024, maxBytes: 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  const first = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumer read ${seen} of ${expected} in 120 s`)), 120_000);
    void consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= expected) {
          clearTimeout(timer);
          resolve((seen / (performance.now() - first)) * 1000);
        }
      },
    });
  });
  try {
    return await done;
  } finally {
    await consumer.disconnect();
  }
}

export async function benchKafkaSecurity(opts: KafkaSecurityBenchOptions = {}): Promise<Record<string, unknown>> {
  const probe = loadProbe();
  const log = opts.log ?? (() => undefined);
  const n = opts.readings ?? 60_000;
  const rounds = opts.rounds ?? 3;
  const batch = opts.batch ?? 500;
  const e = serviceEndpoints();
  const secure = e.kafkaSecure;
  if (!secure) return { skipped: 'no SASL_SSL endpoint' };
  if (KAFKA_PLAINTEXT_LISTENER !== 'open') return { skipped: `the plaintext listener is ${KAFKA_PLAINTEXT_LISTENER}: no yardstick` };
  const run = `bench-kafkasec-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}.`;
  const group = `${run}central`;
  const admin = client(secure.brokers, principalSecurity(secure.principals.admin, secure.caFile)).admin();
  await admin.connect();
  const topics: string[] = [];
  for (let r = 0; r < rounds; r++) for (const mode of ['plain', 'secure']) topics.push(`${run}${mode}-${r}.grid.readings`);
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })) });
  const prefixes = topics.map((t) => t.slice(0, -'grid.readings'.length));
  for (const p of prefixes) await grantKafkaPrefix({ topicPrefix: p, centralGroup: group });
  const rows = records(n);
  const best = { producePlain: 0, produceSecure: 0, consumePlain: 0, consumeSecure: 0 };
  try {
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always meets a warmer broker.
      for (const mode of r % 2 === 0 ? (['plain', 'secure'] as const) : (['secure', 'plain'] as const)) {
        const topic = `${run}${mode}-${r}.grid.readings`;
        const edge = mode === 'plain' ? client(e.kafkaBrokers) : client(secure.brokers, principalSecurity(secure.principals.edge, secure.caFile));
        const central = mode === 'plain' ? client(e.kafkaBrokers) : client(secure.brokers, principalSecurity(secure.principals.central, secure.caFile));
        const p = await produce(edge, topic, rows, batch);
        const c = await consume(central, topic, `${group}.${mode}-${r}`, n);
        const key = mode === 'plain' ? 'Plain' : 'Secure';
        best[`produce${key}`] = Math.max(best[`produce${key}`], p);
        best[`consume${key}`] = Math.max(best[`consume${key}`], c);
        log(`round ${r + 1} ${mode === 'plain' ? 'PLAINTEXT' : 'SASL_SSL '}: producer ${Math.round(p)} records/s, consumer ${Math.round(c)} records/s`);
      }
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    const filters = prefixes.flatMap((p) => kafkaAcls({ topicPrefix: p, centralGroup: group })).map((acl) => ({ ...acl, permissionType: AclPermissionTypes.ALLOW }));
    await admin.deleteAcls({ filters }).catch(() => undefined);
    await admin.disconnect();
  }
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  const out = {
    records: n,
    rounds,
    batch,
    producerPlaintextPerSec: Math.round(best.producePlain),
    producerSaslSslPerSec: Math.round(best.produceSecure),
    ratioProducerSaslSslVsPlaintext: ratio(best.produceSecure, best.producePlain),
    consumerPlaintextPerSec: Math.round(best.consumePlain),
    consumerSaslSslPerSec: Math.round(best.consumeSecure),
    ratioConsumerSaslSslVsPlaintext: ratio(best.consumeSecure, best.consumePlain),
  };
  log(`SASL_SSL/PLAINTEXT: producer ${out.ratioProducerSaslSslVsPlaintext}, consumer ${out.ratioConsumerSaslSslVsPlaintext}`);
  // No goal: the figure is what security costs on this machine, to be weighed, not a pass mark.
  const figures: BenchFigure[] = [
    { id: 'kafka.security.producer', figure: 'edge-style producer over SASL_SSL + mTLS (edge principal)', value: out.producerSaslSslPerSec, unit: 'records/s', higherIsBetter: true, yardstick: { name: 'PLAINTEXT', value: out.producerPlaintextPerSec }, ratio: out.ratioProducerSaslSslVsPlaintext },
    { id: 'kafka.security.consumer', figure: 'central-style consumer group over SASL_SSL + mTLS (central principal)', value: out.consumerSaslSslPerSec, unit: 'records/s', higherIsBetter: true, yardstick: { name: 'PLAINTEXT', value: out.consumerPlaintextPerSec }, ratio: out.ratioConsumerSaslSslVsPlaintext },
  ];
  return { figures, load: probe.end(), ...out };
}
