/**
 * The learned scorer as a part of central (central/aggregator.ts). The group consumer hands it
 * every `grid.readings` record of this instance's partitions (`onReading`); the scorer builds
 * feature windows and scores them in its worker thread; the `pattern` anomalies it opens and
 * closes are produced to `grid.anomalies`, keyed by substation like an edge's, so the instance
 * that owns the substation correlates them and every instance's API lists them, as any other.
 *
 * Why through Kafka and not straight into the local correlator: readings are keyed by meter and
 * anomalies by substation, so the instance that scores a meter is not, in general, the one that
 * owns its substation.
 *
 * Nothing silent: a record that is not a reading is counted (`invalid`), a partial window is
 * skipped and counted by the feature builder, a failed inference batch is dropped, counted and
 * logged with the model version (scorer.ts), and an anomaly that cannot be produced stays queued
 * (bounded; the oldest dropped and counted) and is retried on the next flush.
 */
import { validators, type Anomaly, type ForwardedReading } from '../../shared/contracts/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { Part } from '../../shared/lifecycle.ts';
import type { ProducerPort } from '../publish/producer.ts';
import { scanReading, type ScannedReading } from './reading-scan.ts';
import { LearnedScorer, type ScorerCounters, type ScorerReading } from './scorer.ts';

export interface LearnedPartOptions {
  modelDir: string;
  /** Topic the anomalies go to (grid.anomalies with the deployment's prefix). */
  anomaliesTopic: string;
  producer: ProducerPort;
  /** Nominal voltage of a meter from the topology, when known. */
  nominalOf?: (meterId: string) => number | undefined;
  instanceId: string;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** How often queued anomalies are produced (default 200 ms). */
  flushMs?: number;
  /** Anomalies kept while Kafka refuses them (default 10,000). */
  maxQueued?: number;
  batchSize?: number;
  maxWaitMs?: number;
  /** Grace for late readings of an incomplete window (learnedLateMs; scorer.ts). */
  lateMs?: number;
  /**
   * Closed windows waiting for inference at most (default 50,000: five windows of 10,000 meters,
   * about 10 MB); past it they are not scored, counted as `overload` (scorer.ts).
   */
  maxPendingRows?: number;
}

