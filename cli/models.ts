/**
 * `gridwatch models list|upload|promote|shadow|canary|rollback`: the model registry
 * (central/learn/registry.ts). Files go to the bucket (modelsBucket on GRIDWATCH_S3_ENDPOINT); the
 * record naming the active, shadow and canary versions goes to the compacted topic grid.models,
 * which every central instance follows. Settings come from the environment as central reads them
 * (GRIDWATCH_KAFKA_* as an admin principal: central may only read the topic; GRIDWATCH_S3_*).
 *
 * A version is checked before a record names it (in the bucket, sha256, features): a refusal is
 * a configuration error (exit 78), and the record is not written. Central checks again when it
 * loads, and refuses with the old version serving, should the bucket change in between.
 */
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { loadCentralConfig, type CentralConfig } from '../central/config.ts';
import { ModelStore, type StoredComparison } from '../central/learn/registry-store.ts';
import { canary, DEFAULT_VERSION, EMPTY_RECORD, parseRecord, promote, RECORD_KEY, rollback, shadow, type ModelsRecord } from '../central/learn/registry-record.ts';
import { createLogger, GridwatchError } from '../shared/index.ts';
import { compareAndSetRecord, createKafkaClient, defaultPartitioner, ensureTopicsOn, modelsTopic, modelsTopicSpec, readLatestRecord } from '../shared/kafka/index.ts';
import { kafkaSecurity } from '../shared/kafka/security.ts';

const USAGE = `usage: gridwatch models list [--json]
       gridwatch models upload DIR                 model.onnx + manifest.json (gridwatch train --out DIR)
       gridwatch models promote VERSION            VERSION becomes active on every central instance
       gridwatch models shadow VERSION | --off     VERSION scores beside the active one, opens nothing
       gridwatch models canary VERSION (--substations ID,ID | --percent N) | --off
                                                   VERSION judges those substations instead of the active one
       gridwatch models rollback                   back to the active version before
       (promote|shadow|canary|rollback) --revision N   refuse unless the record is still at revision N

Changes are a compare-and-set on grid.models: two operators changing the record at the same
moment cannot both win; the one that lost writes nothing and is told so (exit 78).

VERSION: the sha256 of the model file (a unique prefix of 8+ digits will do) or "default" (the
shipped models/default). Settings from the environment: GRIDWATCH_KAFKA_* (an admin principal),
GRIDWATCH_KAFKA_TOPIC_PREFIX, GRIDWATCH_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _CA_FILE,
GRIDWATCH_MODELS_BUCKET (default models).`;

/** The latest record on the topic (EMPTY_RECORD when it has none). */
export async function readRecord(kafka: Kafka, topic: string): Promise<ModelsRecord> {
  const { value } = await readLatestRecord(kafka, topic, RECORD_KEY);
  return value ? parseRecord(value.toString('utf8')) : EMPTY_RECORD;
}

/** Writes a record as is, no compare-and-set (tests that need a record the CLI would refuse). */
export async function writeRecord(kafka: Kafka, topic: string, r: ModelsRecord): Promise<void> {
  const p = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: defaultPartitioner });
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: [{ key: RECORD_KEY, value: JSON.stringify(r) }] });
  } finally {
    await p.disconnect().catch(() => undefined);
  }
}

/**
 * Changes the record with a compare-and-set (shared/kafka/keyed-record.ts): `f` is applied to the
 * latest record and the result written as revision + 1, unless another writer came in between
 * (RecordConflictError, nothing written) or `expectRevision` is given and the record has moved on
 * from it (refused, nothing written).
 */
export async function changeRecord(kafka: Kafka, topic: string, f: (r: ModelsRecord, now: number) => ModelsRecord, o: { by?: string; expectRevision?: number } = {}): Promise<ModelsRecord> {
  return compareAndSetRecord(kafka, { topic, key: RECORD_KEY, transactionalId: `${topic}.writer` }, (latest) => {
    const r = latest.value ? parseRecord(latest.value.toString('utf8')) : EMPTY_RECORD;
    if (o.expectRevision !== undefined && r.revision !== o.expectRevision) {
      throw new GridwatchError('CONFIG_INVALID', `grid.models is at revision ${r.revision} (by ${r.by ?? '?'} at ${new Date(r.updatedAt).toISOString()}), not ${o.expectRevision}: nothing written; look again (gridwatch models list) and retry`, { details: { reason: 'revision' } });
    }
    const next: ModelsRecord = { ...f(r, Date.now()), revision: r.revision + 1, ...(o.by ? { by: o.by } : {}) };
    return { value: JSON.stringify(next), result: next };
  });
}

