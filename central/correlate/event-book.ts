import type { GridEvent, GridEventType } from '../../shared/contracts/index.ts';
import type { Level, Topology } from '../../shared/topology/model.ts';
import { eventTypeOf, severityOf, type AnomalyClass, type DeviceLevel, type EventScope } from './classes.ts';
import type { CorrelateConfig, Severity } from './config.ts';
import type { SubState } from './device-state.ts';
import { makeEventId, summaryOf, toGridEvent, type EventClass, type EventRec } from './events.ts';

export interface Stats {
  anomalies: number; // records taken in (not duplicates)
  duplicates: number; // (anomalyId, state) seen before
  late: number; // behind the substation's watermark, within latenessMs: applied
  tooLate: number; // beyond latenessMs: an open is left out of the roll-up, a close still applies
  events: number; // grid events published for the first time
  unmatchedClosed: number; // closes whose open was never seen (or evicted, or too late)
  evicted: number; // open anomalies forgotten at maxOpenAnomalies
  lost: number; // dropouts over ranges the edge reported as gaps: loss, not silence
  gaps: number;
  absorbed: number; // events taken over by a higher level (pending ones never published)
  discarded: number; // pending events whose condition cleared before their hold ended
  adopted: number; // stray (mislabelled) meters attached to a sibling transformer's event
  momentary: number; // momentary interruption events (cleared inside the hold, published open and closed)
  suppressed: number; // meter events or pending meters refused at their bound
  edgesWithoutSubstation: number;
}

/** The life of one event: create, publish (absorbing what is under it), re-publish, close. */
export class EventBook {
  readonly stats: Stats = {
    anomalies: 0, duplicates: 0, late: 0, tooLate: 0, events: 0, unmatchedClosed: 0, evicted: 0,
    lost: 0, gaps: 0, absorbed: 0, discarded: 0, adopted: 0, momentary: 0, suppressed: 0, edgesWithoutSubstation: 0,
  };
  readonly slotMs: number;
  /** The grid-wide frequency event. Not handed over: each instance derives it from its substations. */
  protected grid: EventRec | null = null;
  protected readonly gridRetired = new Map<string, number>(); // grid eventIds can recur too
  protected substationCount = { topologySize: -1, count: 0 };

  constructor(
    protected readonly topology: Topology,
    protected readonly cfg: CorrelateConfig,
    protected readonly subs: Map<string, SubState>,
  ) {
    this.slotMs = Math.max(1, Math.floor(cfg.windowMs / cfg.windowSlots));
  }

  protected newEvent(sub: SubState | null, scope: EventScope, rootId: string, deviceKey: string, cls: EventClass, startTs: number, ancestors: string[], now: number): EventRec {
    const eventId = makeEventId(scope, rootId, cls, startTs);
    const e: EventRec = {
      eventId, scope, rootId, deviceKey, substationId: sub ? sub.substationId : null, ancestors, cls,
      type: cls === 'comms' ? 'comms_loss' : eventTypeOf(cls, { lastGasps: 0, sustained: false }),
      severity: 'info', maxMemberSev: 'info', state: 'pending', members: new Set(), gaspMembers: new Set(),
      adopted: new Set(), sustained: false, limitMembers: new Set(), deviationLed: false, interrupted: false, startTs, lastEndTs: null, version: (sub ? sub.retired.get(eventId) : this.gridRetired.get(eventId)) ?? 0,
      createdAt: now, publishedAt: null, clearSince: null, dirty: false, note: null,
    };
    this.retype(e);
    if (sub) {
      sub.events.set(eventId, e);
      sub.pendingIds.add(eventId);
    }
    return e;
  }

  protected retype(e: EventRec): void {
    if (e.cls === 'comms') {
      e.severity = severityOf('substation', 'comms_loss', 'info');
      return;
    }
    if (e.type === 'momentary') return; // set once, when it is published as one
    e.deviationLed = this.isDeviationLed(e);
    e.type = eventTypeOf(e.cls, { lastGasps: e.gaspMembers.size, sustained: e.sustained, deviationOnly: e.deviationLed && e.scope === 'meter' }) as GridEventType;
    e.severity = severityOf(e.scope, e.type, e.maxMemberSev as Severity, e.deviationLed);
  }

  /**
   * An event stands on shared deviations when its limit members alone (crossed limits, last
   * gasps, silence) would not qualify its device; a meter event when the meter has only those.
   */
  private isDeviationLed(e: EventRec): boolean {
    if (e.members.size === 0 || e.limitMembers.size === e.members.size) return false;
    const n = e.limitMembers.size;
    if (e.scope === 'meter' || e.scope === 'grid') return n === 0;
    const rule = this.cfg[e.scope as DeviceLevel];
    const total = this.topology.metersUnder(e.scope as Level, e.rootId).size;
    return !(total > 0 && n >= rule.minCount && n / total >= rule.share);
  }

