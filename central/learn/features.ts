/**
 * Windowed features per meter, with neighbour comparisons per transformer and feeder, built from
 * readings as they arrive. The same code builds the training sets (central/learn/dataset.ts) and
 * feeds the served model (central/learn/scorer.ts), so training and serving cannot disagree.
 *
 * Windows are tumbling, `windowMs` long, aligned to the epoch, in event time. A window closes as
 * soon as it is complete: every meter in it has delivered its last reading of the window (its
 * next one, at the meter's own pace, would fall past the window's end; or it came) and it has at
 * least the meters of the window before, the windows before it being closed. An incomplete one
 * (a meter that missed its last reading, or left) closes once the newest reading seen is `lateMs`
 * past its end: the grace for late readings. A reading for a closed window is counted (`late`)
 * and dropped. Hours of day are UTC.
 *
 * Partial windows (the documented rule): a meter's window is scored only with at least
 * `minShare` of the expected readings carrying voltage and as many carrying power; otherwise it is
 * skipped and counted (`partial`). A reading whose voltage is not a finite positive number is
 * counted (`bad`) and ignored; a missing or non-finite power only leaves the power channel out.
 * Every feature is finite by construction (ratios have floors and are clipped).
 *
 * No feature is an absolute voltage level: a grid's level depends on its profile and its load of
 * the day, and a model that learns levels flags a healthy heavy-loaded grid (the cause of most
 * false positives of the first model). Voltages are compared with the neighbours and with the
 * same meter's or transformer's previous days instead.
 */

export const FEATURES = [
  'v_std', 'v_range', 'count_ratio',
  'p_mean', 'p_std', 'p_min', 'p_max', 'p_range',
  'v_rel_transformer', 'v_std_rel_transformer', 'v_rel_feeder', 'transformer_rel_feeder', 'transformer_rel_others', 'p_rel_transformer_median',
  'd_p_hour', 'd_v_rel_feeder_hour', 'd_v_std_hour', 'd_transformer_rel_feeder_hour', 'd_transformer_rel_others_hour', 'has_baseline',
  'p_ratio_smooth', 'v_std_ratio_smooth',
  'transformer_drop_residual', 'transformer_drop_residual_smooth',
  'hour_sin', 'hour_cos',
  'd_p_hour_peak',
] as const;
export const FEATURE_COUNT = FEATURES.length;

/** The fields of a reading the features use (a v1 ForwardedReading has them all). */
export interface FeatureReading {
  meterId: string;
  transformerId: string | null;
  feederId: string | null;
  /** Optional (added for the transformer comparison): without it, a feeder's only transformer is compared with all the others this builder sees. */
  substationId?: string | null | undefined;
  ts: number;
  voltage: number;
  power?: number | undefined;
}

export interface FeatureOptions {
  windowMs: number;
  /** Expected interval between a meter's readings (the topology's readingIntervalMs). */
  intervalMs: number;
  /** Grace for late readings: an incomplete window closes once the newest reading seen is this far past its end (a complete one at once). */
  lateMs: number;
  /** false: windows close on the grace alone, complete or not (the old rule; tests compare the two). */
  closeComplete?: boolean;
  minShare?: number;
  /** Nominal voltage of a meter; unknown: the nearest of 120, 230, 240, 277 V to its first reading. */
  nominalOf?: (meterId: string) => number | undefined;
}

export interface FeatureRow {
  meterId: string;
  transformerId: string | null;
  feederId: string | null;
  windowStart: number;
  /** Event time of the meter's last reading in the window. */
  lastTs: number;
  /** Event time of the window's last reading, of any meter in it (the delay figure starts there: the window cannot close before it). */
  windowLastTs: number;
  values: Float32Array;
}

export interface FeatureCounters {
  readings: number;
  late: number;
  bad: number;
  partial: number;
  rows: number;
}

