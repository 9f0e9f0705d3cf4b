import type { Anomaly, EdgeStatus, Gap, GridEvent } from '../../shared/contracts/index.ts';
import type { Topology } from '../../shared/topology/model.ts';
import type { Clock } from '../../shared/clock.ts';
import { classOfAnomaly, isDeviation, rollupLevels, type AnomalyClass } from './classes.ts';
import { resolveConfig, severityRank, type CorrelateConfig } from './config.ts';
import { SubState, deviationOnly, type Membership, type SubstationState, type Tracked } from './device-state.ts';
import { Publisher, type Stats } from './publisher.ts';

/** Substation of anomalies that name none and whose meter the topology does not know. */
export const UNKNOWN_SUBSTATION = '_unknown';

const LEVEL_PREFIX = { transformer: 't', feeder: 'f', substation: 's' } as const;

/**
 * The pure correlator: anomalies, heartbeats and gaps in, grid events out. No I/O; clock time
 * (holds, delays, heartbeat timeouts) comes from the injected Clock, the roll-up window from the
 * records' event time. State is kept per substation so a rebalance can hand it over.
 */
export class Correlator {
  private readonly topology: Topology;
  private readonly clock: Clock;
  private readonly cfg: CorrelateConfig;
  private readonly pub: Publisher;
  private readonly subs = new Map<string, SubState>();

  constructor(opts: { topology: Topology; clock: Clock; config?: Partial<CorrelateConfig> }) {
    this.topology = opts.topology;
    this.clock = opts.clock;
    this.cfg = resolveConfig(opts.config);
    this.pub = new Publisher(this.topology, this.cfg, this.subs);
  }

  get config(): Readonly<CorrelateConfig> {
    return this.cfg;
  }

  onAnomaly(a: Anomaly): GridEvent[] {
    const now = this.clock.now();
    const st = this.pub.stats;
    const sub = this.sub(a.substationId ?? this.topology.meter(a.meterId)?.substationId ?? UNKNOWN_SUBSTATION);
    const id = a.anomalyId;
    if (sub.closedIds.has(id) || (a.state === 'open' && sub.tracked.has(id))) {
      // Same (anomalyId, state) again, or an open overtaken by its own close: nothing new.
      if (a.state === 'open' && !sub.tracked.has(id)) st.late++;
      else st.duplicates++;
      return [];
    }
    st.anomalies++;
    const ts = a.state === 'open' ? a.startTs : (a.endTs ?? a.startTs);
    // Lateness is how long a record took to arrive, not how long its condition took to recognise:
    // an open is judged at detectedAt when that is later than its startTs (a dropout is known
    // intervals after the last reading, stuck after N equal readings, an overload after its hold;
    // at 15-minute intervals that is beyond latenessMs). Capped at the clock (a fast edge clock).
    const judged = a.state === 'open' ? Math.max(ts, Math.min(a.detectedAt, now)) : ts;
    let tooLate = false;
    if (sub.watermark !== null && judged < sub.watermark) {
      tooLate = judged < sub.watermark - this.cfg.latenessMs;
      if (tooLate) st.tooLate++;
      else st.late++;
    }
    // A timestamp from the future (a wrong edge clock) must not make everything else "too late".
    if (ts <= now + this.cfg.latenessMs && (sub.watermark === null || ts > sub.watermark)) sub.watermark = ts;

    const out: GridEvent[] = [];
    if (a.state === 'open') {
      // Too late to take part in a window: counted (stats.tooLate), left to the archive.
      if (tooLate) return out;
      if (a.type === 'dropout' && this.isLost(sub, a.meterId, a.startTs)) {
        st.lost++;
        return out;
      }
      const cls = classOfAnomaly(a, this.cfg.coincidentDeviations);
      const t: Tracked = { anomalyId: id, meterId: a.meterId, cls, type: a.type, severity: a.severity, startTs: a.startTs, keys: this.keysFor(a, cls) };
      if (isDeviation(a.type) && cls !== 'meter_fault') t.dev = true;
      sub.tracked.set(id, t);
      if (t.type === 'dropout') sub.dropoutOf.set(t.meterId, id);
      if (sub.tracked.size > this.cfg.maxOpenAnomalies) this.evictOldest(sub);
      const m = sub.add(t);
      this.afterJoin(sub, m, t, now, out);
    } else {
      remember(sub.closedIds, id, this.cfg.maxRememberedClosed);
      const t = sub.tracked.get(id);
      if (!t) {
        st.unmatchedClosed++;
        return out;
      }
      const endTs = a.endTs ?? a.startTs;
      this.rememberPassedDeviation(sub, t, endTs);
      this.untrack(sub, t);
      for (const e of this.pub.coveringAll(sub, t.meterId, t.cls, t.keys)) if (e.lastEndTs === null || endTs > e.lastEndTs) e.lastEndTs = endTs;
    }
    this.pub.flushPending(sub, now, out);
    return out;
  }

