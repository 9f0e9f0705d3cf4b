// Whether the gateway heard its meters in time since the dropout timer last ran. A meter is silent
// only when it sends nothing, not when the gateway is slow to get through what it sent (the same
// rule the MQTT in-flight gate keeps for keep-alives, edge/ingest/inflight.ts). In the demo on a
// machine loaded to 25 on 2 cores, PUBACKs took 8.8 s at the median and 28 s at p99: the readings
// sat in the gateway's own queue while its dropout timer counted their meters silent, and 17,305
// false dropouts (and 11 false outage events from them) came out. So while the gateway is behind,
// silence is not counted (Detector.listeningSince, as after a restart): a meter that really went
// silent then is reported one dropout window after the gateway caught up, never lost.

/** What the gateway can see of its own lag at a tick. */
export interface HearingSample {
  /** performance.now() at this tick. */
  mono: number;
  /** The MQTT in-flight gate: closed now, times it closed since start, connections it holds unread. */
  gate?: { closed: boolean; closings: number; heldClients: number };
}

/** The dropout timer's own lateness past which the gateway counts as not having listened (its event loop was stalled that long). */
export const LATE_TICK_MS = 1000;

export type Deafness = { behind: false } | { behind: true; reason: 'event_loop_stalled' | 'intake_gate_closed' | 'connections_held'; lateMs: number };

export class Hearing {
  private last: { mono: number; closings: number } | null = null;
  /** Ticks judged behind, since start. */
  behindTicks = 0;

  constructor(private readonly tickMs: number) {}

  /** Judges the interval since the previous sample: was the gateway behind its meters at any point in it? */
  sample(s: HearingSample): Deafness {
    const prev = this.last;
    this.last = { mono: s.mono, closings: s.gate?.closings ?? 0 };
    if (prev === null) return { behind: false };
    const lateMs = Math.max(0, s.mono - prev.mono - this.tickMs);
    let reason: 'event_loop_stalled' | 'intake_gate_closed' | 'connections_held' | null = null;
    if (lateMs > LATE_TICK_MS) reason = 'event_loop_stalled';
    else if (s.gate && (s.gate.closed || s.gate.closings !== prev.closings)) reason = 'intake_gate_closed';
    else if (s.gate && s.gate.heldClients > 0) reason = 'connections_held';
    if (reason === null) return { behind: false };
    this.behindTicks++;
    return { behind: true, reason, lateMs: Math.round(lateMs) };
  }
}
