/**
 * The learned scorer: a self-contained part of central. It takes decoded `grid.readings`
 * (`add`), builds feature windows per meter (with transformer and feeder comparisons), scores
 * closed windows in batches in worker threads (onnxruntime-node), and reports `pattern`
 * anomalies through `onAnomaly`: `open` when a meter's window scores over the model's threshold,
 * `closed` once it falls back (with hysteresis: registry-model.ts). Wiring it into central takes a few lines:
 *
 *   const scorer = new LearnedScorer({ modelDir, intervalMs, onAnomaly: (a) => correlator.add(a) });
 *   await scorer.start();  ...  for each decoded reading: scorer.add(reading);  ...  await scorer.stop();
 *
 * Several models at once (the registry, central/learn/registry.ts, sets them with `use`): the
 * active model judges every meter except those of the canary share, which the canary judges; a
 * shadow scores every window and never opens an anomaly. Canary and shadow are compared window by
 * window with the active model (`comparisons`). A switch happens between two batches; the open
 * anomalies of a model that no longer judges a meter are closed then.
 *
 * Failure: a batch whose inference throws (or whose worker dies) is taken out of service for
 * that model: its windows are dropped, counted (`inferenceFailures`, `rowsDropped` for the
 * windows no live model judged), logged with the model version, and the next batch is scored by
 * a fresh worker; the rules are not touched by any of it.
 */
import type { Anomaly, ForwardedReading } from '../../shared/contracts/index.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { GridwatchError } from '../../shared/errors.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { FEATURE_COUNT, FeatureBuilder, type FeatureCounters, type FeatureRow } from './features.ts';
import { loadModelDir, type LoadedModel, type ModelManifest } from './model-file.ts';
import { ServedModel, type JudgeContext } from './registry-model.ts';

export interface ScorerOptions {
  modelDir: string;
  /** Interval between a meter's readings (topology readingIntervalMs); default the model's. */
  intervalMs?: number;
  /** Grace for late readings: how long past its end an incomplete window waits (default LATE_MS_DEFAULT); a complete window closes at once (features.ts). */
  lateMs?: number;
  /** Windows per inference call (default 512); a partial batch goes after `maxWaitMs`. */
  batchSize?: number;
  maxWaitMs?: number;
  /**
   * Closed windows waiting for inference (queued and in batches not yet scored) at most. When
   * inference cannot keep up (a backlog read at full speed, a slow worker) the windows that would
   * go past it are not scored: counted (`overloaded`), logged, never silent; the rules are not
   * touched. Default: no bound, for the offline callers (training checks, `gridwatch score
   * --learned`) that feed whole grids at once and need every window; central's part sets 50,000.
   */
  maxPendingRows?: number;
  edgeId?: string;
  nominalOf?: (meterId: string) => number | undefined;
  onAnomaly: (a: Anomaly) => void;
  /** Consecutive windows over the threshold that open an anomaly (default 2), and under it that close one (default 3). */
  openAfter?: number;
  closeAfter?: number;
  /** Every scored window, by every model that scored it (evaluation, metrics per version). */
  onScore?: (row: FeatureRow, score: number, version: string) => void;
  /** Every batch a model inferred: its rows and the round trip to the worker, seconds (metrics). */
  onBatch?: (rows: number, seconds: number, version: string) => void;
  /** A batch a model failed on (counted per version). */
  onFailure?: (rows: number, version: string) => void;
  clock?: Clock;
  logger?: Logger;
}

/** The default grace for late readings (learnedLateMs): complete windows do not wait for it. */
export const LATE_MS_DEFAULT = 30_000;

export interface ScorerCounters extends FeatureCounters {
  batches: number;
  scored: number;
  inferenceFailures: number;
  rowsDropped: number;
  /** Closed windows not scored because maxPendingRows were already waiting for inference. */
  overloaded: number;
  opened: number;
  closed: number;
}

/** Which substations the canary judges: listed ones, and a stable hash share of the rest. */
export interface CanaryShare { substations?: string[]; percent?: number }

/** The models `use` puts in service. */
export interface ModelSet {
  active: LoadedModel;
  shadow?: LoadedModel | null;
  canary?: { model: LoadedModel; share: CanaryShare } | null;
}

/** A candidate (shadow or canary) against the active model, on the same windows. */
export interface Comparison {
  version: string;
  role: 'shadow' | 'canary';
  against: string;
  windows: number;
  bothOver: number;
  candidateOnly: number;
  activeOnly: number;
  meanAbsDiff: number;
  /** Anomalies it opened (canary) or would have opened (shadow). */
  opens: number;
  failures: number;
}

/** FNV-1a of a substation id, 0-99: the same substations fall in a percentage on every instance. */
export function shareBucket(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h % 100;
}