  onEdgeStatus(s: EdgeStatus): GridEvent[] {
    const out: GridEvent[] = [];
    if (s.substationId === null) {
      this.pub.stats.edgesWithoutSubstation++;
      return out;
    }
    const now = this.clock.now();
    const sub = this.sub(s.substationId);
    sub.edges.set(s.edgeId, { edgeId: s.edgeId, lastHeardAt: now, lastTs: s.ts });
    this.pub.checkComms(sub, now, out);
    return out;
  }

  onGap(g: Gap): void {
    this.pub.stats.gaps++;
    const sid = this.topology.meter(g.meterId)?.substationId ?? this.substationOfEdge(g.edgeId);
    if (sid === undefined) return;
    const sub = this.sub(sid);
    const prev = sub.gaps.get(g.meterId);
    sub.gaps.delete(g.meterId);
    sub.gaps.set(g.meterId, { fromTs: Math.min(g.fromTs, prev?.fromTs ?? g.fromTs), toTs: Math.max(g.toTs, prev?.toTs ?? g.toTs) });
    if (sub.gaps.size > this.cfg.maxPendingMeters) sub.gaps.delete(sub.gaps.keys().next().value as string);
    // A dropout over readings that were lost (evicted or rejected at the edge) is not silence.
    const did = sub.dropoutOf.get(g.meterId);
    const t = did === undefined ? undefined : sub.tracked.get(did);
    if (t && this.isLost(sub, t.meterId, t.startTs)) {
      this.untrack(sub, t);
      this.pub.stats.lost++;
    }
  }

  tick(): GridEvent[] {
    const now = this.clock.now();
    const out: GridEvent[] = [];
    for (const sub of this.subs.values()) {
      this.pub.flushPending(sub, now, out);
      this.pendingMeters(sub, now, out);
      this.pub.closeCleared(sub, now, out);
      this.pub.publishGrowth(sub, now, out);
      this.pub.checkComms(sub, now, out);
    }
    this.pub.tickGrid(now, out);
    return out;
  }

  openEvents(): GridEvent[] {
    return this.pub.openEvents();
  }

  stats(): Stats & { open: number } {
    return { ...this.pub.stats, open: this.pub.openEvents().length };
  }

  exportState(substationId: string): SubstationState {
    return (this.subs.get(substationId) ?? new SubState(substationId, this.pub.slotMs)).toJSON();
  }

  importState(s: SubstationState): void {
    this.subs.set(s.substationId, SubState.fromJSON(s, this.pub.slotMs));
  }

  dropSubstation(substationId: string): void {
    this.subs.delete(substationId);
  }

  private sub(id: string): SubState {
    let s = this.subs.get(id);
    if (!s) this.subs.set(id, (s = new SubState(id, this.pub.slotMs)));
    return s;
  }

  /** Devices a meter counts towards: from the topology registry, else the ids on the record. */
  private keysFor(a: Anomaly, cls: AnomalyClass): string[] {
    const levels = rollupLevels(cls);
    if (levels.length === 0) return [];
    const e = this.topology.meter(a.meterId);
    const ids = { transformer: e ? e.transformerId : a.transformerId, feeder: e ? e.feederId : a.feederId, substation: e ? e.substationId : a.substationId };
    const keys: string[] = [];
    for (const level of levels) {
      const id = ids[level];
      if (id !== null) keys.push(`${LEVEL_PREFIX[level]}:${id}`);
    }
    if (cls === 'frequency') keys.push('g:grid');
    return keys;
  }

  private afterJoin(sub: SubState, m: Membership, t: Tracked, now: number, out: GridEvent[]): void {
    if (m.keys.length === 0) {
      if (severityRank(m.maxSev) >= severityRank(this.cfg.meterEventMinSeverity)) this.pub.meterEvent(sub, m, now, out);
      return;
    }
    // An adopted stray's later anomalies (its last gasp after its silence) update the event it is in.
    const covering = this.pub.covering(sub, m.cls, m.keys) ?? this.pub.adoptedInto(sub, m);
    if (covering) this.pub.addMember(covering, m, now, out);
    const created = m.n === 1 ? this.pub.escalate(sub, m.cls, m.keys, covering, now) : false;
    if (m.cls === 'frequency' && m.n === 1) this.pub.checkGrid(now);
    if (covering || created || m.n !== 1) return;
    // Waits meterHoldMs like any uncovered meter (deviations too: a lone meter's dip may be the
    // first of a device's). A stray already affected when its sibling's event is published joins
    // it then (Publisher.adoptStrays); one arriving later waits, because the first meters of a
    // neighbouring transformer's own condition look the same until that transformer qualifies.
    this.pub.queueMeter(sub, m, now);
  }