/** A meter's sums in one open window (one object per meter and window, not per reading). */
interface Acc {
  mem: MeterMemory;
  substationId: string | null;
  transformerId: string | null;
  feederId: string | null;
  nV: number; sV: number; sV2: number; minV: number; maxV: number;
  nP: number; sP: number; sP2: number; minP: number; maxP: number;
  lastTs: number;
  /** The meter has delivered its last reading of the window (counted off the window's `pending`). */
  done: boolean;
  win: OpenWindow;
}

interface OpenWindow { start: number; accs: Map<string, Acc>; pending: number }

/** Deviation quantities kept per meter per hour of day, each compared with the previous days. */
const DEV = 5;
const FOLD = 0.5; // weight of the newest day when folding it into the baseline
/** Weight of the newest window in the smoothed features (about an hour of memory at 10-min windows). */
const SMOOTH = 0.3;
/** Per window: a peak halves in 1,008 windows (a week of 10-minute windows) unless a higher one comes. */
const PEAK_DECAY = Math.pow(0.5, 1 / 1008);

/** Per-hour baselines of some quantities, folded in day by day (a fault is compared with the days before it, never with itself). */
class HourBaseline {
  readonly day = new Float64Array(24).fill(-1);
  readonly n = new Float64Array(24);
  readonly sum: Float64Array;
  readonly base: Float64Array;
  readonly has = new Uint8Array(24);
  constructor(private readonly k: number) {
    this.sum = new Float64Array(24 * k);
    this.base = new Float64Array(24 * k);
  }

  /** Writes x[i] minus its baseline at hour h (0 without one) to out[at + i]; then remembers x. */
  deviate(h: number, d: number, x: ArrayLike<number>, out: Float32Array | Float64Array, at: number): boolean {
    const k = this.k;
    if (this.day[h] !== d) {
      if (this.n[h]! > 0) {
        for (let i = 0; i < k; i++) {
          const mean = this.sum[h * k + i]! / this.n[h]!;
          this.base[h * k + i] = this.has[h] ? (1 - FOLD) * this.base[h * k + i]! + FOLD * mean : mean;
          this.sum[h * k + i] = 0;
        }
        this.has[h] = 1;
      }
      this.n[h] = 0;
      this.day[h] = d;
    }
    for (let i = 0; i < k; i++) {
      out[at + i] = this.has[h] ? x[i]! - this.base[h * k + i]! : 0;
      this.sum[h * k + i] = this.sum[h * k + i]! + x[i]!;
    }
    this.n[h] = this.n[h]! + 1;
    return this.has[h] === 1;
  }

  /** The baseline of quantity i at hour h, or NaN without one. */
  baseOf(h: number, i: number): number {
    return this.has[h] ? this.base[h * this.k + i]! : NaN;
  }
}

class MeterMemory {
  nominal = 0;
  scaleSum = 0;
  scaleN = 0;
  pRatio = 0;
  vStdRatio = 0;
  smoothed = false;
  /** Its newest reading, the gap before it (its pace), and its newest open window's sums. */
  lastTs = -Infinity;
  gap = Infinity;
  newest: Acc | null = null;
  /** Running peak of the meter's window mean |power|, kW (halves in about a week of windows without a higher one). */
  peak = 0;
  readonly hours = new HourBaseline(DEV);

  peakOf(absP: number): number {
    this.peak = Math.max(absP, this.peak * PEAK_DECAY);
    return Math.max(0.05, this.peak);
  }

  scale(absP: number): number {
    // Running mean of |power| over at most 2,000 windows: the meter's own size, so power features
    // compare a small flat and a large house alike.
    if (this.scaleN < 2000) this.scaleN++;
    this.scaleSum += (absP - this.scaleSum) / this.scaleN;
    return Math.max(0.05, this.scaleSum);
  }
}

/**
 * A transformer's voltage against its load. Healthy, its voltage relative to the feeder falls
 * linearly with its load (the winding's impedance); a degrading transformer's slope grows. The
 * previous days' windows fit that line (least squares over the transformer's mean |power| per
 * meter, kW: its own scale, so no normalisation drifts under it; folded in day by day like the hour
 * baselines); the residual of today's window from it is what a grown slope shows as, at every
 * hour, whatever the load of the day.
 */