interface Context { c: CentralConfig; kafka: Kafka; topic: string; store: () => ModelStore; expectRevision?: number }

function context(env: NodeJS.ProcessEnv): Context {
  const c = loadCentralConfig({ env });
  const logger = createLogger({ program: 'models', level: 'warn' });
  // kafkajs' own lines at debug: every failure reaches the operator as the command's error, and
  // its warnings (the partitioner notice, "limiting retries for the idempotent producer", which a
  // one-record transaction does not need) would only be noise on an operator's terminal.
  const kafka = createKafkaClient({ brokers: c.kafkaBrokers, clientId: 'gridwatch-models', security: kafkaSecurity(c), logger, kafkajsLogs: 'debug' });
  const store = () => {
    if (!c.s3Endpoint) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_S3_ENDPOINT is not set: the model files live in the S3/MinIO bucket GRIDWATCH_MODELS_BUCKET');
    return ModelStore.fromSettings({ ...c, s3Endpoint: c.s3Endpoint }, logger);
  };
  return { c, kafka, topic: modelsTopic(c), store };
}

/** A full version from a prefix, checked in the bucket (sha256, features) unless it is `default`. */
async function resolveVersion(ctx: Context, v: string | undefined): Promise<string> {
  if (!v) throw new GridwatchError('CONFIG_INVALID', `a model version is needed\n\n${USAGE}`);
  if (v === DEFAULT_VERSION) return v;
  if (!/^[0-9a-f]{8,64}$/.test(v)) throw new GridwatchError('CONFIG_INVALID', `not a model version (hex sha256 or a prefix of 8+ digits): ${v}`);
  const store = ctx.store();
  const all = (await store.list()).map((m) => m.version).filter((x) => x.startsWith(v));
  if (all.length === 0) throw new GridwatchError('CONFIG_INVALID', `model ${v} is not in the bucket ${store.bucket.describe()} (gridwatch models upload DIR first)`);
  if (all.length > 1) throw new GridwatchError('CONFIG_INVALID', `model prefix ${v} is ambiguous: ${all.map((x) => x.slice(0, 16)).join(', ')}`);
  await store.fetch(all[0]!); // throws CONFIG_INVALID with the reason when the stored files are refused
  return all[0]!;
}

async function change(ctx: Context, f: (r: ModelsRecord, now: number) => ModelsRecord): Promise<ModelsRecord> {
  await ensureTopicsOn(ctx.kafka, [modelsTopicSpec(ctx.topic)], { partitions: 1 });
  return changeRecord(ctx.kafka, ctx.topic, f, { by: process.env.USER ?? 'gridwatch models', ...(ctx.expectRevision !== undefined ? { expectRevision: ctx.expectRevision } : {}) });
}

const sumComparisons = (list: StoredComparison[]) =>
  list.reduce((a, c) => ({ windows: a.windows + c.windows, bothOver: a.bothOver + c.bothOver, candidateOnly: a.candidateOnly + c.candidateOnly, activeOnly: a.activeOnly + c.activeOnly, opens: a.opens + c.opens, failures: a.failures + c.failures, instances: a.instances + 1 }), { windows: 0, bothOver: 0, candidateOnly: 0, activeOnly: 0, opens: 0, failures: 0, instances: 0 });

