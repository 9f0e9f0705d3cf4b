// Failed authentications per client address: after `maxFailures` within `windowMs`, the address
// is refused (429) until its window ends, whatever it presents, so a token cannot be guessed
// faster than that. Only refused credentials count (not a missing header, which guesses nothing).
// The table is bounded: beyond `maxAddresses` the oldest window is forgotten first.
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  maxAddresses?: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly o: FailureLimiterOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the address may try again, or 0 when it may now. */
  blockedFor(address: string): number {
    const w = this.windows.get(address);
    if (!w) return 0;
    const left = w.start + this.o.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.o.maxFailures ? left : 0;
  }

  fail(address: string): void {
    const t = this.now();
    let w = this.windows.get(address);
    if (!w || t - w.start >= this.o.windowMs) {
      this.windows.delete(address);
      w = { start: t, failures: 0 };
      if (this.windows.size >= (this.o.maxAddresses ?? 10_000)) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(address, w);
    }
    w.failures++;
  }
}