export function inCanary(share: CanaryShare, substationId: string | null): boolean {
  if (substationId === null) return false;
  if (share.substations?.includes(substationId)) return true;
  return (share.percent ?? 0) > 0 && shareBucket(substationId) < share.percent!;
}

/** The fields of a reading the scorer uses. */
export type ScorerReading = Pick<ForwardedReading, 'meterId' | 'ts' | 'voltage' | 'power' | 'transformerId' | 'feederId' | 'substationId'>;

interface Served { active: ServedModel; shadow: ServedModel | null; canary: { model: ServedModel; share: CanaryShare } | null }

export class LearnedScorer {
  private served!: Served;
  private features!: FeatureBuilder;
  private queue: FeatureRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly substationOf = new Map<string, string | null>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private batchCounters = { batches: 0, scored: 0, inferenceFailures: 0, rowsDropped: 0, overloaded: 0, opened: 0, closed: 0 };
  /** Windows queued or in dispatched batches not yet scored (bounded by maxPendingRows). */
  private pendingRows = 0;
  private lastOverloadLog = -Infinity;
  private readonly compared = new Map<string, Comparison & { sumAbs: number }>();
  /** Delay from the last reading of the window that opened an anomaly (of any meter in it: event time) to the anomaly (clock), ms (last 10,000). */
  readonly delaysMs: number[] = [];
  /** The same from the anomaly's own meter's last reading in the window (adds the spread of the meters' reading phases), ms. */
  readonly meterDelaysMs: number[] = [];

  constructor(private readonly opts: ScorerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger();
  }

  get version(): string {
    return this.served.active.version;
  }
  get threshold(): number {
    return this.served.active.manifest.threshold;
  }
  get manifest(): ModelManifest {
    return this.served.active.manifest;
  }
  get counters(): ScorerCounters {
    return { ...this.features.counters, ...this.batchCounters };
  }
  /** The models in service and their roles. */
  get models(): { version: string; role: 'active' | 'shadow' | 'canary'; model: ServedModel }[] {
    const s = this.served;
    return [
      { version: s.active.version, role: 'active' as const, model: s.active },
      ...(s.canary ? [{ version: s.canary.model.version, role: 'canary' as const, model: s.canary.model }] : []),
      ...(s.shadow ? [{ version: s.shadow.version, role: 'shadow' as const, model: s.shadow }] : []),
    ];
  }
  /** Shadow and canary against the active model, since each came into service in its role. */
  get comparisons(): Comparison[] {
    return [...this.compared.values()].map(({ sumAbs, ...c }) => ({ ...c, meanAbsDiff: c.windows > 0 ? sumAbs / c.windows : 0 }));
  }

  async start(): Promise<void> {
    const loaded = loadModelDir(this.opts.modelDir);
    const { manifest } = loaded;
    const intervalMs = this.opts.intervalMs ?? manifest.intervalMs;
    this.features = new FeatureBuilder({ windowMs: manifest.windowMs, intervalMs, lateMs: this.opts.lateMs ?? LATE_MS_DEFAULT, ...(this.opts.nominalOf ? { nominalOf: this.opts.nominalOf } : {}) });
    const active = new ServedModel(loaded, this.log);
    await active.start();
    this.served = { active, shadow: null, canary: null };
    this.log.info({ modelVersion: manifest.version, family: manifest.family, threshold: manifest.threshold }, 'learned scorer: model loaded');
  }

  /**
   * Puts a set of models in service (the registry's record). Every new model is loaded into its own
   * worker first; if one is refused (a window other than the one the features are built for,
   * onnxruntime cannot load it) this throws and the models in service stay as they were. The
   * switch itself waits for the batch in flight.
   */
  async use(next: ModelSet): Promise<void> {
    const windowMs = this.served.active.manifest.windowMs;
    const current = new Map(this.models.map((m) => [m.version, m.model]));
    const started: ServedModel[] = [];
    const get = async (l: LoadedModel): Promise<ServedModel> => {
      const have = current.get(l.manifest.version) ?? started.find((m) => m.version === l.manifest.version);
      if (have) return have;
      if (l.manifest.windowMs !== windowMs) throw new GridwatchError('CONFIG_INVALID', `model ${l.manifest.version.slice(0, 12)}: window ${l.manifest.windowMs} ms, the features are built for ${windowMs} ms: refused`, { details: { reason: 'window' } });
      const m = new ServedModel(l, this.log);
      started.push(m);
      await m.start();
      return m;
    };
    let served: Served;
    try {
      const active = await get(next.active);
      const shadow = next.shadow ? await get(next.shadow) : null;
      const canary = next.canary ? { model: await get(next.canary.model), share: next.canary.share } : null;
      served = { active, shadow, canary };
    } catch (err) {
      await Promise.all(started.map((m) => m.stop()));
      throw err;
    }
    this.chain = this.chain.then(() => this.swap(served));
    await this.chain;
  }

