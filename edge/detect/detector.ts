import type { Anomaly, MeterEventType, ReadingFlag } from '../../shared/contracts/index.ts';
import type { Clock } from '../../shared/clock.ts';
import { GridwatchError } from '../../shared/errors.ts';
import { CHANNELS, CURRENT, FREQUENCY, POWER, resolveDetectConfig, VOLTAGE, type ChannelName, type DetectConfig, type DetectConfigInput } from './config.ts';
import { Emitter } from './lifecycle.ts';
import { judgeCurrent, judgeFrequency, judgeVoltage, withinLimits } from './limits.ts';
import { recordSeq, seenSeq } from './ordering.ts';
import { exportMeter, importMeter, MeterState, type MeterSnapshot } from './state.ts';
import { endSpike, judgeDrift, judgeSpike, judgeStuck } from './stats.ts';
import { apparentKva, TransformerLoad } from './transformer-load.ts';
import type { DetectResult, MeterContext, ReadingIn } from './types.ts';

/**
 * Returned when a call produced nothing. Shared and frozen: callers must not mutate it (they get
 * a TypeError in strict mode if they try). Saves an allocation per reading on the hot path.
 */
const NO_ANOMALIES: Anomaly[] = Object.freeze([]) as unknown as Anomaly[];
const NO_FLAGS: ReadingFlag[] = Object.freeze([]) as unknown as ReadingFlag[];
const FLAGS_DUPLICATE = Object.freeze(['duplicate_seq']) as unknown as ReadingFlag[];
const FLAGS_LATE = Object.freeze(['out_of_order', 'late']) as unknown as ReadingFlag[];
const FLAGS_OUT_OF_ORDER = Object.freeze(['out_of_order']) as unknown as ReadingFlag[];
export const EMPTY_RESULT: DetectResult = Object.freeze({ anomalies: NO_ANOMALIES, flags: NO_FLAGS }) as DetectResult;

const isNum = Number.isFinite;
function finite(r: ReadingIn): boolean {
  return isNum(r.ts) && isNum(r.voltage) && (r.current === undefined || isNum(r.current)) && (r.power === undefined || isNum(r.power)) && (r.frequency === undefined || isNum(r.frequency));
}

export interface DetectorOptions {
  edgeId: string;
  /** Asked once per meter (first reading, event or import); must answer for unknown meters too. */
  context: (meterId: string) => MeterContext;
  clock: Clock;
  config?: DetectConfigInput;
}

/**
 * Pure per-meter, per-channel detector: readings and meter events in, v1 Anomaly records out.
 * No I/O; time comes from the Clock (detectedAt, dropout, tamper expiry) and from the readings'
 * own ts (everything else: event time).
 */
export class Detector {
  readonly config: DetectConfig;
  private readonly em: Emitter;
  private readonly meters = new Map<string, MeterState>();
  private readonly load: TransformerLoad;
  private dirty: string[] = [];
  private readonly context: (meterId: string) => MeterContext;
  private readonly clock: Clock;
  /** Clock time before which silence does not count towards dropout (see listeningSince). */
  private listenedFrom = -Infinity;

  constructor(opts: DetectorOptions) {
    this.config = resolveDetectConfig(opts.config);
    this.clock = opts.clock;
    this.context = opts.context;
    this.em = new Emitter(opts.edgeId, opts.clock, this.config);
    this.load = new TransformerLoad(this.config);
  }

  private meter(id: string): MeterState {
    let m = this.meters.get(id);
    if (m === undefined) {
      m = new MeterState(id, this.contextOf(id));
      this.meters.set(id, m);
    }
    return m;
  }

  /** Asks for a meter's context and refuses one the rules cannot work with (division by a zero nominal). */
  private contextOf(id: string): MeterContext {
    const c = this.context(id);
    if (!(c.nominalVoltage > 0) || (c.nominalFrequency !== 50 && c.nominalFrequency !== 60) || !(c.expectedIntervalMs > 0)) {
      throw new GridwatchError('TOPOLOGY_INVALID', `meter ${id}: context needs nominalVoltage > 0, nominalFrequency 50 or 60 and expectedIntervalMs > 0`, {
        details: { meterId: id, nominalVoltage: c.nominalVoltage, nominalFrequency: c.nominalFrequency, expectedIntervalMs: c.expectedIntervalMs },
      });
    }
    return c;
  }

