// The one place a kafkajs client is built, for every program and tool: one retry, timeout and log
// policy, and the connection security (TLS/SASL from shared/kafka/security.ts) applied in one spot.
import kafkajs, { type Kafka } from 'kafkajs';
import type { KafkaSecurity } from './security.ts';
import { registerZstdCodec } from './zstd.ts';

const { Kafka: KafkaClient, logLevel } = kafkajs;
// Every client of every program reads zstd record batches (an edge may write them: forwardCompression).
registerZstdCodec();

export type { KafkaSecurity } from './security.ts';

export const PLAINTEXT: KafkaSecurity = { describe: () => 'PLAINTEXT' };

interface KafkaLog {
  debug(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  security?: KafkaSecurity;
  /** Where kafkajs' own lines go; none: they are dropped (tools, tests). */
  logger?: KafkaLog;
  /**
   * kafkajs' warnings and errors are logged at `warn`/`error` by default. 'debug' for a part that
   * classifies and logs failures itself and expects outages (the edge forwarder: kafkajs would
   * otherwise log every reconnect of a gateway whose uplink is down).
   */
  kafkajsLogs?: 'warn' | 'debug';
  /**
   * kafkajs' retries per request before the caller sees the error (default 5, 200 ms doubling to
   * 2 s). Parts with their own backoff loop pass fewer; a readiness probe passes 0.
   */
  retries?: number;
  /** Every kafkajs entry, debug ones included (tests that read what a refusal said). */
  debugLog?: (entry: object) => void;
  /** Connection and request timeouts (default 5 s and 30 s; a readiness probe wants less). */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** zstd level of the batches this process writes with CompressionTypes.ZSTD (shared/kafka/zstd.ts; process-wide). */
  zstdLevel?: number;
}

export function createKafkaClient(o: KafkaClientOptions): Kafka {
  if (o.zstdLevel !== undefined) registerZstdCodec(o.zstdLevel);
  const log = o.logger;
  const debugOnly = o.kafkajsLogs === 'debug';
  return new KafkaClient({
    clientId: o.clientId,
    brokers: o.brokers,
    connectionTimeout: o.connectionTimeoutMs ?? 5000,
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    retry: { retries: o.retries ?? 5, initialRetryTime: 200, maxRetryTime: 2000 },
    ...(o.security?.ssl ? { ssl: o.security.ssl } : {}),
    ...(o.security?.sasl ? { sasl: o.security.sasl } : {}),
    logLevel: o.debugLog ? logLevel.DEBUG : log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry) => {
      if (o.debugLog) return o.debugLog(entry.log);
      if (!log) return;
      const fields = { kafkajs: entry.namespace, ...entry.log };
      const msg = `kafkajs: ${entry.log.message}`;
      if (debugOnly) log.debug(fields, msg);
      else if (entry.level <= logLevel.ERROR) log.error(fields, msg);
      else log.warn(fields, msg);
    },
  });
}