  private async swap(next: Served): Promise<void> {
    const before = this.served;
    const now = this.clock.now();
    const liveOf = (s: Served, meterId: string) => (s.canary && inCanary(s.canary.share, this.substationOf.get(meterId) ?? null) ? s.canary.model : s.active);
    // A meter whose judge changes: the old judge's open anomaly is closed now.
    for (const old of [before.active, before.canary?.model].filter((m): m is ServedModel => m !== undefined)) {
      for (const meterId of [...old.openByMeter.keys()]) {
        if (liveOf(before, meterId) === old && liveOf(next, meterId) !== old) this.emit(old.release(meterId, now));
      }
    }
    const wasLive = new Set([before.active, before.canary?.model]);
    for (const m of [next.active, next.canary?.model]) if (m && !wasLive.has(m)) m.forgetJudging();
    this.served = next;
    const keep = new Set([next.active, next.shadow, next.canary?.model]);
    for (const m of [before.active, before.shadow, before.canary?.model]) if (m && !keep.has(m)) await m.stop();
    for (const [role, m] of [['shadow', next.shadow], ['canary', next.canary?.model]] as const) {
      const c = m ? this.compared.get(m.version) : undefined;
      if (m && (!c || c.role !== role || c.against !== next.active.version)) {
        this.compared.set(m.version, { version: m.version, role, against: next.active.version, windows: 0, bothOver: 0, candidateOnly: 0, activeOnly: 0, meanAbsDiff: 0, opens: 0, failures: 0, sumAbs: 0 });
      }
    }
    for (const v of [...this.compared.keys()]) if (v !== next.shadow?.version && v !== next.canary?.model.version) this.compared.delete(v);
    this.log.info({ active: next.active.version, shadow: next.shadow?.version ?? null, canary: next.canary ? { version: next.canary.model.version, ...next.canary.share } : null }, 'learned scorer: models in service');
  }

  /** Takes one decoded reading; never blocks on inference. */
  add(r: ScorerReading): void {
    if (!this.substationOf.has(r.meterId)) this.substationOf.set(r.meterId, r.substationId);
    // substationId: the feature builder compares a transformer with its substation's others where
    // it knows them. It keeps none of `r` (only its id strings), so a caller may reuse one object.
    const rows = this.features.add(r);
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
    await Promise.all(this.models.map((m) => m.model.stop()));
  }

  /** Scores feature vectors directly with the active model (the model check, `gridwatch score`); throws if inference fails. */
  async scoreRows(rows: readonly ArrayLike<number>[]): Promise<Float32Array> {
    const data = new Float32Array(rows.length * FEATURE_COUNT);
    rows.forEach((r, i) => data.set(r, i * FEATURE_COUNT));
    return this.served.active.infer(data, rows.length);
  }

  /** Kills the active model's inference worker as a crash would (tests of the failure path). */
  async crashWorkerForTest(): Promise<void> {
    await this.served.active.crashForTest();
  }

  private enqueue(rows: FeatureRow[]): void {
    const max = this.opts.maxPendingRows ?? Infinity;
    if (this.pendingRows + rows.length > max) {
      // Inference is behind: what does not fit is not scored (a counted gap in learned scoring).
      const room = Math.max(0, max - this.pendingRows);
      const dropped = rows.length - room;
      this.batchCounters.overloaded += dropped;
      const now = this.clock.now();
      if (now - this.lastOverloadLog >= 10_000) {
        this.lastOverloadLog = now;
        this.log.warn({ modelVersion: this.served.active.version, pending: this.pendingRows, maxPendingRows: max, notScored: this.batchCounters.overloaded }, 'learned scorer: inference behind; closed windows past maxPendingRows not scored (counted as overloaded), rules unaffected');
      }
      rows = rows.slice(0, room);
      if (rows.length === 0) return;
    }
    this.pendingRows += rows.length;
    for (const r of rows) this.queue.push(r);
    if (this.queue.length >= (this.opts.batchSize ?? 512)) this.dispatch(false);
    // Also after full batches went: the rest must not wait for the next window to close.
    if (!this.timer && this.queue.length > 0) this.timer = setTimeout(() => this.dispatch(true), this.opts.maxWaitMs ?? 200);
  }

  private dispatch(all: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const size = this.opts.batchSize ?? 512;
    while (this.queue.length >= size || (all && this.queue.length > 0)) {
      const batch = this.queue.splice(0, size);
      this.chain = this.chain.then(async () => {
        try {
          await this.scoreBatch(batch);
        } finally {
          this.pendingRows -= batch.length;
        }
      });
    }
  }

