// Where the harness keeps things, and which loopback ports it uses. Nothing lives inside the repository:
// binaries, jars, data, logs and pid files all go under one cache directory.
import { homedir } from 'node:os';
import { join } from 'node:path';

export type ServiceName = 'kafka' | 'minio' | 'influxdb' | 'mosquitto' | 'toxiproxy';
export const ALL_SERVICES: readonly ServiceName[] = ['kafka', 'minio', 'influxdb', 'mosquitto', 'toxiproxy'];

export const HOST = '127.0.0.1';

export const PORTS = {
  /** broker: the PLAINTEXT listener; saslSsl: SASL_SSL (TLS + SCRAM/PLAIN); controller: TLS with client certificates. */
  kafka: { broker: 19092, controller: 19093, saslSsl: 19094 },
  /** Cluster node n (1..3) listens on 19n92 (plaintext), 19n93 (controller) and 19n94 (SASL_SSL). */
  kafkaCluster: [
    { nodeId: 1, broker: 19192, controller: 19193, saslSsl: 19194 },
    { nodeId: 2, broker: 19292, controller: 19293, saslSsl: 19294 },
    { nodeId: 3, broker: 19392, controller: 19393, saslSsl: 19394 },
  ],
  minio: { api: 19000, console: 19001 },
  influxdb: { http: 18086, rpc: 18088 },
  mosquitto: { mqtt: 11883 },
  /** toxiproxy's HTTP API; the proxies the reliability tests create take ports of their own. */
  toxiproxy: { api: 18474 },
} as const;

/**
 * What the PLAINTEXT Kafka listener (19092, 19n92) grants. 'open' makes User:ANONYMOUS a super
 * user there; 'refused' grants it nothing (every request is refused). Only the plaintext listener
 * yields User:ANONYMOUS: SASL_SSL names the SASL user and the controller listener the
 * certificate's CN. It stays 'open' for the bench's side-by-side yardstick (bench/kafka-security.ts)
 * and the explicit, logged opt-outs (`services env --kafka-plaintext`,
 * GRIDWATCH_TEST_KAFKA_SECURE=false); nothing uses it by default (test/lint/kafka-security.test.ts).
 * 'refused' is tested on a broker of its own. Changing it restarts Kafka once on the next `services up`.
 */
export const KAFKA_PLAINTEXT_LISTENER: 'open' | 'refused' = 'open';

export const MINIO_CREDENTIALS = { accessKey: 'gridwatch', secretKey: 'gridwatch-secret' } as const;
/** InfluxDB 1.8 runs with auth disabled; the client still needs some org and token, which 1.8 ignores. */
export const INFLUX_AUTH = { token: '', org: 'gridwatch' } as const;

export function cacheDir(): string {
  const fromEnv = process.env.GRIDWATCH_CACHE_DIR;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : join(homedir(), '.cache', 'gridwatch');
}

export const paths = {
  bin: () => join(cacheDir(), 'bin'),
  jars: () => join(cacheDir(), 'jars'),
  data: () => join(cacheDir(), 'data'),
  etc: () => join(cacheDir(), 'etc'),
  logs: () => join(cacheDir(), 'logs'),
  run: () => join(cacheDir(), 'run'),
  log: (name: string) => join(cacheDir(), 'logs', `${name}.log`),
  pid: (name: string) => join(cacheDir(), 'run', `${name}.pid`),
};
