import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Metrics, silentLogger } from '../../shared/index.ts';
import { loadEdgeConfig, type EdgeConfig } from '../../edge/config.ts';
import { EdgeGateway } from '../../edge/gateway.ts';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { testEndpoints, testKafkaEnv, testKafkaSecurity, uniqueName } from '../harness/env.ts';

/** Config for an in-process gateway on ephemeral ports, its own data dir and its own Kafka topic names. */
export function edgeTestConfig(name: string, env: Record<string, string> = {}): EdgeConfig {
  return loadEdgeConfig({
    env: {
      GRIDWATCH_EDGE_ID: name.slice(0, 60),
      GRIDWATCH_DATA_DIR: mkdtempSync(join(tmpdir(), 'gridwatch-edge-test-')),
      ...testKafkaEnv(),
      GRIDWATCH_KAFKA_TOPIC_PREFIX: `${name}.`,
      GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '3',
      GRIDWATCH_MQTT_HOST: '127.0.0.1',
      GRIDWATCH_MQTT_PORT: '0',
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: '0',
      GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
      GRIDWATCH_DRAIN_TIMEOUT_MS: '5000',
      ...env,
    },
  });
}

export async function startEdge(config: EdgeConfig): Promise<EdgeGateway> {
  const gateway = new EdgeGateway({ config, logger: silentLogger(), metrics: new Metrics('edge', { defaultMetrics: false }) });
  await gateway.start();
  return gateway;
}

export function testPrefix(label: string): string {
  return uniqueName(label);
}

export function connectMqtt(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

export interface Consumed {
  key: string | null;
  value: Record<string, unknown>;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning until `until(all)` holds (then `settleMs` more, to catch
 * duplicates that arrive late) or the timeout passes.
 */
export async function consumeTopic(topic: string, until: (all: Consumed[]) => boolean, opts: { timeoutMs?: number; settleMs?: number } = {}): Promise<Consumed[]> {
  const kafka = createKafkaClient({ clientId: 'edge-test', brokers: testEndpoints().kafkaBrokers, security: testKafkaSecurity() });
  const consumer = kafka.consumer({ groupId: uniqueName('edge-test-group') });
  const out: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) out.push({ key: m.key?.toString() ?? null, value: JSON.parse(m.value!.toString()) as Record<string, unknown>, partition: batch.partition, offset: m.offset });
        if (until(out)) resolveDone();
      },
    });
    const timeout = new Promise<void>((r) => setTimeout(r, opts.timeoutMs ?? 60_000));
    await Promise.race([done, timeout]);
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 1500));
    return out;
  } finally {
    await consumer.disconnect();
  }
}

export function waitFor(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 50);
    };
    check();
  });
}
