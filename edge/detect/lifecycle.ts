import type { Anomaly, AnomalyType, Channel } from '../../shared/contracts/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { DetectConfig } from './config.ts';
import type { MeterState } from './state.ts';

/**
 * The life of an anomaly: exactly one `open` record when a condition starts and one `closed`
 * record when it ends, both with the same anomalyId. Between the two, the rules only update the
 * in-memory OpenAnomaly (peak, last abnormal value, severity), which emits nothing.
 */
export type Severity = Anomaly['severity'];

const RANK: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };

export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[b] > RANK[a] ? b : a;
}

/** What the detector keeps about an open anomaly. Plain data: it is also the snapshot form. */
export interface OpenAnomaly {
  /** The open record exactly as emitted (never mutated afterwards: the caller may hold it). */
  a: Anomaly;
  /** Most extreme value so far: the one furthest from the baseline. */
  p: number | null;
  /** Last abnormal value. */
  l: number | null;
  /** Highest severity so far. */
  s: Severity;
}

/**
 * Stable identity: the same condition always yields the same id, so a re-judged reading (after a
 * restart from a checkpoint) produces the same id and central can de-duplicate on (anomalyId, state).
 * At most 64 + 64 + 19 + 9 + 16 + 4 characters, within the contract's 200.
 */
export function anomalyId(edgeId: string, meterId: string, type: AnomalyType, channel: Channel, startTs: number): string {
  return `${edgeId}:${meterId}:${type}:${channel}:${startTs}`;
}

/** Collects the records one call produces; allocates only when something happens. */
export class Emitter {
  out: Anomaly[] | null = null;

  constructor(
    readonly edgeId: string,
    readonly clock: Clock,
    readonly cfg: DetectConfig,
  ) {}

  take(): Anomaly[] | null {
    const o = this.out;
    this.out = null;
    return o;
  }

  open(
    m: MeterState,
    type: AnomalyType,
    channel: Channel,
    startTs: number,
    observed: number | null,
    baseline: number | null,
    severity: Severity,
  ): OpenAnomaly {
    const ctx = m.ctx;
    const a: Anomaly = {
      anomalyId: anomalyId(this.edgeId, m.id, type, channel, startTs),
      edgeId: this.edgeId,
      meterId: m.id,
      substationId: ctx.substationId,
      feederId: ctx.feederId,
      transformerId: ctx.transformerId,
      type,
      channel,
      state: 'open',
      severity,
      startTs,
      endTs: null,
      observed,
      baseline,
      peak: observed,
      durationMs: null,
      detectedAt: this.clock.now(),
    };
    (this.out ??= []).push(a);
    m.dirty = true;
    return { a, p: observed, l: observed, s: severity };
  }

  close(m: MeterState, o: OpenAnomaly, endTs: number): void {
    const start = o.a.startTs;
    const end = endTs < start ? start : endTs;
    const a: Anomaly = {
      ...o.a,
      state: 'closed',
      severity: o.s,
      endTs: end,
      observed: o.l,
      peak: o.p,
      durationMs: end - start,
      detectedAt: this.clock.now(),
    };
    (this.out ??= []).push(a);
    m.dirty = true;
  }
}

/** Records a further abnormal value on an open anomaly: peak is the value furthest from the baseline. */
export function track(o: OpenAnomaly, x: number, severity: Severity): void {
  o.l = x;
  const base = o.a.baseline;
  if (o.p === null || (base !== null && Math.abs(x - base) > Math.abs(o.p - base))) o.p = x;
  o.s = maxSeverity(o.s, severity);
}

export function copyOpen(o: OpenAnomaly): OpenAnomaly {
  return { a: { ...o.a }, p: o.p, l: o.l, s: o.s };
}