async function list(ctx: Context, json: boolean): Promise<void> {
  await ensureTopicsOn(ctx.kafka, [modelsTopicSpec(ctx.topic)], { partitions: 1 });
  const record = await readRecord(ctx.kafka, ctx.topic);
  const store = ctx.c.s3Endpoint ? ctx.store() : null;
  const manifests = store ? await store.list() : [];
  const roleOf = (v: string) => [v === record.active ? 'active' : '', v === record.shadow ? 'shadow' : '', v === record.canary?.version ? 'canary' : '', record.history.includes(v) ? 'previous' : ''].filter(Boolean).join(',');
  const rows = await Promise.all(manifests.map(async (m) => {
    const ev = (m.evaluation?.[m.family] as { test?: { f1?: number; prAuc?: number } } | undefined)?.test;
    const comparison = store && (m.version === record.shadow || m.version === record.canary?.version) ? sumComparisons(await store.comparisons(m.version)) : null;
    return { version: m.version, family: m.family, threshold: m.threshold, testF1: ev?.f1 ?? null, testPrAuc: ev?.prAuc ?? null, psiReference: Boolean(m.reference), roles: roleOf(m.version), comparison };
  }));
  if (json) {
    console.log(JSON.stringify({ record, models: rows }, null, 2));
    return;
  }
  console.log(`registry ${ctx.topic} revision ${record.revision}: active ${record.active.slice(0, 12)}, shadow ${record.shadow?.slice(0, 12) ?? '-'}, canary ${record.canary ? `${record.canary.version.slice(0, 12)} (${[record.canary.substations?.join(' '), record.canary.percent ? `${record.canary.percent} %` : ''].filter(Boolean).join('; ')})` : '-'}, previous ${record.history.slice(-3).map((v) => v.slice(0, 12)).join(' ') || '-'}`);
  console.log('version       family    threshold  test F1  PR-AUC  PSI ref  roles');
  for (const r of rows) {
    console.log(`${r.version.slice(0, 12)}  ${String(r.family).padEnd(8)}  ${r.threshold?.toFixed(4).padStart(9) ?? '        -'}  ${r.testF1?.toFixed(3).padStart(7) ?? '      -'}  ${r.testPrAuc?.toFixed(3).padStart(6) ?? '     -'}  ${r.psiReference ? 'yes    ' : 'no     '}  ${r.roles || '-'}`);
    const c = r.comparison;
    if (c) console.log(`  vs active, ${c.windows} windows on ${c.instances} instance(s): both over ${c.bothOver}, only this ${c.candidateOnly}, only active ${c.activeOnly}, anomalies ${r.roles.includes('shadow') ? 'it would have opened' : 'opened'} ${c.opens}, failed batches ${c.failures}`);
  }
  if (!store) console.log('(GRIDWATCH_S3_ENDPOINT not set: the bucket was not listed)');
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, off: { type: 'boolean' }, substations: { type: 'string' }, percent: { type: 'string' }, revision: { type: 'string' } } });
  const ctx = context(env);
  if (values.revision !== undefined) {
    const n = Number(values.revision);
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new GridwatchError('CONFIG_INVALID', `--revision: expected the record's revision (gridwatch models list), got ${values.revision}`);
    ctx.expectRevision = n;
  }
  const say = (r: ModelsRecord) => console.log(`grid.models revision ${r.revision}: active ${r.active.slice(0, 12)}, shadow ${r.shadow?.slice(0, 12) ?? '-'}, canary ${r.canary?.version.slice(0, 12) ?? '-'}`);
  switch (sub) {
    case 'list':
      await list(ctx, values.json ?? false);
      return 0;
    case 'upload': {
      if (!positionals[0]) throw new GridwatchError('CONFIG_INVALID', `upload needs the model directory\n\n${USAGE}`);
      const m = await ctx.store().upload(positionals[0]);
      console.log(`uploaded model ${m.version} (${m.family}, threshold ${m.threshold}); gridwatch models shadow|canary|promote ${m.version.slice(0, 12)}`);
      return 0;
    }
    case 'promote': {
      const v = await resolveVersion(ctx, positionals[0]);
      say(await change(ctx, (r, now) => promote(r, v, now)));
      return 0;
    }
    case 'shadow': {
      const v = values.off ? null : await resolveVersion(ctx, positionals[0]);
      say(await change(ctx, (r, now) => shadow(r, v, now)));
      return 0;
    }
    case 'canary': {
      if (values.off) {
        say(await change(ctx, (r, now) => canary(r, null, now)));
        return 0;
      }
      const v = await resolveVersion(ctx, positionals[0]);
      const percent = values.percent === undefined ? undefined : Number(values.percent);
      const substations = values.substations?.split(',').map((s) => s.trim()).filter(Boolean);
      say(await change(ctx, (r, now) => canary(r, { version: v, ...(substations ? { substations } : {}), ...(percent !== undefined ? { percent } : {}) }, now)));
      return 0;
    }
    case 'rollback':
      say(await change(ctx, (r, now) => rollback(r, now)));
      return 0;
    default:
      throw new GridwatchError('CONFIG_INVALID', `unknown models command "${sub}"\n\n${USAGE}`);
  }
}
