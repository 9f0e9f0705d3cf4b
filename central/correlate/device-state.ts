import type { Severity } from './config.ts';
import type { AnomalyType } from '../../shared/contracts/index.ts';
import type { AnomalyClass } from './classes.ts';
import { maxSeverity } from './config.ts';
import type { EventJson, EventRec } from './events.ts';
import { eventFromJson, eventToJson } from './events.ts';

/**
 * Per-substation correlation state: open anomalies, one membership per (meter, class), and per
 * device counters that the roll-up reads in O(window slots) instead of rescanning meters.
 *
 * Device keys: `t:<transformerId>`, `f:<feederId>`, `s:<substationId>`, `g:grid`; a counter is
 * keyed `<class>|<deviceKey>`.
 */
export interface Tracked {
  anomalyId: string;
  meterId: string;
  cls: AnomalyClass;
  type: AnomalyType;
  severity: Severity;
  startTs: number;
  keys: string[]; // devices the meter counts towards (empty: meter-local)
  dev?: boolean; // a statistical deviation counted in a voltage/frequency class (coincident deviations)
}

/** A meter's standing in one class: affected while it has at least one open anomaly of it. */
export interface Membership {
  meterId: string;
  cls: AnomalyClass;
  n: number; // open anomalies
  lg: number; // of which last gasps (`outage`)
  sus: number; // of which sustained (undervoltage / overvoltage)
  dev?: number; // of which statistical deviations (spike, dip, drift); all of them: a deviation-only meter
  int?: number; // of which interruptions (< 0.1 pu)
  startTs: number; // start of the first open anomaly: the slot it counts in
  maxSev: Severity;
  keys: string[];
}

export interface Counter {
  affected: Set<string>; // meters currently affected, in the order they became affected
  lastGasps: number; // affected meters with a last gasp
  slots: Map<number, number>; // window slot -> affected meters whose membership started in it
  maxStart: number; // newest membership start seen (the window ends here)
}

export interface EdgeSeen {
  edgeId: string;
  lastHeardAt: number; // clock time of the last heartbeat
  lastTs: number; // the heartbeat's own ts
}

export interface PendingMeter {
  meterId: string;
  cls: AnomalyClass;
  dueAt: number;
}

/** A deviation-only meter whose deviations ended while it waited: still its meter event, if no device took it. */
export interface PassedDeviation {
  meterId: string;
  cls: AnomalyClass;
  startTs: number;
  endTs: number;
  maxSev: Severity;
  keys: string[];
}

/** Open anomalies of a membership that are statistical deviations only. */
export function deviationOnly(m: Membership): boolean {
  return (m.dev ?? 0) > 0 && m.dev === m.n;
}

/** JSON form of one substation's state: what exportState hands over on a rebalance. */
export interface SubstationState {
  version: 1;
  substationId: string;
  watermark: number | null;
  tracked: Tracked[];
  closedIds: string[];
  memberships: Membership[];
  maxStarts: [string, number][];
  events: EventJson[];
  pendingMeters: PendingMeter[];
  edges: EdgeSeen[];
  gaps: [string, { fromTs: number; toTs: number }][];
  retired: [string, number][];
  passedDeviations?: PassedDeviation[];
}

export class SubState {
  watermark: number | null = null;
  readonly tracked = new Map<string, Tracked>();
  readonly closedIds = new Set<string>();
  readonly memberships = new Map<string, Membership>();
  readonly counters = new Map<string, Counter>();
  readonly events = new Map<string, EventRec>(); // pending and open, device and meter scope
  readonly deviceEvents = new Map<string, string>(); // `<class>|<deviceKey>` -> eventId
  readonly meterEvents = new Map<string, string>(); // `<class>|<meterId>` -> eventId
  pendingMeters: PendingMeter[] = []; // due order (clock); consumed from `head`
  head = 0;
  readonly pendingIds = new Set<string>(); // events not yet published
  readonly edges = new Map<string, EdgeSeen>();
  readonly gaps = new Map<string, { fromTs: number; toTs: number }>(); // meter -> newest lost range
  readonly dropoutOf = new Map<string, string>(); // meter -> its open dropout anomalyId
  readonly retired = new Map<string, number>(); // closed eventId -> last version (ids can recur)
  readonly passedDeviations = new Map<string, PassedDeviation>(); // `<class>|<meterId>`, FIFO-bounded

  constructor(
    readonly substationId: string,
    private readonly slotMs: number,
  ) {}

  counter(cls: AnomalyClass, key: string): Counter | undefined {
    return this.counters.get(`${cls}|${key}`);
  }

  membership(meterId: string, cls: AnomalyClass): Membership | undefined {
    return this.memberships.get(`${meterId}|${cls}`);
  }

  /** Adds an open anomaly to its meter's membership; returns the membership. */
  add(t: Tracked): Membership {
    const k = `${t.meterId}|${t.cls}`;
    let m = this.memberships.get(k);
    if (!m) {
      m = { meterId: t.meterId, cls: t.cls, n: 0, lg: 0, sus: 0, dev: 0, int: 0, startTs: t.startTs, maxSev: t.severity, keys: t.keys };
      this.memberships.set(k, m);
      this.join(m);
    }
    m.n++;
    if (t.dev) m.dev = (m.dev ?? 0) + 1;
    if (t.type === 'interruption') m.int = (m.int ?? 0) + 1;
    m.maxSev = maxSeverity(m.maxSev, t.severity);
    if (t.type === 'undervoltage' || t.type === 'overvoltage') m.sus++;
    if (t.type === 'outage') {
      if (m.lg === 0) for (const key of m.keys) this.ensure(t.cls, key).lastGasps++;
      m.lg++;
    }
    return m;
  }

