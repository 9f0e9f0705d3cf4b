// Topic names and topic creation, the same for edge and central: the v1 names (shared/contracts),
// with a prefix (side-by-side deployments, shared test clusters) and per-topic overrides.
import { Type } from '@sinclair/typebox';
import type { Admin, Kafka } from 'kafkajs';
import { TOPICS } from '../contracts/index.ts';
import { GridwatchError } from '../errors.ts';
import { kafkaError } from './errors.ts';

/** Every topic gridwatch uses: the six v1 contract topics and central's hand-over state. */
export const TOPIC_DEFAULTS = { ...TOPICS, state: 'grid.central-state' } as const;
export type TopicKey = keyof typeof TOPIC_DEFAULTS;
export type TopicNames = Record<TopicKey, string>;

/** Setting key of each topic's override (GRIDWATCH_TOPIC_READINGS, ...). */
const OVERRIDE_KEYS = {
  readings: 'topicReadings',
  anomalies: 'topicAnomalies',
  events: 'topicEvents',
  edgeStatus: 'topicEdgeStatus',
  gaps: 'topicGaps',
  topology: 'topicTopology',
  state: 'topicState',
} as const satisfies Record<TopicKey, string>;

export interface TopicSettings {
  kafkaTopicPrefix: string;
  topicReadings?: string;
  topicAnomalies?: string;
  topicEvents?: string;
  topicEdgeStatus?: string;
  topicGaps?: string;
  topicTopology?: string;
  topicState?: string;
}

const NAME = '^[A-Za-z0-9._-]{1,249}$';
const override = (what: string, key: TopicKey) =>
  Type.Optional(Type.String({ pattern: NAME, description: `${what} topic; default <kafkaTopicPrefix>${TOPIC_DEFAULTS[key]}` }));

/** TypeBox properties to spread into a program's config schema (edge/config.ts, central/config.ts). */
export const topicSettings = {
  kafkaTopicPrefix: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]{0,100}$', description: 'Prefix of every Kafka topic name (grid.readings -> <prefix>grid.readings); side-by-side deployments, shared test clusters' }),
  topicReadings: override('Readings', 'readings'),
  topicAnomalies: override('Anomalies (key substationId; its partitions decide which central instance owns a substation)', 'anomalies'),
  topicEvents: override('Grid events', 'events'),
  topicEdgeStatus: override('Edge gateway heartbeat', 'edgeStatus'),
  topicGaps: override('Gaps', 'gaps'),
  topicTopology: override('Topology (compacted)', 'topology'),
  topicState: override('Central correlation state (compacted, key substationId): the rebalance hand-over', 'state'),
};

/** The topic names a program uses: an override as given, else prefix + the v1 name. */
export function topicNames(s: TopicSettings): TopicNames {
  const out = {} as TopicNames;
  for (const k of Object.keys(TOPIC_DEFAULTS) as TopicKey[]) out[k] = s[OVERRIDE_KEYS[k]] ?? s.kafkaTopicPrefix + TOPIC_DEFAULTS[k];
  return out;
}

export interface TopicSpec {
  topic: string;
  compacted?: boolean;
}

/**
 * Creates the topics that are missing; existing ones are left as they are. replicationFactor -1
 * means the broker's default.replication.factor.
 *
 * Waits up to 30 s for the new topics' leaders (kafkajs' default is 5 s: a central starting on a
 * loaded two-core machine failed there once, "Timed out while waiting for topic leaders"), and
 * tries three times in all: a second attempt lists again, so topics made by the first attempt, or
 * by another instance at the same moment, count as existing. A refusal (authentication, ACL) is
 * not retried.
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], opts: { partitions: number; replicationFactor?: number; attempts?: number; timeoutMs?: number }): Promise<string[]> {
  const attempts = opts.attempts ?? 3;
  const created = new Set<string>();
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return [...created];
      await admin.createTopics({
        waitForLeaders: true,
        timeout: opts.timeoutMs ?? 30_000,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: opts.partitions,
          replicationFactor: opts.replicationFactor ?? -1,
          configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
      for (const t of missing) created.add(t.topic);
      return [...created];
    } catch (err) {
      if (attempt >= attempts || refusedByBroker(err)) throw kafkaError(err, 'creating topics');
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}

/** Errors that another attempt cannot change: the broker refused who we are or what we may do. */
function refusedByBroker(err: unknown): boolean {
  const e = err as { type?: unknown; name?: unknown; errors?: unknown };
  const types = [e.type, ...(Array.isArray(e.errors) ? e.errors.map((x: { type?: unknown }) => x?.type) : [])];
  if (types.some((t) => typeof t === 'string' && /AUTHORIZATION_FAILED|SASL_AUTHENTICATION_FAILED|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM|POLICY_VIOLATION|INVALID_REPLICATION_FACTOR|INVALID_PARTITIONS|INVALID_CONFIG|INVALID_TOPIC_EXCEPTION/.test(t))) return true;
  return e.name === 'KafkaJSSASLAuthenticationError';
}

export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const n = md.topics[0]?.partitions.length ?? 0;
  if (n === 0) throw new GridwatchError('KAFKA_UNAVAILABLE', `topic ${topic} has no partitions (does it exist?)`, { retryable: true });
  return n;
}

/** The specs of the named topics; topology and state are compacted (the latest record per key is the state). */
export function topicSpecs(names: Partial<TopicNames>): TopicSpec[] {
  return (Object.entries(names) as [TopicKey, string | undefined][])
    .filter((e): e is [TopicKey, string] => e[1] !== undefined)
    .map(([k, topic]) => ({ topic, compacted: k === 'topology' || k === 'state' }));
}

/** The model registry's topic (central/learn/registry.ts): compacted, one partition, one record naming the active, shadow and canary models. */
export const MODELS_TOPIC_DEFAULT = 'grid.models';
export const modelsTopic = (s: { kafkaTopicPrefix: string; topicModels?: string }): string => s.topicModels ?? s.kafkaTopicPrefix + MODELS_TOPIC_DEFAULT;
export const modelsTopicSpec = (topic: string): TopicSpec => ({ topic, compacted: true });

/** ensureTopics with an admin of its own (connected, then disconnected): for tools, tests and the edge's background creation. */
export async function ensureTopicsOn(kafka: Kafka, topics: TopicSpec[], opts: { partitions: number; replicationFactor?: number }): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await ensureTopics(admin, topics, opts);
  } catch (err) {
    throw kafkaError(err, 'creating topics');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