class TransformerMemory {
  day = -1;
  /** Today's sums, and the previous days' (n, x, y, xx, xy). */
  readonly today = new Float64Array(5);
  readonly past = new Float64Array(5);
  hasPast = false;
  smooth = 0;
  lastStart = -Infinity;
  residual = 0;

  /** The window's residual from the previous days' line; then remembers (x, y). Once per window. */
  observe(d: number, start: number, x: number, y: number): void {
    if (start === this.lastStart) return;
    this.lastStart = start;
    if (this.day !== d) {
      if (this.today[0]! > 0) {
        for (let i = 0; i < 5; i++) this.past[i] = this.hasPast ? (1 - FOLD) * this.past[i]! + FOLD * this.today[i]! : this.today[i]!;
        this.hasPast = true;
        this.today.fill(0);
      }
      this.day = d;
    }
    let r = 0;
    if (this.hasPast) {
      const [n, sx, sy, sxx, sxy] = this.past as unknown as [number, number, number, number, number];
      const mx = sx / n;
      const my = sy / n;
      const vx = sxx / n - mx * mx;
      const b = vx > 1e-6 ? (sxy / n - mx * my) / vx : 0;
      r = y - (my + b * (x - mx));
    }
    this.residual = r;
    this.smooth = this.hasPast ? SMOOTH * r + (1 - SMOOTH) * this.smooth : 0;
    const t = this.today;
    t[0]! += 1; t[1]! += x; t[2]! += y; t[3]! += x * x; t[4]! += x * y;
  }
}

const NOMINALS = [120, 230, 240, 277];
const clip = (x: number, lim: number) => (x > lim ? lim : x < -lim ? -lim : x);
const EMPTY: FeatureRow[] = [];

interface Group { sumV: number; n: number; sumAbsP: number; vStds: number[]; pMeans: number[]; vStdMed: number; pMed: number }

export class FeatureBuilder {
  readonly counters: FeatureCounters = { readings: 0, late: 0, bad: 0, partial: 0, rows: 0 };
  private readonly open = new Map<number, OpenWindow>();
  /** Meters of the last window closed (Infinity before any: the first window waits for the grace). */
  private lastMeters = Infinity;
  private readonly memory = new Map<string, MeterMemory>();
  private readonly transformers = new Map<string, TransformerMemory>();
  private watermark = -Infinity;
  private closedBefore = -Infinity;
  /** End of the earliest open window: nothing to close while the watermark is before it. */
  private nextDue = Infinity;
  private readonly minReadings: number;
  private readonly scratch = new Float64Array(DEV);

  constructor(private readonly opts: FeatureOptions) {
    this.minReadings = Math.max(2, Math.ceil((opts.minShare ?? 0.3) * (opts.windowMs / opts.intervalMs)));
  }

