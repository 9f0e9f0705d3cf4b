/**
 * The model registry as a part of central: follows the compacted topic grid.models (one record,
 * registry-record.ts) from its beginning with a consumer group of its own per instance, and puts
 * the models it names in service in the learned scorer, without a restart. Every instance reads
 * the same record, so all switch together (within a poll, about a second).
 *
 * A model that cannot serve (not in the bucket, sha256 mismatch, features not this build's, a
 * window other than the features', refused by onnxruntime) is refused: logged with its version and
 * reason, counted (`gridwatch_learned_model_refusals_total{model_version,reason}`), and the models
 * in service keep serving. A record that is not a valid record is refused the same way. Without a
 * record, learnedModelDir (models/default) serves, as without the registry.
 *
 * At start it reads the topic to its end (at most `catchUpMs`) before the consumers start, so a
 * restarted instance scores with the promoted model from its first window. Every `comparisonMs`
 * the shadow's and canary's comparison with the active model goes to the bucket, where
 * `gridwatch models list` shows it.
 */
import type { Admin, Batch, Kafka } from 'kafkajs';
import { GridwatchError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { Part } from '../../shared/lifecycle.ts';
import { ensureTopics, modelsTopicSpec } from '../../shared/kafka/index.ts';
import { CatchUp } from '../consume/catch-up.ts';
import { ConsumerRunner } from '../consume/runner.ts';
import { loadModelDir, type LoadedModel } from './model-file.ts';
import { DEFAULT_VERSION, EMPTY_RECORD, parseRecord, RECORD_KEY, type ModelsRecord } from './registry-record.ts';
import type { ModelStore } from './registry-store.ts';
import type { LearnedScorer } from './scorer.ts';

export interface RegistryOptions {
  kafka: Kafka;
  topic: string;
  /** Central's group id; the registry's group is `<group>.models.<instance>` (granted with the group prefix). */
  centralGroup: string;
  instanceId: string;
  ensureTopic: boolean;
  /** The bucket of model files; null without an S3 endpoint (a record naming a stored version is then refused). */
  store: ModelStore | null;
  scorer: () => LearnedScorer;
  /** The model of version `default` (learnedModelDir). */
  defaultDir: string;
  logger: Logger;
  metrics: Metrics;
  catchUpMs?: number;
  comparisonMs?: number;
}

export class ModelRegistry implements Part {
  readonly name = 'model registry';
  private readonly log: Logger;
  private readonly runner: ConsumerRunner;
  private readonly admin: Admin;
  private readonly catchUp: CatchUp;
  private readonly cache = new Map<string, LoadedModel>();
  private wanted: ModelsRecord | null = null;
  private applying: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly refusals: ReturnType<Metrics['counter']>;
  private readonly switches: ReturnType<Metrics['counter']>;
  /** The record in service (EMPTY_RECORD: none read yet), the last refusal, and the counts. */
  record: ModelsRecord = EMPTY_RECORD;
  lastRefusal: { version: string; reason: string; message: string } | null = null;
  readonly counters = { records: 0, applied: 0, refused: 0 };

  constructor(private readonly o: RegistryOptions) {
    this.log = o.logger.child({ part: 'model registry' });
    this.admin = o.kafka.admin();
    this.catchUp = new CatchUp(this.admin);
    this.refusals = o.metrics.counter('learned_model_refusals_total', 'Model versions the registry refused to serve, by version and reason (missing, sha256, features, window, load, record, s3); the models in service kept serving', ['model_version', 'reason']);
    this.switches = o.metrics.counter('learned_model_switches_total', 'Registry records put in service (active, shadow, canary)', []);
    this.runner = new ConsumerRunner({
      name: 'model registry consumer',
      kafka: o.kafka,
      groupId: `${o.centralGroup}.models.${o.instanceId}`,
      logger: this.log,
      subscriptions: [{ topics: [o.topic], fromBeginning: true }],
      onBatch: async (b) => this.onBatch(b),
    });
  }

  async start(): Promise<void> {
    await this.admin.connect();
    if (this.o.ensureTopic) await ensureTopics(this.admin, [modelsTopicSpec(this.o.topic)], { partitions: 1 });
    await this.runner.start();
    const caughtUp = await this.catchUp.waitFor(this.o.topic, this.o.catchUpMs ?? 15_000);
    if (!caughtUp) this.log.warn({ topic: this.o.topic }, 'model registry topic not read to its end in time; serving what is loaded and switching when the record arrives');
    await this.applying;
    this.timer = setInterval(() => void this.writeComparisons(), this.o.comparisonMs ?? 15_000);
    this.timer.unref();
    this.log.info({ topic: this.o.topic, active: this.record.active, shadow: this.record.shadow, canary: this.record.canary }, 'model registry followed');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.runner.stop().catch(() => undefined);
    await this.applying;
    await this.writeComparisons();
    await this.admin.disconnect().catch(() => undefined);
  }

  private onBatch(batch: Batch): void {
    for (const m of batch.messages) {
      if (m.key?.toString() !== RECORD_KEY) continue;
      this.counters.records++;
      if (!m.value) {
        // A tombstone: back to the shipped model.
        this.want(EMPTY_RECORD);
        continue;
      }
      try {
        this.want(parseRecord(m.value.toString('utf8')));
      } catch (err) {
        this.refuse('record', 'record', err);
      }
    }
    this.catchUp.advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
  }

  /** The latest record wins: a record that arrives while one is being loaded is applied after it (the one between is skipped). */
  private want(r: ModelsRecord): void {
    const idle = this.wanted === null;
    this.wanted = r;
    if (idle) this.applying = this.applying.then(() => this.drain());
  }

  private async drain(): Promise<void> {
    while (this.wanted) {
      const r = this.wanted;
      await this.apply(r);
      if (this.wanted === r) this.wanted = null;
    }
  }

  private async apply(r: ModelsRecord): Promise<void> {
    const current = this.record;
    let step = r.active;
    try {
      const active = await this.model(r.active);
      step = r.shadow ?? '';
      const shadow = r.shadow ? await this.model(r.shadow) : null;
      step = r.canary?.version ?? '';
      const canary = r.canary ? { model: await this.model(r.canary.version), share: { ...(r.canary.substations ? { substations: r.canary.substations } : {}), ...(r.canary.percent !== undefined ? { percent: r.canary.percent } : {}) } } : null;
      step = '';
      await this.o.scorer().use({ active, shadow, canary });
      this.record = r;
      this.counters.applied++;
      this.switches.inc();
      this.log.info({ active: r.active, shadow: r.shadow, canary: r.canary, before: current.active }, 'model registry: record in service');
    } catch (err) {
      const reason = (err instanceof GridwatchError ? (err.details?.reason as string | undefined) : undefined) ?? (/onnxruntime|worker/.test((err as Error).message) ? 'load' : 's3');
      this.refuse(step || r.active, reason, err);
    }
  }

  private async model(version: string): Promise<LoadedModel> {
    const have = this.cache.get(version);
    if (have) return have;
    let m: LoadedModel;
    if (version === DEFAULT_VERSION) m = loadModelDir(this.o.defaultDir);
    else if (!this.o.store) throw new GridwatchError('CONFIG_INVALID', `model ${version.slice(0, 12)}: no S3 endpoint (GRIDWATCH_S3_ENDPOINT), so the registry's files cannot be fetched`, { details: { reason: 'missing' } });
    else m = await this.o.store.fetch(version);
    // A handful of versions at most are named at a time; the cache keeps rollbacks instant.
    if (this.cache.size >= 8) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(version, m);
    return m;
  }

  private refuse(version: string, reason: string, err: unknown): void {
    this.counters.refused++;
    const message = (err as Error).message;
    this.lastRefusal = { version, reason, message };
    this.refusals.inc({ model_version: version.slice(0, 12), reason });
    this.log.error({ modelVersion: version, reason, err: message, serving: this.record.active }, 'model registry: model refused; the models in service keep serving');
  }

  private async writeComparisons(): Promise<void> {
    if (!this.o.store) return;
    let list;
    try {
      list = this.o.scorer().comparisons;
    } catch {
      return; // scorer not started
    }
    for (const c of list) {
      await this.o.store.putComparison({ ...c, instance: this.o.instanceId, at: Date.now() }).catch((err: Error) => this.log.warn({ err: err.message, version: c.version }, 'model comparison not written to the bucket'));
    }
  }
}
