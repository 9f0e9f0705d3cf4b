import type { GridEvent } from '../../shared/contracts/index.ts';
import { type AnomalyClass, type DeviceLevel, type EventScope } from './classes.ts';
import { severityRank } from './config.ts';
import { deviationOnly, type Membership, type PassedDeviation, type SubState } from './device-state.ts';
import type { EventRec } from './events.ts';
import { EventBook } from './event-book.ts';

export type { Stats } from './event-book.ts';

const RANK: Record<EventScope, number> = { meter: 0, transformer: 1, feeder: 2, substation: 3, grid: 4 };
const LEVEL_OF: Record<string, DeviceLevel> = { t: 'transformer', f: 'feeder', s: 'substation' };

/** Decides which events exist: roll-up, escalation, adoption, meter events, comms, grid. */
export class Publisher extends EventBook {
  /** The highest pending or open event covering a meter in a class (device levels and grid). */
  covering(sub: SubState, cls: AnomalyClass, keys: string[]): EventRec | undefined {
    if (cls === 'frequency' && this.grid) return this.grid;
    for (let i = keys.length - 1; i >= 0; i--) {
      const id = sub.deviceEvents.get(`${cls}|${keys[i]}`);
      if (id !== undefined) return sub.events.get(id);
    }
    return undefined;
  }

  coveringAll(sub: SubState, meterId: string, cls: AnomalyClass, keys: string[]): EventRec[] {
    const all: EventRec[] = [];
    const c = this.covering(sub, cls, keys);
    if (c) all.push(c);
    const m = sub.membership(meterId, cls);
    const adopter = m ? this.adoptedInto(sub, m) : undefined;
    if (adopter && adopter !== c) all.push(adopter);
    const mid = sub.meterEvents.get(`${cls}|${meterId}`);
    const me = mid === undefined ? undefined : sub.events.get(mid);
    if (me) all.push(me);
    return all;
  }

  qualifies(sub: SubState, cls: AnomalyClass, level: DeviceLevel, id: string): boolean {
    const c = sub.counter(cls, `${level[0]}:${id}`);
    if (!c) return false;
    const total = this.topology.metersUnder(level, id).size;
    const n = sub.windowCount(c, this.cfg.windowSlots);
    const rule = this.cfg[level];
    return total > 0 && n >= rule.minCount && n / total >= rule.share;
  }

