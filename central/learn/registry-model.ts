/**
 * One model in service: its checked file and manifest, its inference worker (onnxruntime-node in
 * a worker thread, central/learn/infer-worker.mjs), its PSI drift tracker, and the per-meter state
 * of the anomalies it opens (hysteresis, see judge). The scorer (scorer.ts) serves up to three at a
 * time: the active model, a canary for a share of substations, a shadow that never opens anything.
 */
import { Worker } from 'node:worker_threads';
import type { Anomaly } from '../../shared/contracts/index.ts';
import type { Logger } from '../../shared/logger.ts';
import { FEATURE_COUNT, FEATURES, type FeatureRow } from './features.ts';
import type { LoadedModel, ModelManifest } from './model-file.ts';
import { PsiTracker } from './psi.ts';

const WORKER_URL = new URL('./infer-worker.mjs', import.meta.url);

interface OpenPattern { anomaly: Anomaly; peak: number; below: number; firstBelow: number }
interface Pending { since: number; count: number; score: number }

export interface JudgeContext {
  now: number;
  edgeId: string;
  substationOf: (meterId: string) => string | null;
  openAfter: number;
  closeAfter: number;
}

export class ServedModel {
  readonly manifest: ModelManifest;
  readonly bytes: Uint8Array;
  readonly psi: PsiTracker | null;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (s: Float32Array) => void; reject: (e: Error) => void }>();
  readonly openByMeter = new Map<string, OpenPattern>();
  private readonly overByMeter = new Map<string, Pending>();

  constructor(loaded: LoadedModel, log: Logger) {
    this.manifest = loaded.manifest;
    this.bytes = loaded.bytes;
    if (loaded.manifest.reference) {
      this.psi = new PsiTracker(FEATURES, loaded.manifest.reference);
      if (this.psi.missing.length > 0) log.warn({ modelVersion: this.version, features: this.psi.missing }, 'learned model: no valid reference bins for some features; PSI drift not computed for them');
    } else {
      this.psi = null;
      log.info({ modelVersion: this.version }, 'learned model: manifest has no reference bins; PSI drift not computed for this version');
    }
  }

  get version(): string {
    return this.manifest.version;
  }
  get short(): string {
    return this.manifest.version.slice(0, 12);
  }

  /** Starts the worker and loads the model into onnxruntime; a model it refuses throws. */
  async start(): Promise<void> {
    await this.spawn();
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  /** Scores rows (FEATURE_COUNT columns each); a dead worker is replaced first. Transfers `data`. */
  async infer(data: Float32Array, rows: number): Promise<Float32Array> {
    if (!this.worker) await this.spawn();
    const id = this.nextId++;
    const w = this.worker;
    if (!w) throw new Error('no inference worker');
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ type: 'score', id, data, rows, cols: FEATURE_COUNT }, [data.buffer as ArrayBuffer]);
    });
  }

  /**
   * Hysteresis, so one condition is one anomaly and one noisy window is none: a meter opens after
   * `openAfter` consecutive windows over the threshold (startTs: the first of them) and closes
   * after `closeAfter` consecutive windows under it (endTs: the first of those). Returns the
   * anomaly opened or closed, if any (a shadow's are counted, never produced).
   */
  judge(r: FeatureRow, score: number, ctx: JudgeContext): Anomaly | null {
    const open = this.openByMeter.get(r.meterId);
    const { threshold, version } = this.manifest;
    const over = score > threshold;
    if (open) {
      if (over) {
        open.peak = Math.max(open.peak, score);
        open.below = 0;
        return null;
      }
      if (open.below++ === 0) open.firstBelow = r.windowStart;
      if (open.below < ctx.closeAfter) return null;
      this.openByMeter.delete(r.meterId);
      const endTs = open.firstBelow;
      return { ...open.anomaly, state: 'closed', endTs, durationMs: Math.max(0, endTs - open.anomaly.startTs), peak: open.peak, observed: score, score, detectedAt: ctx.now };
    }
    if (!over) {
      this.overByMeter.delete(r.meterId);
      return null;
    }
    const pending = this.overByMeter.get(r.meterId) ?? { since: r.windowStart, count: 0, score: 0 };
    pending.count++;
    pending.score = Math.max(pending.score, score);
    this.overByMeter.set(r.meterId, pending);
    if (pending.count < ctx.openAfter) return null;
    this.overByMeter.delete(r.meterId);
    const anomaly: Anomaly = {
      anomalyId: `learned:${version.slice(0, 12)}:${r.meterId}:${pending.since}`,
      edgeId: ctx.edgeId,
      meterId: r.meterId,
      substationId: ctx.substationOf(r.meterId),
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
      detectedAt: ctx.now,
      score,
      threshold,
      modelVersion: version,
    };
    this.openByMeter.set(r.meterId, { anomaly, peak: pending.score, below: 0, firstBelow: 0 });
    return anomaly;
  }

  /**
   * Closes the open anomaly of a meter this model no longer judges (it was retired, or the meter
   * moved in or out of the canary share): endTs is when it was taken off, so nothing stays open
   * for a model that will never close it.
   */
  release(meterId: string, now: number): Anomaly | null {
    const open = this.openByMeter.get(meterId);
    this.overByMeter.delete(meterId);
    if (!open) return null;
    this.openByMeter.delete(meterId);
    const endTs = Math.max(open.anomaly.startTs, now);
    return { ...open.anomaly, state: 'closed', endTs, durationMs: endTs - open.anomaly.startTs, peak: open.peak, detectedAt: now };
  }

  /**
   * Forgets the would-be anomalies of a shadow that becomes live: they were never produced, so
   * the meters start from nothing and what is still over the threshold opens for real.
   */
  forgetJudging(): void {
    this.openByMeter.clear();
    this.overByMeter.clear();
  }

  /** Kills the inference worker as a crash would (tests of the failure path). */
  async crashForTest(): Promise<void> {
    await this.worker?.terminate();
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
    try {
      await new Promise<void>((resolve, reject) => {
        const onMsg = (m: { type: string; message?: string }) => {
          w.off('message', onMsg);
          if (m.type === 'loaded') resolve();
          else reject(new Error(`model ${this.short} refused by onnxruntime: ${m.message}`));
        };
        w.on('message', onMsg);
        w.once('exit', () => reject(new Error(`model ${this.short}: inference worker exited while loading`)));
        // Not transferred (cloned): the bytes stay with this model for the next worker.
        w.postMessage({ type: 'load', model: this.bytes, input: 'features', output: output?.output, column: output?.column ?? 0, sign: output?.sign ?? 1, offset: output?.offset ?? 0 });
      });
    } catch (err) {
      if (this.worker === w) this.worker = undefined;
      await w.terminate();
      throw err;
    }
  }
}