  /**
   * Judges one reading. Throws CONTRACT_INVALID for a non-finite ts or value (the validator keeps
   * them out; one NaN would poison a window for good). Returns EMPTY_RESULT when nothing happened.
   */
  onReading(r: ReadingIn): DetectResult {
    if (!finite(r)) throw new GridwatchError('CONTRACT_INVALID', `reading of meter ${r.meterId}: ts and values must be finite numbers`);
    const m = this.meter(r.meterId);
    const wasDirty = m.dirty;
    const cfg = this.config;
    const seq = r.seq;
    let flags: ReadingFlag[] | null = null;
    let judge = 2; // 2: full judgement, 1: window only (out of order within the bound), 0: none
    if (seq !== undefined && seenSeq(m, seq)) {
      flags = FLAGS_DUPLICATE;
      judge = 0;
    } else if (r.ts < m.lastTs) {
      if (m.lastTs - r.ts > cfg.latenessMs) {
        flags = FLAGS_LATE;
        judge = 0;
      } else {
        flags = FLAGS_OUT_OF_ORDER;
        judge = 1;
      }
    } else if (r.ts === m.lastTs && (seq === undefined || seq <= m.lastSeq)) {
      judge = 0; // the same reading delivered again (QoS 1 redelivery without seq): judged once
    }
    if (judge > 0 || flags === FLAGS_LATE) {
      // A reading arrived (late ones included: a backlog is the meter talking); duplicates do not count.
      if (seq !== undefined) recordSeq(m, seq, r.ts);
      m.heardAt = this.clock.now();
      m.dirty = true;
      if (m.dropout !== null) {
        const o = m.dropout;
        o.l = m.heardAt - o.a.startTs;
        this.em.close(m, o, m.heardAt);
        m.dropout = null;
      }
    }
    if (judge === 2) {
      m.lastTs = r.ts;
      this.judge(m, r);
    } else if (judge === 1) this.feedOnly(m, r);
    if (!wasDirty && m.dirty) this.dirty.push(m.id);
    const out = this.em.take();
    if (out === null && flags === null) return EMPTY_RESULT;
    return { anomalies: out ?? NO_ANOMALIES, flags: flags ?? NO_FLAGS };
  }

  /** Full judgement of an in-order reading. */
  private judge(m: MeterState, r: ReadingIn): void {
    const em = this.em;
    const cfg = this.config;
    const ts = r.ts;
    const v = r.voltage;
    const ws = cfg.windowSize;
    const vPu = v / m.ctx.nominalVoltage;
    if (m.outage !== null && vPu >= cfg.interruptionExitPu && ts > m.outage.a.startTs) {
      // Power is back even if the power_restored event was lost.
      em.close(m, m.outage, ts);
      m.outage = null;
      m.outageEnd = ts;
    }
    const vc = m.channel(VOLTAGE, ws);
    const vOk = judgeVoltage(em, m, vc, v, ts);
    this.judgeChannel(m, VOLTAGE, v, ts, vOk);
    // Without supply (interruption or outage) current, power and frequency mean nothing.
    const dead = vc.limit?.a.type === 'interruption' || m.outage !== null;
    if (m.ctx.transformerKva !== undefined && m.ctx.transformerId !== null) this.load.onReading(em, m, dead ? 0 : apparentKva(r), ts);
    if (dead) return;
    const i = r.current;
    if (i !== undefined) this.judgeChannel(m, CURRENT, i, ts, judgeCurrent(em, m, m.channel(CURRENT, ws), i, ts));
    const p = r.power;
    if (p !== undefined) this.judgeChannel(m, POWER, p, ts, true);
    const f = r.frequency;
    if (f !== undefined) this.judgeChannel(m, FREQUENCY, f, ts, judgeFrequency(em, m, m.channel(FREQUENCY, ws), f, ts));
  }

