// Shared by the workflow's integration tests: a central config (the harness's Kafka, plaintext or
// SASL_SSL as the setup exported), a small topology, an event fed through the events topic.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { CentralConfigSchema, type CentralConfig } from '../../../central/config.ts';
import { loadConfig, writeTopologyFile, type GridEvent, type TopologyEntry } from '../../../shared/index.ts';
import { createKafkaClient } from '../../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../../harness/env.ts';

/** Only the Kafka connection of the harness (GRIDWATCH_KAFKA_*): no archive, no InfluxDB. */
export function kafkaEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('GRIDWATCH_KAFKA_') && e[1] !== undefined));
}

// WF-F1: WF-T1 (M1-M3), WF-T2 (M4); WF-F2: WF-T3 (M5-M7); all under WF-S1.
export const METERS: TopologyEntry[] = ['M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M7'].map((meterId, i) => ({
  meterId,
  transformerId: i < 3 ? 'WF-T1' : i < 4 ? 'WF-T2' : 'WF-T3',
  feederId: i < 4 ? 'WF-F1' : 'WF-F2',
  substationId: 'WF-S1',
  phase: 'A',
  nominalVoltage: 230,
  nominalFrequency: 50,
}));

export function topologyFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gw-workflow-topology-')), 'topology.csv');
  writeTopologyFile(file, METERS);
  return file;
}

/** The central settings of one test: its own topic prefix and group, authentication on. */
export function workflowSettings(name: string, tokensFile: string): Record<string, string> {
  const u = uniqueName(name);
  return {
    GRIDWATCH_KAFKA_TOPIC_PREFIX: `${u}.`,
    GRIDWATCH_CENTRAL_GROUP: `${u}-group`,
    GRIDWATCH_API_TOKENS_FILE: tokensFile,
    GRIDWATCH_TOPOLOGY: topologyFile(),
    GRIDWATCH_HTTP_HOST: '127.0.0.1',
    GRIDWATCH_TICK_MS: '100',
    GRIDWATCH_COMMIT_INTERVAL_MS: '200',
    GRIDWATCH_LOG_LEVEL: 'warn',
  };
}

export function centralConfig(settings: Record<string, string>): CentralConfig {
  return loadConfig(CentralConfigSchema, { env: { ...kafkaEnv(), ...settings, GRIDWATCH_HTTP_PORT: '0' }, file: '' });
}

export function kafka(): Kafka {
  return createKafkaClient({ clientId: uniqueName('workflow-test'), brokers: testEndpoints().kafkaBrokers, security: testKafkaSecurity() });
}

export async function producer(k: Kafka): Promise<Producer> {
  const p = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  return p;
}

export function outage(eventId: string, startTs: number, over: Partial<GridEvent> = {}): GridEvent {
  return {
    eventId,
    scope: 'transformer',
    rootId: 'WF-T1',
    substationId: 'WF-S1',
    type: 'outage',
    severity: 'major',
    state: 'open',
    affectedMeters: ['M1', 'M2'],
    affectedCount: 2,
    startTs,
    endTs: null,
    updatedAt: startTs,
    version: 1,
    ...over,
  };
}

/** Publishes grid events as central would (grid.events, key substationId). */
export async function publishEvents(p: Producer, topic: string, events: GridEvent[]): Promise<void> {
  await p.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.substationId ?? 'grid', value: JSON.stringify(e) })) });
}

export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000, log?: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(f()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${log ? `\n--- log ---\n${log().slice(-4000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
