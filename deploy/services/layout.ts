// Where the harness keeps things, and which loopback ports it uses. Nothing lives inside the repository:
// binaries, jars, data, logs and pid files all go under one cache directory.
import { homedir } from 'node:os';
import { join } from 'node:path';

export type ServiceName = 'kafka' | 'minio' | 'influxdb' | 'mosquitto';
export const ALL_SERVICES: readonly ServiceName[] = ['kafka', 'minio', 'influxdb', 'mosquitto'];

export const HOST = '127.0.0.1';

export const PORTS = {
  kafka: { broker: 19092, controller: 19093 },
  /** Cluster node n (1..3) listens on 19n92 (broker) and 19n93 (controller). */
  kafkaCluster: [
    { nodeId: 1, broker: 19192, controller: 19193 },
    { nodeId: 2, broker: 19292, controller: 19293 },
    { nodeId: 3, broker: 19392, controller: 19393 },
  ],
  minio: { api: 19000, console: 19001 },
  influxdb: { http: 18086, rpc: 18088 },
  mosquitto: { mqtt: 11883 },
} as const;

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