  private judgeChannel(m: MeterState, idx: number, x: number, ts: number, inLimits: boolean): void {
    const em = this.em;
    const cfg = this.config;
    const c = m.channel(idx, cfg.windowSize);
    const name = CHANNELS[idx] as ChannelName;
    // A value during an interruption breaks any run, as a zero does (it is not a frozen sensor).
    const interrupted = idx === VOLTAGE && c.limit !== null && c.limit.a.type === 'interruption';
    judgeStuck(em, m, c, name, interrupted ? 0 : x, ts, cfg.stuckReadings[name]);
    if (!inLimits) {
      // The limit rule reports this value; it neither enters the window nor counts as a spike.
      endSpike(em, m, c, ts);
      return;
    }
    if (c.stuck !== null) return; // a stuck sensor's values are not evidence
    if (judgeSpike(em, m, c, name, x, ts, this.sigmaFloor(m, idx))) {
      const frac = cfg.driftFraction[name];
      if (frac > 0) judgeDrift(em, m, c, name, x, ts, frac);
    }
  }

  /** Floor on sigma: voltage and frequency floors are per unit of the meter's nominal. */
  private sigmaFloor(m: MeterState, idx: number): number {
    const f = this.config.sigmaFloor;
    if (idx === VOLTAGE) return f.voltage * m.ctx.nominalVoltage;
    if (idx === FREQUENCY) return f.frequency * m.ctx.nominalFrequency;
    return idx === CURRENT ? f.current : f.power;
  }

  /**
   * An out-of-order reading within the lateness bound: its moment has passed for opening or closing
   * anything (that would reorder the anomalies' lives), but mean and sigma do not depend on order,
   * so a plainly normal value (within limits and within sigmaExit) still enters the window.
   */
  private feedOnly(m: MeterState, r: ReadingIn): void {
    const vc = m.ch[VOLTAGE];
    if (m.outage !== null || vc?.limit?.a.type === 'interruption') return;
    this.feedOne(m, VOLTAGE, r.voltage);
    if (r.current !== undefined) this.feedOne(m, CURRENT, r.current);
    if (r.power !== undefined) this.feedOne(m, POWER, r.power);
    if (r.frequency !== undefined) this.feedOne(m, FREQUENCY, r.frequency);
  }

  private feedOne(m: MeterState, idx: number, x: number): void {
    const cfg = this.config;
    const c = m.ch[idx];
    if (c == null || c.stuck !== null || c.limit !== null || c.stat !== null || !withinLimits(cfg, m, idx, x)) return;
    const st = c.stats;
    if (st.count >= cfg.warmupReadings && Math.abs(x - st.mean()) > cfg.sigmaExit * Math.max(st.std(), this.sigmaFloor(m, idx))) return;
    st.push(x);
  }

  /**
   * last_gasp opens an outage at once (critical; the meter has been without voltage for 30-45 s);
   * power_restored closes it. tamper, cover_open and magnet open one tamper anomaly (major), which
   * further tamper events extend and tick() closes after tamperClearMs without one. clock_set
   * changes nothing here.
   */
  onMeterEvent(e: { meterId: string; ts: number; type: MeterEventType }): Anomaly[] {
    const m = this.meter(e.meterId);
    const wasDirty = m.dirty;
    const em = this.em;
    switch (e.type) {
      case 'last_gasp':
        if (m.outage === null && e.ts > m.outageEnd) m.outage = em.open(m, 'outage', 'none', e.ts, null, null, 'critical');
        break;
      case 'power_restored':
        if (m.outage !== null && e.ts >= m.outage.a.startTs) {
          em.close(m, m.outage, e.ts);
          m.outage = null;
          m.outageEnd = e.ts;
          // Silence is counted from the restoration, not from the last reading before the outage.
          if (m.heardAt >= 0) m.heardAt = Math.max(m.heardAt, this.clock.now());
        }
        break;
      case 'tamper':
      case 'cover_open':
      case 'magnet':
        if (m.tamper === null) m.tamper = em.open(m, 'tamper', 'none', e.ts, null, null, 'major');
        m.tamperAt = this.clock.now();
        m.tamperTs = Math.max(m.tamperTs, e.ts);
        m.dirty = true;
        break;
      default:
        break;
    }
    if (!wasDirty && m.dirty) this.dirty.push(m.id);
    return em.take() ?? NO_ANOMALIES;
  }

