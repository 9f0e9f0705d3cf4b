/**
 * Windowed features per meter, with neighbour comparisons per transformer and feeder, built from
 * readings as they arrive. The same code builds the training sets (central/learn/export.ts) and
 * feeds the served model (central/learn/scorer.ts), so training and serving cannot disagree.
 *
 * Windows are tumbling, `windowMs` long, aligned to the epoch, in event time. A window closes once
 * the newest reading seen is `lateMs` past its end; a reading for a closed window is counted
 * (`late`) and dropped. Hours of day are UTC.
 *
 * Partial windows (the documented rule): a meter's window is scored only with at least
 * `minShare` of the expected readings carrying voltage and as many carrying power; otherwise it is
 * skipped and counted (`partial`). A reading whose voltage is not a finite positive number is
 * counted (`bad`) and ignored; a missing or non-finite power only leaves the power channel out.
 * Every feature is finite by construction (ratios have floors and are clipped).
 */

export const FEATURES = [
  'v_mean', 'v_std', 'v_min', 'v_max', 'v_range', 'count_ratio',
  'p_mean', 'p_std', 'p_min', 'p_max', 'p_range',
  'v_rel_transformer', 'v_std_rel_transformer', 'v_rel_feeder', 'transformer_rel_feeder', 'p_share_transformer',
  'd_p_hour', 'd_v_rel_feeder_hour', 'd_v_std_hour', 'd_transformer_rel_feeder_hour', 'has_baseline',
  'hour_sin', 'hour_cos',
] as const;
export const FEATURE_COUNT = FEATURES.length;

/** The fields of a reading the features use (a v1 ForwardedReading has them all). */
export interface FeatureReading {
  meterId: string;
  transformerId: string | null;
  feederId: string | null;
  ts: number;
  voltage: number;
  power?: number | undefined;
}

export interface FeatureOptions {
  windowMs: number;
  /** Expected interval between a meter's readings (the topology's readingIntervalMs). */
  intervalMs: number;
  lateMs: number;
  minShare?: number;
  /** Nominal voltage of a meter; unknown: the nearest of 120, 230, 240, 277 V to its first reading. */
  nominalOf?: (meterId: string) => number | undefined;
}

export interface FeatureRow {
  meterId: string;
  transformerId: string | null;
  feederId: string | null;
  windowStart: number;
  values: Float32Array;
}

export interface FeatureCounters {
  readings: number;
  late: number;
  bad: number;
  partial: number;
  rows: number;
}

interface Acc {
  transformerId: string | null;
  feederId: string | null;
  nV: number; sV: number; sV2: number; minV: number; maxV: number;
  nP: number; sP: number; sP2: number; minP: number; maxP: number;
}

/** Deviation quantities kept per meter per hour of day, each compared with the previous days. */
const DEV = 4;
const FOLD = 0.5; // weight of the newest day when folding it into the baseline

class MeterMemory {
  nominal = 0;
  scaleSum = 0;
  scaleN = 0;
  readonly day = new Float64Array(24).fill(-1);
  readonly n = new Float64Array(24);
  readonly sum = new Float64Array(24 * DEV);
  readonly base = new Float64Array(24 * DEV);
  readonly has = new Uint8Array(24);

  scale(absP: number): number {
    // Running mean of |power| over at most 2,000 windows: the meter's own size, so power features
    // compare a small flat and a large house alike.
    if (this.scaleN < 2000) this.scaleN++;
    this.scaleSum += (absP - this.scaleSum) / this.scaleN;
    return Math.max(0.05, this.scaleSum);
  }

  /** Deviations of x (DEV values) from the baselines of previous days at hour h; then remembers x. */
  deviate(h: number, d: number, x: readonly number[], out: Float32Array, at: number): boolean {
    if (this.day[h] !== d) {
      if (this.n[h]! > 0) {
        for (let k = 0; k < DEV; k++) {
          const mean = this.sum[h * DEV + k]! / this.n[h]!;
          this.base[h * DEV + k] = this.has[h] ? (1 - FOLD) * this.base[h * DEV + k]! + FOLD * mean : mean;
          this.sum[h * DEV + k] = 0;
        }
        this.has[h] = 1;
      }
      this.n[h] = 0;
      this.day[h] = d;
    }
    for (let k = 0; k < DEV; k++) {
      out[at + k] = this.has[h] ? x[k]! - this.base[h * DEV + k]! : 0;
      this.sum[h * DEV + k] = this.sum[h * DEV + k]! + x[k]!;
    }
    this.n[h] = this.n[h]! + 1;
    return this.has[h] === 1;
  }
}

const NOMINALS = [120, 230, 240, 277];
const clip = (x: number, lim: number) => (x > lim ? lim : x < -lim ? -lim : x);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

export class FeatureBuilder {
  readonly counters: FeatureCounters = { readings: 0, late: 0, bad: 0, partial: 0, rows: 0 };
  private readonly open = new Map<number, Map<string, Acc>>();
  private readonly memory = new Map<string, MeterMemory>();
  private watermark = -Infinity;
  private closedBefore = -Infinity;
  private readonly minReadings: number;

  constructor(private readonly opts: FeatureOptions) {
    this.minReadings = Math.max(2, Math.ceil((opts.minShare ?? 0.3) * (opts.windowMs / opts.intervalMs)));
  }

