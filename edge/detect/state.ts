import type { DetectConfig } from './config.ts';
import { copyOpen, type OpenAnomaly } from './lifecycle.ts';
import type { MeterContext } from './types.ts';
import { RollingStats, type RollingStatsSnapshot } from './window.ts';

/** Per meter and channel: the moving window, the long baseline, the stuck run and open anomalies. */
export class ChannelState {
  stats: RollingStats;
  /** Long baseline for drift: cumulative mean for the first driftLongReadings values, then an EWMA. */
  ewma = 0;
  ewmaN = 0;
  stuckVal = 0;
  stuckRun = 0;
  stuckStart = 0;
  /** Consecutive readings judged outliers by the open spike/dip. */
  outlierRun = 0;
  /** spike or dip */
  stat: OpenAnomaly | null = null;
  drift: OpenAnomaly | null = null;
  stuck: OpenAnomaly | null = null;
  /** voltage: sag/undervoltage/interruption/swell/overvoltage; frequency: frequency_deviation; current: overcurrent */
  limit: OpenAnomaly | null = null;

  constructor(windowSize: number) {
    this.stats = new RollingStats(windowSize);
  }
}

/** Per meter: ordering (event time, seq), liveness, meter-level anomalies and the four channels. */
export class MeterState {
  /** Newest ts judged in order; -1 before the first reading. */
  lastTs = -1;
  /** Highest seq seen, -1 if none; seqMask bit i set = seq (lastSeq - 1 - i) was seen. */
  lastSeq = -1;
  seqMask = 0;
  /** Clock time the last reading arrived; -1 if never (known only from events). */
  heardAt = -1;
  ch: (ChannelState | null)[] = [null, null, null, null];
  outage: OpenAnomaly | null = null;
  /** ts of the last outage end; a last gasp older than this is a replay. */
  outageEnd = -1;
  dropout: OpenAnomaly | null = null;
  /** The meter's share of its transformer's overload (see transformer-load.ts). */
  overload: OpenAnomaly | null = null;
  /** Apparent power of the latest in-order reading, kVA, as counted in its transformer's sum (not checkpointed). */
  loadKva = 0;
  tamper: OpenAnomaly | null = null;
  /** Clock time of the latest tamper event, and its ts. */
  tamperAt = 0;
  tamperTs = 0;
  dirty = false;

  constructor(
    readonly id: string,
    public ctx: MeterContext,
  ) {}

  channel(i: number, windowSize: number): ChannelState {
    let c = this.ch[i];
    if (c == null) {
      c = new ChannelState(windowSize);
      this.ch[i] = c;
    }
    return c;
  }
}

export interface ChannelSnapshot {
  w: RollingStatsSnapshot;
  e: number;
  en: number;
  sv: number;
  sr: number;
  ss: number;
  or: number;
  st: OpenAnomaly | null;
  dr: OpenAnomaly | null;
  sk: OpenAnomaly | null;
  li: OpenAnomaly | null;
}

/** JSON-serialisable (numbers, strings, plain objects and arrays only); `v` is the snapshot format. */
export interface MeterSnapshot {
  v: 1;
  t: number;
  q: number;
  qm: number;
  h: number;
  c: (ChannelSnapshot | null)[];
  o: OpenAnomaly | null;
  oe: number;
  d: OpenAnomaly | null;
  tp: OpenAnomaly | null;
  /** Open overload share; absent in snapshots written before the overload rule. */
  ov?: OpenAnomaly | null;
  ta: number;
  tt: number;
}

const openOrNull = (o: OpenAnomaly | null): OpenAnomaly | null => (o === null ? null : copyOpen(o));

export function exportMeter(m: MeterState): MeterSnapshot {
  return {
    v: 1,
    t: m.lastTs,
    q: m.lastSeq,
    qm: m.seqMask,
    h: m.heardAt,
    c: m.ch.map((c) =>
      c === null
        ? null
        : {
            w: c.stats.export(),
            e: c.ewma,
            en: c.ewmaN,
            sv: c.stuckVal,
            sr: c.stuckRun,
            ss: c.stuckStart,
            or: c.outlierRun,
            st: openOrNull(c.stat),
            dr: openOrNull(c.drift),
            sk: openOrNull(c.stuck),
            li: openOrNull(c.limit),
          },
    ),
    o: openOrNull(m.outage),
    oe: m.outageEnd,
    d: openOrNull(m.dropout),
    tp: openOrNull(m.tamper),
    ov: openOrNull(m.overload),
    ta: m.tamperAt,
    tt: m.tamperTs,
  };
}

export function importMeter(id: string, ctx: MeterContext, s: MeterSnapshot, cfg: DetectConfig): MeterState {
  const m = new MeterState(id, ctx);
  m.lastTs = s.t;
  m.lastSeq = s.q;
  m.seqMask = s.qm;
  m.heardAt = s.h;
  for (let i = 0; i < 4; i++) {
    const cs = s.c[i];
    if (cs == null) continue;
    const c = new ChannelState(cfg.windowSize);
    c.stats = RollingStats.import(cfg.windowSize, cs.w);
    c.ewma = cs.e;
    c.ewmaN = cs.en;
    c.stuckVal = cs.sv;
    c.stuckRun = cs.sr;
    c.stuckStart = cs.ss;
    c.outlierRun = cs.or;
    c.stat = openOrNull(cs.st);
    c.drift = openOrNull(cs.dr);
    c.stuck = openOrNull(cs.sk);
    c.limit = openOrNull(cs.li);
    m.ch[i] = c;
  }
  m.outage = openOrNull(s.o);
  m.outageEnd = s.oe;
  m.dropout = openOrNull(s.d);
  m.tamper = openOrNull(s.tp);
  m.overload = openOrNull(s.ov ?? null);
  m.tamperAt = s.ta;
  m.tamperTs = s.tt;
  return m;
}
