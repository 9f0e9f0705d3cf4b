// Shared by the central integration tests: unique topics per test, a producer, and a reader of
// what lands on the events topic.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { CentralConfigSchema, type CentralConfig } from '../../../central/config.ts';
import { loadConfig, type Anomaly, type GridEvent } from '../../../shared/index.ts';
import { createKafkaClient } from '../../../shared/kafka/index.ts';
import { makeTokensFile } from '../../harness/api-tokens.ts';
import { testEndpoints, testKafkaEnv, testKafkaSecurity, uniqueName } from '../../harness/env.ts';

export const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);

/** API keys of the pipelines' API (authentication on, as shipped): `fetch(url, { headers: apiTokens.headers() })`. */
export const apiTokens = makeTokensFile();

export function testConfig(name: string, over: Partial<CentralConfig> = {}): CentralConfig {
  const u = uniqueName(name);
  return loadConfig(CentralConfigSchema, {
    // The suite's Kafka connection (brokers, TLS, SASL) as the program reads it: from GRIDWATCH_KAFKA_*.
    env: testKafkaEnv(),
    overrides: {
      centralGroup: `${u}-group`,
      httpHost: '127.0.0.1',
      httpPort: 0,
      apiTokensFile: apiTokens.file,
      kafkaTopicPrefix: `${u}.`,
      archiveDir: mkdtempSync(join(tmpdir(), 'central-archive-')),
      archiveMaxAgeMs: 300,
      commitIntervalMs: 200,
      tickMs: 100,
      logLevel: 'warn',
      ...over,
    },
  });
}

export function kafka(): Kafka {
  return createKafkaClient({ clientId: uniqueName('central-test'), brokers: testEndpoints().kafkaBrokers, security: testKafkaSecurity() });
}

export async function producer(k: Kafka): Promise<Producer> {
  const p = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  return p;
}

export function sagAnomaly(meterId: string, transformerId: string, substationId: string, over: Partial<Anomaly> = {}): Anomaly {
  return {
    anomalyId: `sag-${meterId}-${T0}`,
    edgeId: `edge-${substationId}`,
    meterId,
    substationId,
    feederId: `${substationId}-F1`,
    transformerId,
    type: 'sag',
    channel: 'voltage',
    state: 'open',
    severity: 'major',
    startTs: T0,
    endTs: null,
    observed: 180,
    baseline: 230,
    detectedAt: T0 + 1000,
    ...over,
  };
}

export async function sendAnomalies(p: Producer, topic: string, list: Anomaly[]): Promise<void> {
  await p.send({ topic, acks: -1, messages: list.map((a) => ({ key: a.substationId ?? 'none', value: JSON.stringify(a) })) });
}

/** Reads the events topic from the beginning and keeps every event (all versions). */
export async function eventReader(k: Kafka, topic: string): Promise<{ events: GridEvent[]; stop: () => Promise<void>; consumer: Consumer }> {
  const events: GridEvent[] = [];
  const consumer = k.consumer({ groupId: uniqueName('events-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) events.push(JSON.parse(message.value.toString()) as GridEvent);
    },
  });
  return { events, consumer, stop: () => consumer.disconnect() };
}

export async function waitFor(pred: () => boolean | Promise<boolean>, ms = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