  /** Opens (pending) the highest qualifying device above what already covers the meter. */
  escalate(sub: SubState, cls: AnomalyClass, keys: string[], covering: EventRec | undefined, now: number): boolean {
    const floor = covering ? RANK[covering.scope] : 0;
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const level = LEVEL_OF[key[0] as string];
      if (!level) continue;
      if (RANK[level] <= floor) break;
      const id = key.slice(2);
      if (this.qualifies(sub, cls, level, id)) {
        this.createDevice(sub, cls, level, id, keys.slice(i + 1), now);
        return true;
      }
    }
    return false;
  }

  /** Adds or refreshes a member. Growth is re-published now unless deferred or too soon. */
  addMember(e: EventRec, m: Membership, now: number, out: GridEvent[], defer = false): void {
    let changed = false;
    if (!e.members.has(m.meterId)) {
      e.members.add(m.meterId);
      changed = true;
    }
    if (m.lg > 0 && !e.gaspMembers.has(m.meterId)) {
      e.gaspMembers.add(m.meterId);
      changed = true;
    }
    if (m.sus > 0 && !e.sustained) changed = e.sustained = true;
    if (!deviationOnly(m) && !e.limitMembers.has(m.meterId)) {
      e.limitMembers.add(m.meterId);
      changed = true;
    }
    if (!e.interrupted && ((m.int ?? 0) > 0 || m.lg > 0)) changed = e.interrupted = true;
    if (severityRank(m.maxSev) > severityRank(e.maxMemberSev)) {
      e.maxMemberSev = m.maxSev;
      changed = true;
    }
    if (!changed) return;
    this.retype(e);
    if (e.state === 'open') {
      e.dirty = true;
      if (!defer && now - (e.publishedAt ?? 0) >= this.cfg.growthPublishMs) this.republish(e, now, out);
    }
  }

  queueMeter(sub: SubState, m: Membership, now: number): void {
    if (sub.pendingMeters.length - sub.head >= this.cfg.maxPendingMeters) {
      this.stats.suppressed++;
      return;
    }
    sub.pendingMeters.push({ meterId: m.meterId, cls: m.cls, dueAt: now + this.cfg.meterHoldMs });
  }

  /**
   * A stray: the meter's labelled transformer shows nothing (no event of the class), but a
   * sibling transformer under the same feeder has one that started within the window of it.
   */
  adopt(sub: SubState, m: Membership, now: number, out: GridEvent[]): boolean {
    const feeder = m.keys.find((k) => k.startsWith('f:'));
    if (!feeder || !this.mayAdopt(sub, m)) return false;
    for (const id of sub.deviceEvents.values()) {
      const e = sub.events.get(id);
      if (!e || e.scope !== 'transformer' || e.cls !== m.cls || !e.ancestors.includes(feeder)) continue;
      if (Math.abs(e.startTs - m.startTs) > this.cfg.windowMs) continue;
      this.takeStray(e, m, now, out, true); // tick's publishGrowth publishes the batch once
      return true;
    }
    return false;
  }

  /** When a transformer event is published: the strays already affected under its feeder join it now. */
  adoptStrays(sub: SubState, e: EventRec, now: number): void {
    if (!this.cfg.adoptStrays || e.scope !== 'transformer' || e.cls === 'comms') return;
    const feeder = e.ancestors.find((k) => k.startsWith('f:'));
    const affected = feeder === undefined ? undefined : sub.counter(e.cls, feeder)?.affected;
    for (const mid of affected ?? []) {
      if (e.members.has(mid)) continue;
      const m = sub.membership(mid, e.cls);
      if (!m || m.keys.includes(e.deviceKey) || Math.abs(e.startTs - m.startTs) > this.cfg.windowMs || !this.mayAdopt(sub, m)) continue;
      this.takeStray(e, m, now, [], true);
    }
  }

  /**
   * What keeps adoption safe: the meter's own transformer has no event of the class (it is the
   * labelled device that "shows nothing"), the meter has no meter event of its own (an unrelated
   * fault of that meter: a tamper, a meter fault, a lone outage it had before), and it is not in
   * another event of the class already.
   */
  private mayAdopt(sub: SubState, m: Membership): boolean {
    const own = m.keys.find((k) => k.startsWith('t:'));
    if (!own || sub.deviceEvents.has(`${m.cls}|${own}`) || this.covering(sub, m.cls, m.keys)) return false;
    for (const c of [m.cls, 'meter_fault', 'tamper']) if (sub.meterEvents.has(`${c}|${m.meterId}`)) return false;
    return !this.adoptedInto(sub, m);
  }

  /** The event of the meter's class that adopted it, if any. */
  adoptedInto(sub: SubState, m: Membership): EventRec | undefined {
    for (const id of sub.deviceEvents.values()) {
      const e = sub.events.get(id);
      if (e && e.cls === m.cls && e.adopted.has(m.meterId)) return e;
    }
    return undefined;
  }

  private takeStray(e: EventRec, m: Membership, now: number, out: GridEvent[], defer: boolean): void {
    e.adopted.add(m.meterId);
    this.addMember(e, m, now, out, defer);
    this.stats.adopted++;
  }

  /** Any device event (any class but comms) at or above the given devices: it explains a deviation there. */
  coveredByAny(sub: SubState, keys: readonly string[], except?: EventRec): EventRec | undefined {
    for (const id of sub.deviceEvents.values()) {
      const e = sub.events.get(id);
      if (e && e !== except && e.cls !== 'comms' && keys.includes(e.deviceKey)) return e;
    }
    return undefined;
  }

  meterEvent(sub: SubState, m: Membership, now: number, out: GridEvent[]): void {
    const key = `${m.cls}|${m.meterId}`;
    if (sub.meterEvents.has(key)) return;
    if (sub.events.size >= this.cfg.maxEvents) {
      this.stats.suppressed++;
      return;
    }
    const e = this.newEvent(sub, 'meter', m.meterId, m.meterId, m.cls, m.startTs, m.keys, now);
    e.members.add(m.meterId);
    if (m.lg > 0) e.gaspMembers.add(m.meterId);
    e.sustained = m.sus > 0;
    if (!deviationOnly(m)) e.limitMembers.add(m.meterId);
    e.maxMemberSev = m.maxSev;
    this.retype(e);
    sub.meterEvents.set(key, e.eventId);
    this.publish(sub, e, now, out);
  }

  /** The meter event of a lone deviation that ended while it waited for its neighbours: open and closed. */
  passedMeterEvent(sub: SubState, p: PassedDeviation, now: number, out: GridEvent[]): void {
    if (sub.events.size >= this.cfg.maxEvents) {
      this.stats.suppressed++;
      return;
    }
    const e = this.newEvent(sub, 'meter', p.meterId, p.meterId, p.cls, p.startTs, p.keys, now);
    e.members.add(p.meterId);
    e.maxMemberSev = p.maxSev;
    e.lastEndTs = p.endTs;
    this.retype(e);
    this.publish(sub, e, now, out);
    this.close(sub, e, p.endTs, now, out, null);
  }

  /**
   * Pending device events whose hold ended: discarded when cleared (or a momentary event when
   * its meters were at interruption level), absorbed when covered above (or, made of deviations
   * only, when any event at or above its device explains them), else published with its strays.
   */
  flushPending(sub: SubState, now: number, out: GridEvent[]): void {
    if (sub.pendingIds.size === 0) return;
    for (const id of [...sub.pendingIds]) {
      const e = sub.events.get(id);
      if (!e) continue;
      const age = now - e.createdAt;
      if (age < this.cfg.openHoldMs) continue;
      // Interrupted: a member below 0.1 pu (voltage) or a last gasp (outage, back with power_restored).
      const interrupted = this.cfg.momentaryEvents && e.interrupted && (e.cls === 'voltage_low' || e.cls === 'outage');
      // A shared deviation is a transition (a step's dip closes once the moving average follows
      // the new level), so it is not discarded for having cleared: it happened, to the device.
      if (e.deviationLed && age < this.cfg.deviationHoldMs) continue;
      if (!e.deviationLed && this.isClear(sub, e)) {
        if (interrupted) this.publishMomentary(sub, e, now, out);
        else {
          this.stats.discarded++;
          this.forget(sub, e);
        }
        continue;
      }
      // Still at interruption level: it may come back inside momentaryHoldMs. Deviations only:
      // an overload or a sag of the same cause may still show (they take a few intervals).
      if (interrupted && e.cls === 'voltage_low' && age < this.cfg.momentaryHoldMs) continue;
      if (this.coveredAbove(sub, e) || (e.deviationLed && this.coveredByAny(sub, [e.deviceKey, ...e.ancestors], e))) {
        this.stats.absorbed++;
        this.forget(sub, e);
      } else {
        this.adoptStrays(sub, e, now);
        this.publish(sub, e, now, out);
      }
    }
  }

  closeCleared(sub: SubState, now: number, out: GridEvent[]): void {
    const due: EventRec[] = [];
    for (const e of sub.events.values()) {
      if (e.state !== 'open' || e.cls === 'comms') continue;
      if (!this.isClear(sub, e)) e.clearSince = null;
      else if ((e.clearSince ??= now) + this.cfg.closeDelayMs <= now) due.push(e);
    }
    for (const e of due) {
      if (!sub.events.has(e.eventId)) continue;
      this.close(sub, e, e.lastEndTs ?? now, now, out, null);
      if (e.scope !== 'meter') this.reevaluate(sub, e.cls as AnomalyClass, now);
    }
  }

  publishGrowth(sub: SubState, now: number, out: GridEvent[]): void {
    for (const e of sub.events.values()) {
      if (e.state === 'open' && e.dirty && now - (e.publishedAt ?? 0) >= this.cfg.growthPublishMs) this.republish(e, now, out);
    }
  }

  /** comms_loss when an edge of the substation is quiet beyond the timeout; closed when all are heard. */
  checkComms(sub: SubState, now: number, out: GridEvent[]): void {
    if (sub.edges.size === 0) return;
    const quiet = [...sub.edges.values()].filter((e) => now - e.lastHeardAt > this.cfg.heartbeatTimeoutMs);
    const id = sub.deviceEvents.get(`comms|s:${sub.substationId}`);
    const open = id === undefined ? undefined : sub.events.get(id);
    if (quiet.length === 0) {
      if (open) this.close(sub, open, Math.max(...[...sub.edges.values()].map((e) => e.lastTs)), now, out, null);
      return;
    }
    if (open) return;
    // Last gasps from the substation say it is de-energised: that is the outage event, not comms.
    const oid = sub.deviceEvents.get(`outage|s:${sub.substationId}`);
    if (oid !== undefined && (sub.events.get(oid)?.gaspMembers.size ?? 0) > 0) return;
    const startTs = Math.max(...quiet.map((e) => e.lastTs));
    const e = this.newEvent(sub, 'substation', sub.substationId, `s:${sub.substationId}`, 'comms', startTs, [], now);
    const unobserved = this.topology.metersUnder('substation', sub.substationId).size;
    e.note = `no heartbeat from ${quiet.map((q) => q.edgeId).join(', ')} for over ${Math.round(this.cfg.heartbeatTimeoutMs / 1000)} s; ${unobserved} meters unobserved`;
    sub.deviceEvents.set(`comms|s:${sub.substationId}`, e.eventId);
    this.publish(sub, e, now, out);
  }

  /** Grid-wide frequency: enough substations qualify at substation level. */
  checkGrid(now: number): void {
    if (this.grid) return;
    let qualifying = 0;
    for (const sub of this.subs.values()) if (this.qualifies(sub, 'frequency', 'substation', sub.substationId)) qualifying++;
    if (qualifying === 0) return;
    if (qualifying < this.cfg.gridMinSubstations && qualifying < this.cfg.gridShare * this.substations()) return;
    let startTs = Infinity;
    const members: Membership[] = [];
    for (const sub of this.subs.values()) {
      for (const mid of sub.counter('frequency', 'g:grid')?.affected ?? []) {
        const m = sub.membership(mid, 'frequency');
        if (m) members.push(m);
        if (m && m.startTs < startTs) startTs = m.startTs;
      }
    }
    const g = this.newEvent(null, 'grid', 'grid', 'g:grid', 'frequency', startTs, [], now);
    for (const m of members) this.addMember(g, m, now, []);
    this.grid = g;
    for (const sub of this.subs.values()) this.absorbPending(sub, g);
  }

  tickGrid(now: number, out: GridEvent[]): void {
    const g = this.grid;
    if (!g) return;
    if (g.state === 'pending') {
      if (now - g.createdAt < this.cfg.openHoldMs) return;
      if (this.isClear(null, g)) {
        this.stats.discarded++;
        this.grid = null;
      } else this.publish(null, g, now, out);
      return;
    }
    if (g.dirty && now - (g.publishedAt ?? 0) >= this.cfg.growthPublishMs) this.republish(g, now, out);
    if (!this.isClear(null, g)) g.clearSince = null;
    else if ((g.clearSince ??= now) + this.cfg.closeDelayMs <= now) {
      this.close(null, g, g.lastEndTs ?? now, now, out, null);
      this.grid = null;
      for (const sub of this.subs.values()) this.reevaluate(sub, 'frequency', now);
    }
  }

  openEvents(): GridEvent[] {
    const out: GridEvent[] = [];
    for (const sub of this.subs.values()) for (const e of sub.events.values()) if (e.state === 'open') out.push(this.record(e, 'open', null, e.publishedAt ?? 0, null));
    if (this.grid?.state === 'open') out.push(this.record(this.grid, 'open', null, this.grid.publishedAt ?? 0, null));
    return out;
  }

  // --- internals ---

  private createDevice(sub: SubState, cls: AnomalyClass, level: DeviceLevel, id: string, ancestors: string[], now: number): EventRec {
    const key = `${level[0]}:${id}`;
    const affected = sub.counter(cls, key)?.affected ?? new Set<string>();
    let startTs = Infinity;
    for (const mid of affected) startTs = Math.min(startTs, sub.membership(mid, cls)?.startTs ?? Infinity);
    const e = this.newEvent(sub, level, id, key, cls, startTs, ancestors, now);
    for (const mid of affected) {
      const m = sub.membership(mid, cls);
      if (m) this.addMember(e, m, now, []);
    }
    sub.deviceEvents.set(`${cls}|${key}`, e.eventId);
    this.absorbPending(sub, e);
    return e;
  }









  private coveredAbove(sub: SubState, e: EventRec): boolean {
    if (e.cls === 'frequency' && this.grid) return true;
    return e.ancestors.some((k) => sub.deviceEvents.has(`${e.cls}|${k}`));
  }


  /** After an event closed: a lower device may still qualify on its own. Highest first. */
  private reevaluate(sub: SubState, cls: AnomalyClass, now: number): void {
    const prefix = `${cls}|`;
    const found: [DeviceLevel, string][] = [];
    for (const k of sub.counters.keys()) {
      if (!k.startsWith(prefix)) continue;
      const level = LEVEL_OF[k[prefix.length] as string];
      if (level) found.push([level, k.slice(prefix.length + 2)]);
    }
    found.sort((a, b) => RANK[b[0]] - RANK[a[0]]);
    for (const [level, id] of found) {
      const ancestors = this.ancestorsOf(level, id, cls);
      if (sub.deviceEvents.has(`${cls}|${level[0]}:${id}`) || ancestors.some((k) => sub.deviceEvents.has(`${cls}|${k}`))) continue;
      if (cls === 'frequency' && this.grid) continue;
      if (this.qualifies(sub, cls, level, id)) this.createDevice(sub, cls, level, id, ancestors, now);
    }
  }

  private ancestorsOf(level: DeviceLevel, id: string, cls: AnomalyClass): string[] {
    const keys: string[] = [];
    let feeder: string | undefined;
    if (level === 'transformer') {
      feeder = this.topology.parentOf('transformer', id);
      if (feeder !== undefined) keys.push(`f:${feeder}`);
    } else if (level === 'feeder') feeder = id;
    if (level !== 'substation' && feeder !== undefined) {
      const s = this.topology.parentOf('feeder', feeder);
      if (s !== undefined) keys.push(`s:${s}`);
    }
    if (cls === 'frequency') keys.push('g:grid');
    return keys;
  }

  private substations(): number {
    if (this.substationCount.topologySize !== this.topology.size) {
      this.substationCount = { topologySize: this.topology.size, count: this.topology.substations().length };
    }
    return this.substationCount.count;
  }
}