const SCORE_BUCKETS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
const INFER_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class LearnedPart implements Part {
  readonly name = 'learned scorer';
  readonly scorer: LearnedScorer;
  private queue: Anomaly[] = [];
  private sending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private readonly log: Logger;
  readonly counters = { invalid: 0, produced: 0, produceFailures: 0, queueDropped: 0 };
  /** One reading object for every add (the scorer keeps none of it). */
  private readonly scratch: ScorerReading = { meterId: '', ts: 0, voltage: 0, power: undefined, transformerId: null, feederId: null, substationId: null };

  constructor(private readonly o: LearnedPartOptions) {
    this.log = o.logger.child({ part: 'learned' });
    const m = o.metrics;
    const scored = m.counter('learned_windows_scored_total', 'Feature windows scored by the learned model, by model version', ['model_version']);
    const scores = m.histogram('learned_score', 'Scores of the windows, by model version (distribution, for drift)', SCORE_BUCKETS, ['model_version']);
    const infer = m.histogram('learned_inference_seconds', 'Time of one batch of inference in the worker thread (round trip), by model version', INFER_BUCKETS_S, ['model_version']);
    const failures = m.counter('learned_inference_failures_total', 'Batches a model failed to score (taken out of service for that batch; the rules go on), by model version', ['model_version']);
    const anomalies = m.counter('learned_anomalies_total', 'Pattern anomalies the model opened and closed, by model version and state', ['model_version', 'state']);
    this.scorer = new LearnedScorer({
      modelDir: o.modelDir,
      edgeId: 'central',
      ...(o.nominalOf ? { nominalOf: o.nominalOf } : {}),
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.maxWaitMs ? { maxWaitMs: o.maxWaitMs } : {}),
      ...(o.lateMs !== undefined ? { lateMs: o.lateMs } : {}),
      maxPendingRows: o.maxPendingRows ?? 50_000,
      ...(o.clock ? { clock: o.clock } : {}),
      logger: this.log,
      onScore: (_row, score, version) => scores.observe({ model_version: version.slice(0, 12) }, score),
      onBatch: (rows, seconds, version) => {
        const v = version.slice(0, 12);
        scored.inc({ model_version: v }, rows);
        infer.observe({ model_version: v }, seconds);
      },
      onFailure: (_rows, version) => failures.inc({ model_version: version.slice(0, 12) }),
      onAnomaly: (a) => {
        anomalies.inc({ model_version: (a.modelVersion ?? '').slice(0, 12), state: a.state });
        this.produce(a);
      },
    });
    const scorerCounters = (): Partial<ScorerCounters> => (this.started ? this.scorer.counters : {});
    const invalid = () => this.counters.invalid;
    const queued = () => this.queue.length;
    m.gauge('learned_windows_skipped', 'Readings and windows the learned scorer did not score, by reason (bad: non-finite voltage; late: window closed; partial: under 30 % of its readings; inference_failure: rows of failed batches; overload: closed while maxPendingRows waited for inference; invalid: not a reading)', ['reason'], function collect() {
      const c = scorerCounters();
      this.set({ reason: 'bad' }, c.bad ?? 0);
      this.set({ reason: 'late' }, c.late ?? 0);
      this.set({ reason: 'partial' }, c.partial ?? 0);
      this.set({ reason: 'inference_failure' }, c.rowsDropped ?? 0);
      this.set({ reason: 'overload' }, c.overloaded ?? 0);
      this.set({ reason: 'invalid' }, invalid());
    });
    const served = () => (this.started ? this.scorer.models : []);
    m.gauge('learned_model_role', 'Models in service: 1 per version and role (active, canary, shadow)', ['model_version', 'role'], function collect() {
      this.reset();
      for (const s of served()) this.set({ model_version: s.version.slice(0, 12), role: s.role }, 1);
    });
    // Drift: PSI of each feature of the windows served against the model's training reference
    // (central/learn/psi.ts); absent for a version whose manifest has no reference bins.
    m.gauge('learned_feature_psi', 'Population stability index of each feature of the served windows against the training data, by model version (over 0.25: retrain)', ['model_version', 'feature'], function collect() {
      this.reset();
      for (const s of served()) for (const [feature, v] of s.model.psi?.values() ?? []) this.set({ model_version: s.version.slice(0, 12), feature }, v);
    });
    const compared = () => (this.started ? this.scorer.comparisons : []);
    m.gauge('learned_comparison_windows', 'Shadow and canary against the active model on the same windows, by candidate version, role and verdict (both_over, candidate_only, active_only, windows, opens)', ['model_version', 'role', 'verdict'], function collect() {
      this.reset();
      for (const c of compared()) {
        const l = { model_version: c.version.slice(0, 12), role: c.role };
        this.set({ ...l, verdict: 'windows' }, c.windows);
        this.set({ ...l, verdict: 'both_over' }, c.bothOver);
        this.set({ ...l, verdict: 'candidate_only' }, c.candidateOnly);
        this.set({ ...l, verdict: 'active_only' }, c.activeOnly);
        this.set({ ...l, verdict: 'opens' }, c.opens);
      }
    });
    m.gauge('learned_anomalies_unproduced', 'Learned anomalies waiting for grid.anomalies (Kafka refused or not yet sent)', [], function collect() {
      this.set(queued());
    });
  }

  async start(): Promise<void> {
    await this.scorer.start();
    this.started = true;
    await this.o.producer.connect();
    this.timer = setInterval(() => void this.flush(), this.o.flushMs ?? 200);
    this.timer.unref();
    this.log.info({ modelVersion: this.scorer.version, threshold: this.scorer.threshold, modelDir: this.o.modelDir }, 'learned scoring on');
  }

  /**
   * One `grid.readings` record's value (JSON); a value that is not a reading is counted. The
   * fields are read by reading-scan.ts (no whole object per reading); a value it is not sure of
   * goes through JSON.parse, as every value did before.
   */
  onReading(value: string): void {
    if (!this.started) return;
    let r: ScannedReading | ForwardedReading | null = scanReading(value);
    if (r === null) {
      try {
        r = JSON.parse(value) as ForwardedReading;
      } catch {
        this.counters.invalid++;
        return;
      }
    }
    if (typeof r?.meterId !== 'string' || typeof r.ts !== 'number') {
      this.counters.invalid++;
      return;
    }
    const reading = this.scratch;
    reading.meterId = r.meterId;
    reading.ts = r.ts;
    reading.voltage = r.voltage as number;
    reading.power = r.power as number | undefined;
    reading.transformerId = (r.transformerId as string | null | undefined) ?? null;
    reading.feederId = (r.feederId as string | null | undefined) ?? null;
    reading.substationId = (r.substationId as string | null | undefined) ?? null;
    this.scorer.add(reading);
  }

  /** Produces what is queued; one request at a time; a failure keeps the records for the next try. */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.slice(0, 500);
    const records = batch.map((a) => ({ key: a.substationId ?? a.meterId, value: JSON.stringify(a) }));
    this.sending = this.o.producer
      .send([{ topic: this.o.anomaliesTopic, records }])
      .then(
        () => {
          this.queue.splice(0, batch.length);
          this.counters.produced += batch.length;
        },
        (err: Error) => {
          this.counters.produceFailures++;
          this.log.warn({ err: err.message, queued: this.queue.length }, 'learned anomalies not produced; kept for the next try');
        },
      )
      .finally(() => (this.sending = null));
    return this.sending;
  }

  async stop(deadline: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // Open windows are not scored at stop (they are partial); the next owner of the meters builds its own.
    await this.scorer.stop();
    while (this.queue.length > 0 && Date.now() < deadline) {
      const before = this.queue.length;
      await this.flush();
      if (this.queue.length >= before) await new Promise((r) => setTimeout(r, 100));
    }
    if (this.queue.length > 0) this.log.error({ lost: this.queue.length }, 'learned anomalies not produced by the stop deadline');
    await this.o.producer.disconnect().catch(() => undefined);
    this.started = false;
  }

  /** Queues one anomaly for grid.anomalies (the scorer's onAnomaly); an invalid one is counted and logged, never produced. */
  produce(a: Anomaly): void {
    const anomalyId = a.anomalyId;
    if (!validators.anomaly.check(a)) {
      // A bug, not bad input: the scorer built a record the contract refuses. Logged, never produced.
      const v = validators.anomaly.validate(a);
      this.counters.invalid++;
      this.log.error({ anomalyId, problems: v.ok ? [] : v.problems }, 'learned anomaly is not a valid v1 anomaly; not produced');
      return;
    }
    this.queue.push(a);
    const max = this.o.maxQueued ?? 10_000;
    if (this.queue.length > max) {
      const n = this.queue.length - max;
      this.queue.splice(0, n);
      this.counters.queueDropped += n;
      this.log.error({ max }, 'learned anomaly queue full; oldest dropped');
    }
  }
}
