import type { EdgeStatus } from '../../shared/index.ts';

export interface HeartbeatInputs {
  edgeId: string;
  substationId: string | null;
  startedAt: number;
  now: number;
  outbox: { depth: number; bytes: number; oldestAgeMs: number };
  gaps: { records: number; readings: number };
  totals: { accepted: number; rejected: number; forwarded: number };
  medianSkewMs: number | null;
  clockSkewMs: number;
  meters: number;
  version: string;
}

/**
 * Builds the v1 EdgeStatus heartbeat. Rates are per second since the previous heartbeat, from
 * monotonically increasing totals (the first heartbeat: since start).
 */
export class HeartbeatBuilder {
  private last: { at: number; accepted: number; rejected: number; forwarded: number } | null = null;

  build(i: HeartbeatInputs): EdgeStatus {
    const prev = this.last ?? { at: i.startedAt, accepted: 0, rejected: 0, forwarded: 0 };
    const secs = Math.max(0.001, (i.now - prev.at) / 1000);
    const rate = (now: number, before: number) => Math.max(0, Math.round(((now - before) / secs) * 100) / 100);
    this.last = { at: i.now, ...i.totals };
    const skew = i.medianSkewMs;
    return {
      edgeId: i.edgeId,
      substationId: i.substationId,
      ts: i.now,
      startedAt: i.startedAt,
      outbox: { depth: int(i.outbox.depth), bytes: int(i.outbox.bytes), oldestAgeMs: int(i.outbox.oldestAgeMs) },
      gaps: { records: int(i.gaps.records), readings: int(i.gaps.readings) },
      rates: {
        acceptedPerSec: rate(i.totals.accepted, prev.accepted),
        rejectedPerSec: rate(i.totals.rejected, prev.rejected),
        forwardedPerSec: rate(i.totals.forwarded, prev.forwarded),
      },
      clock: { state: skew === null ? 'unknown' : Math.abs(skew) > i.clockSkewMs ? 'skewed' : 'ok', medianSkewMs: skew },
      meters: int(i.meters),
      version: i.version.slice(0, 32),
    };
  }
}

function int(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

/** What the heartbeat reads from the running gateway. */
export interface HeartbeatSources {
  outbox(now: number): { depth: number; bytes: number; oldestAgeMs: number; gaps: { records: number; readings: number } };
  totals(): { accepted: number; rejected: number; forwarded: number };
  medianSkewMs(): number | null;
  meters(): number;
}

/**
 * Publishes the heartbeat on grid.edge-status (key edgeId) through the outbox, like every record
 * the gateway sends: it reaches Kafka in order with the rest once the uplink is back.
 */
export class HeartbeatPublisher {
  private readonly builder = new HeartbeatBuilder();

  constructor(
    private readonly o: {
      edgeId: string;
      substationId: string | null;
      clockSkewMs: number;
      version: string;
      startedAt: number;
      clock: { now(): number };
      /** The stored topic name (the forwarder maps it to the Kafka topic). */
      topic: string;
      sources: HeartbeatSources;
      submit: (unit: { records: { topic: string; key: string; value: string; lane: 'control'; ts: number; seq: null }[] }) => Promise<void>;
    },
  ) {}

  send(): Promise<void> {
    const { o } = this;
    const now = o.clock.now();
    const ob = o.sources.outbox(now);
    const status = this.builder.build({
      edgeId: o.edgeId,
      substationId: o.substationId,
      startedAt: o.startedAt,
      now,
      outbox: ob,
      gaps: ob.gaps,
      totals: o.sources.totals(),
      medianSkewMs: o.sources.medianSkewMs(),
      clockSkewMs: o.clockSkewMs,
      meters: o.sources.meters(),
      version: o.version,
    });
    return o.submit({ records: [{ topic: o.topic, key: o.edgeId, value: JSON.stringify(status), lane: 'control', ts: status.ts, seq: null }] });
  }
}