  /** Removes a closed (or evicted) anomaly; the meter stops being affected with its last one. */
  remove(t: Tracked): Membership | undefined {
    const k = `${t.meterId}|${t.cls}`;
    const m = this.memberships.get(k);
    if (!m) return undefined;
    m.n--;
    if (t.dev) m.dev = (m.dev ?? 1) - 1;
    if (t.type === 'interruption') m.int = (m.int ?? 1) - 1;
    if (t.type === 'undervoltage' || t.type === 'overvoltage') m.sus--;
    if (t.type === 'outage') {
      m.lg--;
      if (m.lg === 0) for (const key of m.keys) this.ensure(t.cls, key).lastGasps--;
    }
    if (m.n <= 0) {
      this.memberships.delete(k);
      this.leave(m);
    }
    return m;
  }

  /** Affected meters whose membership started within the window ending at the newest start. */
  windowCount(c: Counter, windowSlots: number): number {
    const last = Math.floor(c.maxStart / this.slotMs);
    let sum = 0;
    if (c.slots.size <= windowSlots) {
      for (const [slot, n] of c.slots) if (slot > last - windowSlots && slot <= last) sum += n;
    } else {
      for (let s = last - windowSlots + 1; s <= last; s++) sum += c.slots.get(s) ?? 0;
    }
    return sum;
  }

  private ensure(cls: AnomalyClass, key: string): Counter {
    const ck = `${cls}|${key}`;
    let c = this.counters.get(ck);
    if (!c) this.counters.set(ck, (c = { affected: new Set(), lastGasps: 0, slots: new Map(), maxStart: -Infinity }));
    return c;
  }

  private join(m: Membership): void {
    const slot = Math.floor(m.startTs / this.slotMs);
    for (const key of m.keys) {
      const c = this.ensure(m.cls, key);
      c.affected.add(m.meterId);
      c.slots.set(slot, (c.slots.get(slot) ?? 0) + 1);
      if (m.startTs > c.maxStart) c.maxStart = m.startTs;
    }
  }

  private leave(m: Membership): void {
    const slot = Math.floor(m.startTs / this.slotMs);
    for (const key of m.keys) {
      const c = this.ensure(m.cls, key);
      c.affected.delete(m.meterId);
      const n = (c.slots.get(slot) ?? 0) - 1;
      if (n > 0) c.slots.set(slot, n);
      else c.slots.delete(slot);
      // An empty counter is forgotten, so memory follows what is open, not what ever happened.
      if (c.affected.size === 0) this.counters.delete(`${m.cls}|${key}`);
    }
  }

  toJSON(): SubstationState {
    return {
      version: 1,
      substationId: this.substationId,
      watermark: this.watermark,
      tracked: [...this.tracked.values()].map((t) => ({ ...t, keys: [...t.keys] })),
      closedIds: [...this.closedIds],
      memberships: [...this.memberships.values()].map((m) => ({ ...m, keys: [...m.keys] })),
      maxStarts: [...this.counters].map(([k, c]) => [k, c.maxStart] as [string, number]),
      events: [...this.events.values()].map(eventToJson),
      pendingMeters: this.pendingMeters.slice(this.head).map((p) => ({ ...p })),
      edges: [...this.edges.values()].map((e) => ({ ...e })),
      gaps: [...this.gaps].map(([k, v]) => [k, { ...v }] as [string, { fromTs: number; toTs: number }]),
      retired: [...this.retired],
      passedDeviations: [...this.passedDeviations.values()].map((p) => ({ ...p, keys: [...p.keys] })),
    };
  }

  /** Rebuilds the state exactly: memberships in their order (so counters' sets keep theirs). */
  static fromJSON(s: SubstationState, slotMs: number): SubState {
    const st = new SubState(s.substationId, slotMs);
    st.watermark = s.watermark;
    for (const t of s.tracked) {
      st.tracked.set(t.anomalyId, { ...t, keys: [...t.keys] });
      if (t.type === 'dropout') st.dropoutOf.set(t.meterId, t.anomalyId);
    }
    for (const id of s.closedIds) st.closedIds.add(id);
    for (const m of s.memberships) {
      const copy = { ...m, keys: [...m.keys] };
      st.memberships.set(`${m.meterId}|${m.cls}`, copy);
      st.join(copy);
      if (copy.lg > 0) for (const key of copy.keys) st.ensure(copy.cls, key).lastGasps++;
    }
    for (const [k, maxStart] of s.maxStarts) {
      const c = st.counters.get(k);
      if (c) c.maxStart = maxStart;
    }
    for (const j of s.events) {
      const e = eventFromJson(j);
      st.events.set(e.eventId, e);
      if (e.state === 'pending') st.pendingIds.add(e.eventId);
      if (e.scope === 'meter') st.meterEvents.set(`${e.cls}|${e.rootId}`, e.eventId);
      else st.deviceEvents.set(`${e.cls}|${e.deviceKey}`, e.eventId);
    }
    st.pendingMeters = s.pendingMeters.map((p) => ({ ...p }));
    for (const e of s.edges) st.edges.set(e.edgeId, { ...e });
    for (const [k, v] of s.gaps) st.gaps.set(k, { ...v });
    for (const [k, v] of s.retired) st.retired.set(k, v);
    for (const p of s.passedDeviations ?? []) st.passedDeviations.set(`${p.cls}|${p.meterId}`, { ...p, keys: [...p.keys] });
    return st;
  }
}
