// How the demo's programs reach Kafka: over SASL_SSL (TLS with the local CA, SCRAM-SHA-512 and a
// client certificate), each as the principal it would be in a deployment: the edges as User:edge
// (may write the five topics an edge writes, read nothing, create nothing), central as
// User:central, and the demo's own tools (topic creation, offsets, the scorer) as User:admin.
// Before anything starts the run's topic prefix and consumer group are granted to edge and
// central (deploy/services/kafka-acl.ts) and the topics are created by admin.
import { grantKafkaPrefix, kafkaPrincipalEnv, type ServiceEndpoints } from '../../deploy/services/index.ts';
import { createKafkaClient, ensureTopicsOn, topicSpecs, type TopicNames } from '../../shared/kafka/index.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../../shared/kafka/security.ts';

/** The harness's SASL_SSL listener, its CA and the principals' credentials (`serviceEndpoints().kafkaSecure`). */
export type DemoKafkaEndpoints = NonNullable<ServiceEndpoints['kafkaSecure']>;

/** Partitions of the run's topics: the edges' and central's default for topics they create. */
export const DEMO_TOPIC_PARTITIONS = 6;

export interface DemoKafka {
  brokers: string[];
  /** The demo's own connection (admin). */
  admin: KafkaSecurity;
  /** GRIDWATCH_KAFKA_* of each program: its principal's credentials, and the edges create no topics. */
  env: { edge: Record<string, string>; central: Record<string, string> };
  /** One line for the log: how each program connects (never a secret). */
  describe: string;
}

export function demoKafka(k: DemoKafkaEndpoints): DemoKafka {
  const e = { kafkaSecure: k };
  const edge = kafkaPrincipalEnv(e, 'edge');
  const central = kafkaPrincipalEnv(e, 'central');
  const admin = kafkaSecurityFromEnv(kafkaPrincipalEnv(e, 'admin'));
  return {
    brokers: k.brokers,
    admin,
    env: { edge: { ...edge, GRIDWATCH_ENSURE_TOPICS: 'false' }, central },
    describe: `Kafka ${k.brokers.join(',')}: edges ${kafkaSecurityFromEnv(edge).describe()}, central ${kafkaSecurityFromEnv(central).describe()}, demo tools ${admin.describe()}`,
  };
}

/**
 * ACLs of the run's prefix and group for edge and central, then the run's topics (as admin). A
 * broker the demo has just started may still be loading its partitions and answer "does not host
 * this topic-partition" for a while: tried again, a few times, before giving up.
 */
export async function prepareDemoKafka(k: DemoKafka, run: { topicPrefix: string; centralGroup: string; topics: TopicNames }, log: (line: string) => void = () => undefined): Promise<string[]> {
  await grantKafkaPrefix({ topicPrefix: run.topicPrefix, centralGroup: run.centralGroup });
  const kafka = createKafkaClient({ clientId: 'gridwatch-demo', brokers: k.brokers, security: k.admin });
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicsOn(kafka, topicSpecs(run.topics), { partitions: DEMO_TOPIC_PARTITIONS });
    } catch (err) {
      if (attempt >= 6) throw err;
      log(`kafka: creating the run's topics failed (${(err as Error).message}); trying again in 5 s`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}