  /** Adds a reading; returns the rows of windows it closed (often none). */
  add(r: FeatureReading): FeatureRow[] {
    this.counters.readings++;
    if (!(Number.isFinite(r.voltage) && r.voltage > 0) || !Number.isFinite(r.ts)) {
      this.counters.bad++;
      return [];
    }
    const start = r.ts - (((r.ts % this.opts.windowMs) + this.opts.windowMs) % this.opts.windowMs);
    if (start < this.closedBefore) {
      this.counters.late++;
      return [];
    }
    let mem = this.memory.get(r.meterId);
    if (!mem) {
      mem = new MeterMemory();
      mem.nominal = this.opts.nominalOf?.(r.meterId) ?? NOMINALS.reduce((b, n) => (Math.abs(n - r.voltage) < Math.abs(b - r.voltage) ? n : b));
      this.memory.set(r.meterId, mem);
    }
    let win = this.open.get(start);
    if (!win) this.open.set(start, (win = new Map()));
    let a = win.get(r.meterId);
    if (!a) win.set(r.meterId, (a = { transformerId: r.transformerId, feederId: r.feederId, nV: 0, sV: 0, sV2: 0, minV: Infinity, maxV: -Infinity, nP: 0, sP: 0, sP2: 0, minP: Infinity, maxP: -Infinity }));
    const v = r.voltage / mem.nominal;
    a.nV++; a.sV += v; a.sV2 += v * v;
    if (v < a.minV) a.minV = v;
    if (v > a.maxV) a.maxV = v;
    if (r.power !== undefined && Number.isFinite(r.power)) {
      const p = r.power;
      a.nP++; a.sP += p; a.sP2 += p * p;
      if (p < a.minP) a.minP = p;
      if (p > a.maxP) a.maxP = p;
    }
    if (r.ts > this.watermark) this.watermark = r.ts;
    return this.closeUpTo(this.watermark - this.opts.lateMs);
  }

  /** Closes every window that ends at or before `t` (all of them without an argument). */
  closeUpTo(t = Infinity): FeatureRow[] {
    const rows: FeatureRow[] = [];
    const due = [...this.open.keys()].filter((s) => s + this.opts.windowMs <= t).sort((x, y) => x - y);
    for (const s of due) {
      rows.push(...this.closeWindow(s, this.open.get(s)!));
      this.open.delete(s);
      this.closedBefore = Math.max(this.closedBefore, s + this.opts.windowMs);
    }
    return rows;
  }

  private closeWindow(start: number, win: Map<string, Acc>): FeatureRow[] {
    const expected = this.opts.windowMs / this.opts.intervalMs;
    type Stat = { id: string; a: Acc; vMean: number; vStd: number; pMean: number; pStd: number };
    const stats: Stat[] = [];
    for (const [id, a] of win) {
      if (a.nV < this.minReadings || a.nP < this.minReadings) {
        this.counters.partial++;
        continue;
      }
      const vMean = a.sV / a.nV;
      const pMean = a.sP / a.nP;
      stats.push({ id, a, vMean, vStd: Math.sqrt(Math.max(0, a.sV2 / a.nV - vMean * vMean)), pMean, pStd: Math.sqrt(Math.max(0, a.sP2 / a.nP - pMean * pMean)) });
    }
    const group = (key: (s: Stat) => string | null) => {
      const g = new Map<string, Stat[]>();
      for (const s of stats) {
        const k = key(s) ?? `meter:${s.id}`;
        (g.get(k) ?? g.set(k, []).get(k)!).push(s);
      }
      return g;
    };
    const byTr = group((s) => s.a.transformerId);
    const byFd = group((s) => s.a.feederId ?? s.a.transformerId);
    const trAgg = new Map<string, { vMean: number; vStdMed: number; pAbs: number }>();
    for (const [k, list] of byTr) trAgg.set(k, { vMean: list.reduce((x, s) => x + s.vMean, 0) / list.length, vStdMed: median(list.map((s) => s.vStd)), pAbs: list.reduce((x, s) => x + Math.abs(s.pMean), 0) / list.length });
    const fdMean = new Map<string, number>();
    for (const [k, list] of byFd) fdMean.set(k, list.reduce((x, s) => x + s.vMean, 0) / list.length);

    const h = Math.floor((((start % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000);
    const d = Math.floor(start / 86_400_000);
    const angle = (2 * Math.PI * (start % 86_400_000)) / 86_400_000;
    const rows: FeatureRow[] = [];
    for (const s of stats) {
      const mem = this.memory.get(s.id)!;
      const tr = trAgg.get(s.a.transformerId ?? `meter:${s.id}`)!;
      const fd = fdMean.get(s.a.feederId ?? s.a.transformerId ?? `meter:${s.id}`)!;
      const scale = mem.scale(Math.abs(s.pMean));
      const x = new Float32Array(FEATURE_COUNT);
      const a = s.a;
      x[0] = s.vMean - 1; x[1] = s.vStd; x[2] = a.minV - 1; x[3] = a.maxV - 1; x[4] = a.maxV - a.minV; x[5] = clip(a.nV / expected, 2);
      x[6] = clip(s.pMean / scale, 50); x[7] = clip(s.pStd / scale, 50); x[8] = clip(a.minP / scale, 50); x[9] = clip(a.maxP / scale, 50); x[10] = clip((a.maxP - a.minP) / scale, 100);
      x[11] = s.vMean - tr.vMean; x[12] = s.vStd - tr.vStdMed; x[13] = s.vMean - fd; x[14] = tr.vMean - fd; x[15] = clip(s.pMean / Math.max(0.05, tr.pAbs), 20);
      x[20] = mem.deviate(h, d, [x[6]!, x[13]!, x[1]!, x[14]!], x, 16) ? 1 : 0;
      x[21] = Math.sin(angle); x[22] = Math.cos(angle);
      rows.push({ meterId: s.id, transformerId: a.transformerId, feederId: a.feederId, windowStart: start, values: x });
    }
    this.counters.rows += rows.length;
    return rows;
  }
}
