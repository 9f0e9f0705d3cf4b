// The benches' Kafka connection: the GRIDWATCH_KAFKA_* variables of the environment (after
// `eval "$(gridwatch services env)"`: SASL_SSL as the admin principal), or, where a part needs
// Kafka and none is set, the harness's SASL_SSL listener as admin. Never a plaintext default.
import { kafkaPrincipalEnv, serviceEndpoints } from '../deploy/services/index.ts';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '../shared/kafka/security.ts';

export interface BenchKafka {
  brokers: string[];
  security: KafkaSecurity;
  /** The GRIDWATCH_KAFKA_* variables, for a program's config loader (`loadConfig(schema, { env })`). */
  env: Record<string, string>;
}

function fromEnv(env: NodeJS.ProcessEnv): BenchKafka {
  const vars = Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[0].startsWith('GRIDWATCH_KAFKA_') && kv[1] !== undefined));
  return { brokers: (vars.GRIDWATCH_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b !== ''), security: kafkaSecurityFromEnv(vars), env: vars };
}

/** The environment's Kafka; undefined when GRIDWATCH_KAFKA_BROKERS is not set. */
export function benchKafkaFromEnv(env: NodeJS.ProcessEnv = process.env): BenchKafka | undefined {
  const k = fromEnv(env);
  return k.brokers.length > 0 ? k : undefined;
}

/** The environment's Kafka, else the local harness's SASL_SSL listener as admin. */
export function benchKafka(env: NodeJS.ProcessEnv = process.env): BenchKafka {
  return benchKafkaFromEnv(env) ?? fromEnv(kafkaPrincipalEnv(serviceEndpoints(), 'admin'));
}
