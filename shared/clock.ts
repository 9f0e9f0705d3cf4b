/**
 * The Clock port. Cores (detector, correlator, meter model) take a Clock instead of calling
 * Date.now(), so tests control time exactly and replays run faster than wall time.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. For tests and fast-forward simulation. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start = Date.UTC(2026, 10, 23, 6, 0, 0)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}