  /**
   * The gateway has been listening since `t` (clock time; the pipeline calls it at start, after
   * restoring the detector): silence is counted from max(last reading, t). A meter restored from
   * a checkpoint taken before a long stop was not silent, the gateway was deaf; without this every
   * meter would raise dropout on the first tick. Snapshots do not carry it (it belongs to the
   * process, not to the meter), so export/import stays exact.
   */
  listeningSince(t: number): void {
    this.listenedFrom = t;
  }

  /**
   * The gateway's clock was stepped by `deltaMs` (an NTP step; positive: forward). Silence and
   * tamper quiet are durations, so every instant they are measured from moves with the clock:
   * without this a step of an hour forward makes every meter an hour silent at the next tick.
   */
  clockStepped(deltaMs: number, before: number, after: number): void {
    if (!Number.isFinite(deltaMs) || deltaMs === 0) return;
    // Only instants taken before the step move: `before` is the clock at the last tick before it,
    // `after` the clock now. A reading heard since the step carries the new clock already (after a
    // backward step it is <= after; the older instants are then in the new clock's future).
    const old = (t: number) => t <= before && (deltaMs > 0 || t > after);
    if (this.listenedFrom > Number.NEGATIVE_INFINITY && old(this.listenedFrom)) this.listenedFrom += deltaMs;
    for (const m of this.meters.values()) {
      if (m.heardAt >= 0 && old(m.heardAt)) m.heardAt += deltaMs;
      if (m.tamper !== null && old(m.tamperAt)) m.tamperAt += deltaMs;
    }
  }

  /**
   * Timer-driven: dropout opens when a meter that has sent readings has been silent (by the clock)
   * for more than dropoutIntervals expected intervals, unless an outage already explains the silence;
   * startTs is the clock time the silence began (the last reading arrived, or the gateway started
   * listening if that is later), observed the silence so far, baseline the limit, both in ms. Also
   * closes tamper anomalies that have gone quiet.
   */
  tick(): Anomaly[] {
    const now = this.clock.now();
    const em = this.em;
    const n = this.config.dropoutIntervals;
    const from = this.listenedFrom;
    for (const m of this.meters.values()) {
      const wasDirty = m.dirty;
      if (m.dropout === null && m.outage === null && m.heardAt >= 0) {
        const limit = n * m.ctx.expectedIntervalMs;
        const since = m.heardAt > from ? m.heardAt : from;
        const silent = now - since;
        if (silent > limit) m.dropout = em.open(m, 'dropout', 'none', since, silent, limit, 'minor');
      }
      if (m.tamper !== null && now - m.tamperAt >= this.config.tamperClearMs) {
        em.close(m, m.tamper, m.tamperTs);
        m.tamper = null;
      }
      if (!wasDirty && m.dirty) this.dirty.push(m.id);
    }
    return em.take() ?? NO_ANOMALIES;
  }

  openAnomalies(): Anomaly[] {
    const out: Anomaly[] = [];
    for (const m of this.meters.values()) {
      for (const c of m.ch) {
        if (c === null) continue;
        for (const o of [c.limit, c.stat, c.stuck, c.drift]) if (o !== null) out.push(o.a);
      }
      for (const o of [m.outage, m.dropout, m.tamper, m.overload]) if (o !== null) out.push(o.a);
    }
    return out;
  }

  meterCount(): number {
    return this.meters.size;
  }

  /** Meters whose state changed since the last call (each once), for the checkpoint writer. */
  takeDirty(): string[] {
    const d = this.dirty;
    this.dirty = [];
    for (const id of d) {
      const m = this.meters.get(id);
      if (m !== undefined) m.dirty = false;
    }
    return d;
  }

  exportMeter(meterId: string): MeterSnapshot | undefined {
    const m = this.meters.get(meterId);
    return m === undefined ? undefined : exportMeter(m);
  }

  importMeter(meterId: string, s: MeterSnapshot): void {
    this.meters.set(meterId, importMeter(meterId, this.contextOf(meterId), s, this.config));
  }

  exportAll(): Record<string, MeterSnapshot> {
    const out: Record<string, MeterSnapshot> = {};
    for (const m of this.meters.values()) out[m.id] = exportMeter(m);
    return out;
  }

  /** Replaces all state with the snapshot's. */
  importAll(s: Record<string, MeterSnapshot>): void {
    this.meters.clear();
    this.dirty = [];
    for (const [id, ms] of Object.entries(s)) this.importMeter(id, ms);
  }
}