  /** Adds a reading; returns the rows of windows it closed (often none: then a shared empty array). */
  add(r: FeatureReading): FeatureRow[] {
    this.counters.readings++;
    const ts = r.ts;
    if (!(Number.isFinite(r.voltage) && r.voltage > 0) || !Number.isFinite(ts)) {
      this.counters.bad++;
      return EMPTY;
    }
    const w = this.opts.windowMs;
    const start = ts - (((ts % w) + w) % w);
    if (start < this.closedBefore) {
      this.counters.late++;
      return EMPTY;
    }
    let win = this.open.get(start);
    if (!win) {
      this.open.set(start, (win = { start, accs: new Map(), pending: 0 }));
      if (start + w < this.nextDue) this.nextDue = start + w;
    }
    let a = win.accs.get(r.meterId);
    let moved: Acc | null = null;
    if (!a) {
      let mem = this.memory.get(r.meterId);
      if (!mem) {
        mem = new MeterMemory();
        mem.nominal = this.opts.nominalOf?.(r.meterId) ?? NOMINALS.reduce((b, n) => (Math.abs(n - r.voltage) < Math.abs(b - r.voltage) ? n : b));
        this.memory.set(r.meterId, mem);
      }
      win.accs.set(r.meterId, (a = { mem, substationId: r.substationId ?? null, transformerId: r.transformerId, feederId: r.feederId, nV: 0, sV: 0, sV2: 0, minV: Infinity, maxV: -Infinity, nP: 0, sP: 0, sP2: 0, minP: Infinity, maxP: -Infinity, lastTs: -Infinity, done: false, win }));
      win.pending++;
      // The meter has moved on to a later window: its earlier one has all it will get.
      const prev = mem.newest;
      if (!prev || prev.win.start < start) {
        if (prev && !prev.done) moved = prev;
        mem.newest = a;
      }
    }
    const mem = a.mem;
    const v = r.voltage / mem.nominal;
    a.nV++; a.sV += v; a.sV2 += v * v;
    if (v < a.minV) a.minV = v;
    if (v > a.maxV) a.maxV = v;
    const p = r.power;
    if (p !== undefined && Number.isFinite(p)) {
      a.nP++; a.sP += p; a.sP2 += p * p;
      if (p < a.minP) a.minP = p;
      if (p > a.maxP) a.maxP = p;
    }
    if (ts > a.lastTs) a.lastTs = ts;
    if (ts > mem.lastTs) {
      if (mem.lastTs > -Infinity) mem.gap = ts - mem.lastTs;
      mem.lastTs = ts;
    }
    if (ts > this.watermark) this.watermark = ts;
    let completed = false;
    if (moved) completed = this.finish(moved) || completed;
    // Its last reading of the window: the next one, at its pace (never slower than the topology's
    // interval, so a meter back from a gap does not finish its window at its first reading), would
    // fall past the window's end.
    if (!a.done && ts + Math.min(mem.gap, this.opts.intervalMs) >= start + w) completed = this.finish(a) || completed;
    if (this.watermark - this.opts.lateMs >= this.nextDue) return this.closeUpTo(this.watermark - this.opts.lateMs);
    return completed && this.opts.closeComplete !== false ? this.closeComplete() : EMPTY;
  }

  /** Counts a meter's window as delivered; true when that leaves the window with nothing pending. */
  private finish(a: Acc): boolean {
    a.done = true;
    return --a.win.pending === 0;
  }

  /** Closes the earliest open windows while each is complete (in order: baselines and smoothing run window after window). */
  private closeComplete(): FeatureRow[] {
    let rows: FeatureRow[] = EMPTY;
    for (;;) {
      let first: OpenWindow | undefined;
      for (const win of this.open.values()) if (!first || win.start < first.start) first = win;
      if (!first || first.pending > 0 || first.accs.size < this.lastMeters) return rows;
      if (rows === EMPTY) rows = [];
      this.closeOne(first, rows);
    }
  }

  /** Closes every window that ends at or before `t` (all of them without an argument). */
  closeUpTo(t = Infinity): FeatureRow[] {
    const due = [...this.open.values()].filter((win) => win.start + this.opts.windowMs <= t).sort((x, y) => x.start - y.start);
    if (due.length === 0) return EMPTY;
    const rows: FeatureRow[] = [];
    for (const win of due) this.closeOne(win, rows);
    // A complete window right after them need not wait.
    const more = this.opts.closeComplete === false ? EMPTY : this.closeComplete();
    return more.length > 0 ? rows.concat(more) : rows;
  }

  private closeOne(win: OpenWindow, rows: FeatureRow[]): void {
    this.closeWindow(win.start, win.accs, rows);
    this.open.delete(win.start);
    this.lastMeters = win.accs.size;
    this.closedBefore = Math.max(this.closedBefore, win.start + this.opts.windowMs);
    for (const a of win.accs.values()) if (a.mem.newest === a) a.mem.newest = null;
    this.nextDue = Infinity;
    for (const s of this.open.keys()) if (s + this.opts.windowMs < this.nextDue) this.nextDue = s + this.opts.windowMs;
  }

