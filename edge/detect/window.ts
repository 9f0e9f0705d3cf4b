/**
 * Moving mean and standard deviation over the last `size` values: a fixed Float64Array ring and
 * running sums, O(1) per push and no allocation.
 *
 * The sums are kept around a shift `k` (a value close to the data: Σ(x-k), Σ(x-k)²), which avoids
 * the catastrophic cancellation of the naive Σx² - (Σx)²/n on values like 230 V with 0.5 V noise.
 * Adding and removing values still accumulates rounding error, so every `size` pushes the sums are
 * recomputed exactly from the buffer (O(size) once per `size` pushes, O(1) amortised) with the
 * shift moved to the current mean.
 */
export interface RollingStatsSnapshot {
  /** Buffer contents as stored (ring order, `n` values). */
  b: number[];
  /** Next slot to write. */
  h: number;
  k: number;
  s: number;
  q: number;
  /** Pushes since the last recompute. */
  r: number;
}

export class RollingStats {
  private readonly buf: Float64Array;
  private head = 0;
  private n = 0;
  private k = 0;
  private s = 0;
  private q = 0;
  private r = 0;

  constructor(readonly size: number) {
    this.buf = new Float64Array(size);
  }

  get count(): number {
    return this.n;
  }

  push(x: number): void {
    if (this.n === 0) this.k = x;
    const d = x - this.k;
    if (this.n === this.size) {
      const old = (this.buf[this.head] as number) - this.k;
      this.s += d - old;
      this.q += d * d - old * old;
    } else {
      this.s += d;
      this.q += d * d;
      this.n++;
    }
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.size ? 0 : this.head + 1;
    if (++this.r >= this.size) this.recompute();
  }

  mean(): number {
    return this.n === 0 ? 0 : this.k + this.s / this.n;
  }

  /** Sample standard deviation (n - 1); 0 with fewer than two values. */
  std(): number {
    if (this.n < 2) return 0;
    const v = (this.q - (this.s * this.s) / this.n) / (this.n - 1);
    return v > 0 ? Math.sqrt(v) : 0;
  }

  private recompute(): void {
    const n = this.n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.buf[i] as number;
    const k = sum / n;
    let s = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const d = (this.buf[i] as number) - k;
      s += d;
      q += d * d;
    }
    this.k = k;
    this.s = s;
    this.q = q;
    this.r = 0;
  }

  export(): RollingStatsSnapshot {
    const b = new Array<number>(this.n);
    for (let i = 0; i < this.n; i++) b[i] = this.buf[i] as number;
    return { b, h: this.head, k: this.k, s: this.s, q: this.q, r: this.r };
  }

  /** Restores exactly. A snapshot taken with another window size is replayed oldest first instead. */
  static import(size: number, s: RollingStatsSnapshot): RollingStats {
    const n = s.b.length;
    if (n === size || (n < size && s.h === n)) {
      const w = new RollingStats(size);
      w.buf.set(s.b);
      w.n = n;
      w.head = s.h % size;
      w.k = s.k;
      w.s = s.s;
      w.q = s.q;
      w.r = s.r;
      return w;
    }
    return RollingStats.replay(size, s);
  }

  private static replay(size: number, s: RollingStatsSnapshot): RollingStats {
    const w = new RollingStats(size);
    const n = s.b.length;
    // Oldest value sits at h when the ring was full, at 0 otherwise.
    const start = n > 0 && s.h < n ? s.h : 0;
    for (let i = 0; i < n; i++) w.push(s.b[(start + i) % n] as number);
    return w;
  }
}
