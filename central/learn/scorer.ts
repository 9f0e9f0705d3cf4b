/**
 * The learned scorer: a self-contained part of central. It takes decoded `grid.readings`
 * (`add`), builds feature windows per meter (with transformer and feeder comparisons), scores
 * closed windows in batches in a worker thread (onnxruntime-node), and reports `pattern`
 * anomalies through `onAnomaly`: `open` when a meter's window scores over the model's threshold,
 * `closed` once it falls back (with hysteresis: see judge). Wiring it into central takes a few lines:
 *
 *   const scorer = new LearnedScorer({ modelDir, intervalMs, onAnomaly: (a) => correlator.add(a) });
 *   await scorer.start();  ...  for each decoded reading: scorer.add(reading);  ...  await scorer.stop();
 *
 * Failure: a batch whose inference throws (or whose worker dies) is taken out of service: its
 * windows are dropped, counted (`inferenceFailures`, `rowsDropped`), logged with the model
 * version, and the next batch is scored by a fresh worker; the rules are not touched by any of it.
 */
import { Worker } from 'node:worker_threads';
import type { Anomaly, ForwardedReading } from '../../shared/contracts/index.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { FEATURE_COUNT, FeatureBuilder, type FeatureCounters, type FeatureRow } from './features.ts';
import { loadModelDir, type ModelManifest } from './model-file.ts';

export interface ScorerOptions {
  modelDir: string;
  /** Interval between a meter's readings (topology readingIntervalMs); default the model's. */
  intervalMs?: number;
  /** How long after a window's end its late readings are still taken (default 2 intervals). */
  lateMs?: number;
  /** Windows per inference call (default 512); a partial batch goes after `maxWaitMs`. */
  batchSize?: number;
  maxWaitMs?: number;
  edgeId?: string;
  nominalOf?: (meterId: string) => number | undefined;
  onAnomaly: (a: Anomaly) => void;
  /** Consecutive windows over the threshold that open an anomaly (default 2), and under it that close one (default 3). */
  openAfter?: number;
  closeAfter?: number;
  /** Every scored window (evaluation, and later shadow comparisons). */
  onScore?: (row: FeatureRow, score: number) => void;
  /** Every batch inferred: its rows and the round trip to the worker, seconds (metrics). */
  onBatch?: (rows: number, seconds: number) => void;
  clock?: Clock;
  logger?: Logger;
}

export interface ScorerCounters extends FeatureCounters {
  batches: number;
  scored: number;
  inferenceFailures: number;
  rowsDropped: number;
  opened: number;
  closed: number;
}

interface OpenPattern { anomaly: Anomaly; peak: number; below: number; firstBelow: number }
interface Pending { since: number; count: number; score: number }

const WORKER_URL = new URL('./infer-worker.mjs', import.meta.url);