  /** One model on some rows of the batch; null when it failed (counted, logged with its version). */
  private async run(model: ServedModel, batch: FeatureRow[], idx: number[] | null): Promise<Float32Array | null> {
    const n = idx ? idx.length : batch.length;
    if (n === 0) return new Float32Array(0);
    const data = new Float32Array(n * FEATURE_COUNT);
    for (let k = 0; k < n; k++) data.set(batch[idx ? idx[k]! : k]!.values, k * FEATURE_COUNT);
    try {
      const t0 = performance.now();
      const scores = await model.infer(data, n);
      this.opts.onBatch?.(n, (performance.now() - t0) / 1000, model.version);
      return scores;
    } catch (err) {
      this.batchCounters.inferenceFailures++;
      this.opts.onFailure?.(n, model.version);
      const c = this.compared.get(model.version);
      if (c) c.failures++;
      this.log.error({ modelVersion: model.version, rows: n, err: (err as Error).message }, 'learned scorer: inference failed; batch taken out of service for this model, rules unaffected');
      await model.stop();
      return null;
    }
  }

  private async scoreBatch(batch: FeatureRow[]): Promise<void> {
    const s = this.served;
    const canaryIdx: number[] = [];
    const isCanary = new Uint8Array(batch.length);
    if (s.canary) {
      batch.forEach((r, i) => {
        if (inCanary(s.canary!.share, this.substationOf.get(r.meterId) ?? null)) {
          canaryIdx.push(i);
          isCanary[i] = 1;
        }
      });
    }
    const [active, shadow, canary] = await Promise.all([
      this.run(s.active, batch, null),
      s.shadow ? this.run(s.shadow, batch, null) : Promise.resolve(null),
      s.canary ? this.run(s.canary.model, batch, canaryIdx) : Promise.resolve(null),
    ]);
    const ctx: JudgeContext = { now: this.clock.now(), edgeId: this.opts.edgeId ?? 'central', substationOf: (m) => this.substationOf.get(m) ?? null, openAfter: this.opts.openAfter ?? 2, closeAfter: this.opts.closeAfter ?? 3 };
    const canaryScore = new Map<number, number>();
    canaryIdx.forEach((i, k) => canary && canaryScore.set(i, canary[k]!));
    let dropped = 0;
    batch.forEach((r, i) => {
      const a = active ? active[i]! : undefined;
      if (a !== undefined) this.observe(s.active, r, a);
      if (shadow && s.shadow) {
        this.observe(s.shadow, r, shadow[i]!);
        this.compare(s.shadow, shadow[i]!, a, s.shadow.judge(r, shadow[i]!, ctx)?.state === 'open');
      }
      if (isCanary[i]) {
        const c = canaryScore.get(i);
        if (c === undefined) return void dropped++;
        this.observe(s.canary!.model, r, c);
        const opened = this.emit(s.canary!.model.judge(r, c, ctx), r);
        this.compare(s.canary!.model, c, a, opened);
        return;
      }
      if (a === undefined) return void dropped++;
      this.emit(s.active.judge(r, a, ctx), r);
    });
    this.batchCounters.rowsDropped += dropped;
    this.batchCounters.scored += batch.length - dropped;
    if (dropped === 0) this.batchCounters.batches++;
  }

  private observe(m: ServedModel, r: FeatureRow, score: number): void {
    m.psi?.add(r.values);
    this.opts.onScore?.(r, score, m.version);
  }

  private compare(m: ServedModel, score: number, activeScore: number | undefined, opened: boolean): void {
    const c = this.compared.get(m.version);
    if (!c) return;
    if (opened) c.opens++;
    if (activeScore === undefined) return;
    const over = score > m.manifest.threshold;
    const activeOver = activeScore > this.served.active.manifest.threshold;
    c.windows++;
    c.sumAbs += Math.abs(score - activeScore);
    if (over && activeOver) c.bothOver++;
    else if (over) c.candidateOnly++;
    else if (activeOver) c.activeOnly++;
  }

  /** Reports an anomaly a live model opened or closed; true when one was opened. */
  private emit(a: Anomaly | null, r?: FeatureRow): boolean {
    if (!a) return false;
    if (a.state === 'open') {
      this.batchCounters.opened++;
      if (r) {
        this.delaysMs.push(Math.max(0, a.detectedAt - r.windowLastTs));
        this.meterDelaysMs.push(Math.max(0, a.detectedAt - r.lastTs));
      }
      if (this.delaysMs.length > 10_000) this.delaysMs.shift();
      if (this.meterDelaysMs.length > 10_000) this.meterDelaysMs.shift();
    } else this.batchCounters.closed++;
    this.opts.onAnomaly(a);
    return a.state === 'open';
  }
}