  /**
   * A device whose meters went to interruption level and came back inside the hold: published
   * once open and once closed, low severity, so reliability indices (MAIFI) can count it.
   */
  protected publishMomentary(sub: SubState, e: EventRec, now: number, out: GridEvent[]): void {
    e.type = 'momentary';
    e.severity = severityOf(e.scope, 'momentary', 'info');
    e.state = 'open';
    sub.pendingIds.delete(e.eventId);
    this.stats.events++;
    this.stats.momentary++;
    this.republish(e, now, out);
    this.close(sub, e, e.lastEndTs ?? now, now, out, null);
  }

  protected publish(sub: SubState | null, e: EventRec, now: number, out: GridEvent[]): void {
    e.state = 'open';
    sub?.pendingIds.delete(e.eventId);
    this.stats.events++;
    this.republish(e, now, out);
    if (e.scope === 'meter') return;
    // Lower events of the class under this one close now: the operator keeps one event.
    const under: EventRec[] = [];
    for (const s of sub ? [sub] : this.subs.values()) {
      for (const o of s.events.values()) if (o !== e && o.state === 'open' && o.cls === e.cls && o.ancestors.includes(e.deviceKey)) under.push(o);
      for (const o of under) this.close(s, o, now, now, out, e.eventId);
      this.stats.absorbed += under.length;
      under.length = 0;
    }
  }

  protected republish(e: EventRec, now: number, out: GridEvent[]): void {
    e.version++;
    e.publishedAt = now;
    e.dirty = false;
    out.push(this.record(e, 'open', null, now, null));
  }

  protected close(sub: SubState | null, e: EventRec, endTs: number, now: number, out: GridEvent[], absorbedBy: string | null): void {
    e.version++;
    out.push(this.record(e, 'closed', endTs, now, absorbedBy));
    if (!sub) {
      this.gridRetired.set(e.eventId, e.version);
      if (this.gridRetired.size > this.cfg.maxEvents) this.gridRetired.delete(this.gridRetired.keys().next().value as string);
      return;
    }
    this.forget(sub, e);
    sub.retired.set(e.eventId, e.version);
    if (sub.retired.size > this.cfg.maxEvents) sub.retired.delete(sub.retired.keys().next().value as string);
  }

  protected record(e: EventRec, state: 'open' | 'closed', endTs: number | null, updatedAt: number, absorbedBy: string | null): GridEvent {
    const total = e.scope === 'meter' ? 0 : e.scope === 'grid' ? this.topology.size : this.topology.metersUnder(e.scope as Level, e.rootId).size;
    return toGridEvent(e, state, endTs, updatedAt, summaryOf(e, total, absorbedBy));
  }

  protected forget(sub: SubState, e: EventRec): void {
    sub.events.delete(e.eventId);
    sub.pendingIds.delete(e.eventId);
    const map = e.scope === 'meter' ? sub.meterEvents : sub.deviceEvents;
    const key = e.scope === 'meter' ? `${e.cls}|${e.rootId}` : `${e.cls}|${e.deviceKey}`;
    if (map.get(key) === e.eventId) map.delete(key);
  }

  /** Pending events of the class under a new one are absorbed before anyone saw them. */
  protected absorbPending(sub: SubState, e: EventRec): void {
    for (const id of [...sub.pendingIds]) {
      const p = sub.events.get(id);
      if (p && p !== e && p.cls === e.cls && p.ancestors.includes(e.deviceKey)) {
        this.forget(sub, p);
        this.stats.absorbed++;
      }
    }
  }

  protected isClear(sub: SubState | null, e: EventRec): boolean {
    if (e.scope === 'grid') {
      let affected = 0;
      for (const s of this.subs.values()) affected += s.counter('frequency', 'g:grid')?.affected.size ?? 0;
      return this.topology.size === 0 || affected / this.topology.size < this.cfg.substation.clearShare;
    }
    if (!sub) return true;
    if (e.scope === 'meter') return !sub.membership(e.rootId, e.cls as AnomalyClass);
    const n = sub.counter(e.cls as AnomalyClass, e.deviceKey)?.affected.size ?? 0;
    const total = this.topology.metersUnder(e.scope as Level, e.rootId).size;
    return n === 0 || total === 0 || n / total < this.cfg[e.scope as DeviceLevel].clearShare;
  }
}