export class LearnedScorer {
  private manifest!: ModelManifest;
  private bytes!: Uint8Array;
  private features!: FeatureBuilder;
  private worker: Worker | undefined;
  private queue: FeatureRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (s: Float32Array) => void; reject: (e: Error) => void }>();
  private readonly openByMeter = new Map<string, OpenPattern>();
  private readonly overByMeter = new Map<string, Pending>();
  private readonly substationOf = new Map<string, string | null>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private batchCounters = { batches: 0, scored: 0, inferenceFailures: 0, rowsDropped: 0, opened: 0, closed: 0 };
  /** Wall-clock delay from a window's end to its anomaly, ms (last 10,000). */
  readonly delaysMs: number[] = [];

  constructor(private readonly opts: ScorerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger();
  }

  get version(): string {
    return this.manifest.version;
  }
  get threshold(): number {
    return this.manifest.threshold;
  }
  get counters(): ScorerCounters {
    return { ...this.features.counters, ...this.batchCounters };
  }

  async start(): Promise<void> {
    const { manifest, bytes } = loadModelDir(this.opts.modelDir);
    this.manifest = manifest;
    this.bytes = bytes;
    const intervalMs = this.opts.intervalMs ?? manifest.intervalMs;
    this.features = new FeatureBuilder({ windowMs: manifest.windowMs, intervalMs, lateMs: this.opts.lateMs ?? 2 * intervalMs, ...(this.opts.nominalOf ? { nominalOf: this.opts.nominalOf } : {}) });
    await this.spawn();
    this.log.info({ modelVersion: manifest.version, family: manifest.family, threshold: manifest.threshold }, 'learned scorer: model loaded');
  }

  /** Takes one decoded reading; never blocks on inference. */
  add(r: Pick<ForwardedReading, 'meterId' | 'ts' | 'voltage' | 'power' | 'transformerId' | 'feederId' | 'substationId'>): void {
    if (!this.substationOf.has(r.meterId)) this.substationOf.set(r.meterId, r.substationId);
    const rows = this.features.add({ meterId: r.meterId, transformerId: r.transformerId, feederId: r.feederId, ts: r.ts, voltage: r.voltage, power: r.power });
    if (rows.length > 0) this.enqueue(rows);
  }

  /** Closes every open window and waits until all of them are scored (end of a stream, tests). */
  async flush(): Promise<void> {
    this.enqueue(this.features.closeUpTo());
    this.dispatch(true);
    await this.chain;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.chain;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  /** Scores feature vectors directly (the model check, `gridwatch score`); throws if inference fails. */
  async scoreRows(rows: readonly ArrayLike<number>[]): Promise<Float32Array> {
    const data = new Float32Array(rows.length * FEATURE_COUNT);
    rows.forEach((r, i) => data.set(r, i * FEATURE_COUNT));
    if (!this.worker) await this.spawn();
    return this.infer(data, rows.length);
  }

  /** Kills the inference worker as a crash would (tests of the failure path). */
  async crashWorkerForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private enqueue(rows: FeatureRow[]): void {
    this.queue.push(...rows);
    if (this.queue.length >= (this.opts.batchSize ?? 512)) this.dispatch(false);
    else if (!this.timer && this.queue.length > 0) this.timer = setTimeout(() => this.dispatch(true), this.opts.maxWaitMs ?? 200);
  }

  private dispatch(all: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const size = this.opts.batchSize ?? 512;
    while (this.queue.length >= size || (all && this.queue.length > 0)) {
      const batch = this.queue.splice(0, size);
      this.chain = this.chain.then(() => this.scoreBatch(batch));
    }
  }

  private async scoreBatch(batch: FeatureRow[]): Promise<void> {
    const data = new Float32Array(batch.length * FEATURE_COUNT);
    batch.forEach((r, i) => data.set(r.values, i * FEATURE_COUNT));
    let scores: Float32Array;
    try {
      if (!this.worker) await this.spawn();
      const t0 = performance.now();
      scores = await this.infer(data, batch.length);
      this.opts.onBatch?.(batch.length, (performance.now() - t0) / 1000);
    } catch (err) {
      this.batchCounters.inferenceFailures++;
      this.batchCounters.rowsDropped += batch.length;
      this.log.error({ modelVersion: this.manifest.version, rows: batch.length, err: (err as Error).message }, 'learned scorer: inference failed; batch taken out of service, rules unaffected');
      await this.worker?.terminate();
      this.worker = undefined;
      return;
    }
    this.batchCounters.batches++;
    this.batchCounters.scored += batch.length;
    batch.forEach((r, i) => {
      this.opts.onScore?.(r, scores[i]!);
      this.judge(r, scores[i]!);
    });
  }

  /**
   * Hysteresis, so one condition is one anomaly and one noisy window is none: a meter opens after
   * `openAfter` consecutive windows over the threshold (startTs: the first of them) and closes
   * after `closeAfter` consecutive windows under it (endTs: the first of those).
   */
  private judge(r: FeatureRow, score: number): void {
    const open = this.openByMeter.get(r.meterId);
    const { threshold, version } = this.manifest;
    const now = this.clock.now();
    const over = score > threshold;
    if (open) {
      if (over) {
        open.peak = Math.max(open.peak, score);
        open.below = 0;
        return;
      }
      if (open.below++ === 0) open.firstBelow = r.windowStart;
      if (open.below < (this.opts.closeAfter ?? 3)) return;
      this.openByMeter.delete(r.meterId);
      this.batchCounters.closed++;
      const endTs = open.firstBelow;
      this.opts.onAnomaly({ ...open.anomaly, state: 'closed', endTs, durationMs: Math.max(0, endTs - open.anomaly.startTs), peak: open.peak, observed: score, score, detectedAt: now });
      return;
    }
    if (!over) {
      this.overByMeter.delete(r.meterId);
      return;
    }
    const pending = this.overByMeter.get(r.meterId) ?? { since: r.windowStart, count: 0, score: 0 };
    pending.count++;
    pending.score = Math.max(pending.score, score);
    this.overByMeter.set(r.meterId, pending);
    if (pending.count < (this.opts.openAfter ?? 2)) return;
    this.overByMeter.delete(r.meterId);
    const anomaly: Anomaly = {
      anomalyId: `learned:${version.slice(0, 12)}:${r.meterId}:${pending.since}`,
      edgeId: this.opts.edgeId ?? 'central',
      meterId: r.meterId,
      substationId: this.substationOf.get(r.meterId) ?? null,
      feederId: r.feederId,
      transformerId: r.transformerId,
      type: 'pattern',
      channel: 'none',
      state: 'open',
      severity: 'minor',
      startTs: pending.since,
      endTs: null,
      observed: score,
      baseline: threshold,
      peak: pending.score,
      detectedAt: now,
      score,
      threshold,
      modelVersion: version,
    };
    this.openByMeter.set(r.meterId, { anomaly, peak: pending.score, below: 0, firstBelow: 0 });
    this.batchCounters.opened++;
    this.delaysMs.push(Math.max(0, now - (r.windowStart + this.manifest.windowMs)));
    if (this.delaysMs.length > 10_000) this.delaysMs.shift();
    this.opts.onAnomaly(anomaly);
  }

  private async spawn(): Promise<void> {
    const w = new Worker(WORKER_URL);
    w.on('message', (m: { type: string; id?: number; scores?: Float32Array; message?: string }) => {
      const p = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id!);
      if (m.type === 'scores') p.resolve(m.scores!);
      else p.reject(new Error(m.message));
    });
    const fail = (err: Error) => {
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      fail(new Error(`inference worker exited (code ${code})`));
    });
    this.worker = w;
    const { output } = this.manifest;
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string; message?: string }) => {
        w.off('message', onMsg);
        if (m.type === 'loaded') resolve();
        else reject(new Error(`model ${this.manifest.version.slice(0, 12)} refused by onnxruntime: ${m.message}`));
      };
      w.on('message', onMsg);
      w.once('exit', () => reject(new Error('inference worker exited while loading')));
      w.postMessage({ type: 'load', model: this.bytes, input: 'features', output: output.output, column: output.column, sign: output.sign, offset: output.offset ?? 0 });
    });
  }

  private infer(data: Float32Array, rows: number): Promise<Float32Array> {
    const id = this.nextId++;
    const w = this.worker;
    if (!w) return Promise.reject(new Error('no inference worker'));
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ type: 'score', id, data, rows, cols: FEATURE_COUNT }, [data.buffer as ArrayBuffer]);
    });
  }
}