  private closeWindow(start: number, win: Map<string, Acc>, rows: FeatureRow[]): void {
    const expected = this.opts.windowMs / this.opts.intervalMs;
    const ids: string[] = [];
    const accs: Acc[] = [];
    for (const [id, a] of win) {
      if (a.nV < this.minReadings || a.nP < this.minReadings) {
        this.counters.partial++;
        continue;
      }
      ids.push(id);
      accs.push(a);
    }
    const n = accs.length;
    let windowLastTs = -Infinity;
    for (const a of win.values()) if (a.lastTs > windowLastTs) windowLastTs = a.lastTs;
    const vMean = new Float64Array(n);
    const vStd = new Float64Array(n);
    const pMean = new Float64Array(n);
    const pStd = new Float64Array(n);
    const byTr = new Map<string, Group>();
    const byFd = new Map<string, { sumV: number; n: number }>();
    // Per substation: the sum of its transformers' mean voltages and their count (each once).
    const bySub = new Map<string, { sumTr: number; n: number }>();
    const trKey = (i: number) => accs[i]!.transformerId ?? `meter:${ids[i]}`;
    const fdKey = (i: number) => accs[i]!.feederId ?? trKey(i);
    for (let i = 0; i < n; i++) {
      const a = accs[i]!;
      const vm = a.sV / a.nV;
      const pm = a.sP / a.nP;
      vMean[i] = vm;
      pMean[i] = pm;
      vStd[i] = Math.sqrt(Math.max(0, a.sV2 / a.nV - vm * vm));
      pStd[i] = Math.sqrt(Math.max(0, a.sP2 / a.nP - pm * pm));
      const tk = trKey(i);
      let g = byTr.get(tk);
      if (!g) byTr.set(tk, (g = { sumV: 0, n: 0, sumAbsP: 0, vStds: [], pMeans: [], vStdMed: 0, pMed: 0 }));
      g.sumV += vm; g.n++; g.sumAbsP += Math.abs(pm);
      g.vStds.push(vStd[i]!);
      g.pMeans.push(pm);
      const fk = fdKey(i);
      const f = byFd.get(fk) ?? byFd.set(fk, { sumV: 0, n: 0 }).get(fk)!;
      f.sumV += vm; f.n++;
    }
    const median = (xs: number[]) => (xs.sort((x, y) => x - y), xs[Math.floor(xs.length / 2)] ?? 0);
    for (const g of byTr.values()) {
      g.vStdMed = median(g.vStds);
      g.pMed = median(g.pMeans);
    }
    const subKey = (i: number) => accs[i]!.substationId ?? '*';
    const counted = new Set<string>();
    for (let i = 0; i < n; i++) {
      const tk = trKey(i);
      if (counted.has(tk)) continue;
      counted.add(tk);
      const g = byTr.get(tk)!;
      const sk = subKey(i);
      const sub = bySub.get(sk) ?? bySub.set(sk, { sumTr: 0, n: 0 }).get(sk)!;
      sub.sumTr += g.sumV / g.n;
      sub.n++;
    }

    const h = Math.floor((((start % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000);
    const d = Math.floor(start / 86_400_000);
    const angle = (2 * Math.PI * (start % 86_400_000)) / 86_400_000;
    const sin = Math.sin(angle);
    const cos = Math.cos(angle);
    const x0 = this.scratch;
    for (let i = 0; i < n; i++) {
      const a = accs[i]!;
      const mem = a.mem;
      const tk = trKey(i);
      const g = byTr.get(tk)!;
      const fd = byFd.get(fdKey(i))!;
      const trV = g.sumV / g.n;
      const fdV = fd.sumV / fd.n;
      const trAbsP = g.sumAbsP / g.n;
      let tm = this.transformers.get(tk);
      if (!tm) this.transformers.set(tk, (tm = new TransformerMemory()));
      const scale = mem.scale(Math.abs(pMean[i]!));
      const peak = mem.peakOf(Math.abs(pMean[i]!));
      const x = new Float32Array(FEATURE_COUNT);
      x[0] = vStd[i]!; x[1] = a.maxV - a.minV; x[2] = clip(a.nV / expected, 2);
      x[3] = clip(pMean[i]! / scale, 50); x[4] = clip(pStd[i]! / scale, 50); x[5] = clip(a.minP / scale, 50); x[6] = clip(a.maxP / scale, 50); x[7] = clip((a.maxP - a.minP) / scale, 100);
      x[8] = vMean[i]! - trV; x[9] = vStd[i]! - g.vStdMed; x[10] = vMean[i]! - fdV; x[11] = trV - fdV;
      // The transformer against the feeder's other transformers (not itself: a large transformer
      // that sags drags the feeder's mean with it); a feeder's only transformer (one per feeder is
      // common in European grids) against the substation's other transformers; 0 if none.
      const sub = bySub.get(subKey(i))!;
      const others = fd.n > g.n ? trV - (fd.sumV - g.sumV) / (fd.n - g.n) : sub.n > 1 ? trV - (sub.sumTr - trV) / (sub.n - 1) : 0;
      x[12] = others;
      tm.observe(d, start, trAbsP, others);
      // Against the neighbours' median, not their mean: one faulted neighbour (a failed inverter
      // importing at midday) must not make every other meter of the transformer look odd.
      x[13] = clip((pMean[i]! - g.pMed) / scale, 50);
      // The power baseline is kept in kW and divided by the meter's size of now, not of the day it
      // was seen: the size is a running mean that starts small, so a baseline of scaled power from
      // a meter's first hours (in the training grids: the night, just when a night load shows)
      // would be off by the size's warm-up and make a healthy night look like a fault and back.
      x0[0] = pMean[i]!; x0[1] = x[10]!; x0[2] = x[0]!; x0[3] = x[11]!; x0[4] = x[12]!;
      const has = mem.hours.deviate(h, d, x0, x, 14);
      // The same deviation against the meter's peak: an abnormal load (a night load) is heavy for
      // what the customer draws at most, and a flat customer's size (its mean) is near its peak
      // while a peaky one's is a third of it, so against the mean one night load looks twice another.
      x[26] = clip(x[14]! / peak, 50);
      x[14] = clip(x[14]! / scale, 50);
      x[19] = has ? 1 : 0;
      // Smoothed over about an hour: the meter's power against the same hours of previous days
      // (diversion: a third of it, whatever the day's weather), and its voltage swings against its
      // neighbours' (a loose neutral grows; one noisy window does not).
      const basP = mem.hours.baseOf(h, 0) / scale;
      const ratio = has ? Math.log((Math.abs(x[3]!) + 0.1) / (Math.abs(basP) + 0.1)) : 0;
      const swing = Math.log((vStd[i]! + 1e-4) / (g.vStdMed + 1e-4));
      if (!mem.smoothed) {
        mem.pRatio = ratio;
        mem.vStdRatio = swing;
        mem.smoothed = true;
      } else {
        mem.pRatio = SMOOTH * ratio + (1 - SMOOTH) * mem.pRatio;
        mem.vStdRatio = SMOOTH * swing + (1 - SMOOTH) * mem.vStdRatio;
      }
      x[20] = clip(mem.pRatio, 10); x[21] = clip(mem.vStdRatio, 10);
      x[22] = tm.residual; x[23] = tm.smooth;
      x[24] = sin; x[25] = cos;
      rows.push({ meterId: ids[i]!, transformerId: a.transformerId, feederId: a.feederId, windowStart: start, lastTs: a.lastTs, windowLastTs, values: x });
    }
    this.counters.rows += n;
  }
}