  /**
   * A deviation-only meter whose deviation ends while it waits for its neighbours is still the
   * meter condition it was before coincidence was judged: kept until its turn in the queue.
   */
  private rememberPassedDeviation(sub: SubState, t: Tracked, endTs: number): void {
    if (!t.dev) return;
    const m = sub.membership(t.meterId, t.cls);
    if (!m || m.n !== 1 || !deviationOnly(m) || severityRank(m.maxSev) < severityRank(this.cfg.meterEventMinSeverity)) return;
    if (this.pub.covering(sub, m.cls, m.keys)?.members.has(m.meterId) || this.pub.adoptedInto(sub, m) || sub.meterEvents.has(`${m.cls}|${m.meterId}`)) return;
    const key = `${m.cls}|${m.meterId}`;
    sub.passedDeviations.delete(key);
    sub.passedDeviations.set(key, { meterId: m.meterId, cls: m.cls, startTs: m.startTs, endTs, maxSev: m.maxSev, keys: [...m.keys] });
    if (sub.passedDeviations.size > this.cfg.maxPendingMeters) sub.passedDeviations.delete(sub.passedDeviations.keys().next().value as string);
  }

  /** Meters that waited meterHoldMs uncovered: adopt into a sibling's event, or a meter event. */
  private pendingMeters(sub: SubState, now: number, out: GridEvent[]): void {
    const q = sub.pendingMeters;
    while (sub.head < q.length && (q[sub.head] as { dueAt: number }).dueAt <= now) {
      const p = q[sub.head++] as { meterId: string; cls: AnomalyClass };
      const key = `${p.cls}|${p.meterId}`;
      const passed = sub.passedDeviations.get(key);
      sub.passedDeviations.delete(key);
      const m = sub.membership(p.meterId, p.cls);
      if (!m) {
        // Its deviation ended while it waited; no device took it: the lone meter's condition.
        if (passed && !this.pub.coveredByAny(sub, passed.keys)) this.pub.passedMeterEvent(sub, passed, now, out);
        continue;
      }
      if (this.pub.covering(sub, m.cls, m.keys) || sub.meterEvents.has(key) || this.pub.adoptedInto(sub, m)) continue;
      if (this.cfg.adoptStrays && this.pub.adopt(sub, m, now, out)) continue;
      // A deviation under a device event of another class (an overloaded transformer's voltage
      // drop) is that event's consequence, not a meter condition.
      if (deviationOnly(m) && this.pub.coveredByAny(sub, m.keys)) continue;
      if (severityRank(m.maxSev) >= severityRank(this.cfg.meterEventMinSeverity)) this.pub.meterEvent(sub, m, now, out);
    }
    if (sub.head > 1024 && sub.head * 2 > q.length) {
      sub.pendingMeters = q.slice(sub.head);
      sub.head = 0;
    }
  }

  private untrack(sub: SubState, t: Tracked): void {
    sub.tracked.delete(t.anomalyId);
    if (sub.dropoutOf.get(t.meterId) === t.anomalyId) sub.dropoutOf.delete(t.meterId);
    sub.remove(t);
  }

  private evictOldest(sub: SubState): void {
    const oldest = sub.tracked.values().next().value;
    if (!oldest) return;
    this.untrack(sub, oldest);
    this.pub.stats.evicted++;
  }

  private isLost(sub: SubState, meterId: string, ts: number): boolean {
    const g = sub.gaps.get(meterId);
    return g !== undefined && ts >= g.fromTs && ts <= g.toTs;
  }

  private substationOfEdge(edgeId: string): string | undefined {
    for (const s of this.subs.values()) if (s.edges.has(edgeId)) return s.substationId;
    return undefined;
  }
}

/** Adds to a bounded FIFO set (insertion order), forgetting the oldest beyond `max`. */
function remember(set: Set<string>, id: string, max: number): void {
  set.add(id);
  if (set.size > max) set.delete(set.values().next().value as string);
}
