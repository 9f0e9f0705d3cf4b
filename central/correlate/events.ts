import type { Severity } from './config.ts';
import { MAX_LISTED_METERS, type GridEvent, type GridEventType } from '../../shared/contracts/index.ts';
import type { AnomalyClass, EventScope } from './classes.ts';

export type EventClass = AnomalyClass | 'comms';

/**
 * A grid event as the correlator keeps it. `pending` events are held (openHoldMs) so that a
 * higher level can absorb them before anyone sees them; `open` ones have been published.
 * Members are cumulative: every meter that was affected while the event was open, so
 * `affectedCount` never shrinks while restoration is under way.
 */
export interface EventRec {
  eventId: string;
  scope: EventScope;
  rootId: string;
  deviceKey: string; // `t:T1`, `f:F1`, `s:S1`, `g:grid`, or the meterId for meter scope
  substationId: string | null;
  ancestors: string[]; // device keys above the root (`f:F1`, `s:S1`): what may absorb it
  cls: EventClass;
  type: GridEventType;
  severity: Severity;
  maxMemberSev: Severity;
  state: 'pending' | 'open';
  members: Set<string>;
  gaspMembers: Set<string>; // members that sent a last gasp
  adopted: Set<string>; // members labelled under another transformer (adopted strays)
  sustained: boolean;
  limitMembers: Set<string>; // members with more than statistical deviations (a crossed limit, a last gasp, silence)
  deviationLed: boolean; // the limit members alone would not make this event: it stands on shared deviations
  interrupted: boolean; // a member went to interruption level (interruption anomaly or last gasp)
  startTs: number;
  lastEndTs: number | null; // newest endTs of a member's closed anomaly
  version: number; // publications so far
  createdAt: number;
  publishedAt: number | null;
  clearSince: number | null;
  dirty: boolean; // grown since its last publication
  note: string | null; // extra words for the summary (comms loss: which edges)
}

export type EventJson = Omit<EventRec, 'members' | 'gaspMembers' | 'adopted' | 'limitMembers' | 'deviationLed' | 'interrupted'> & {
  members: string[];
  gaspMembers: string[];
  adopted?: string[];
  limitMembers?: string[];
  deviationLed?: boolean;
  interrupted?: boolean;
};

export function eventToJson(e: EventRec): EventJson {
  return { ...e, members: [...e.members], gaspMembers: [...e.gaspMembers], adopted: [...e.adopted], limitMembers: [...e.limitMembers] };
}

/** Tolerates state exported before adoption lists, deviations and momentary events existed. */
export function eventFromJson(j: EventJson): EventRec {
  const { strays: _old, ...rest } = j as EventJson & { strays?: number };
  return { ...rest, members: new Set(j.members), gaspMembers: new Set(j.gaspMembers), adopted: new Set(j.adopted ?? []), limitMembers: new Set(j.limitMembers ?? j.members), deviationLed: j.deviationLed ?? false, interrupted: j.interrupted ?? false };
}

/**
 * Stable id: scope, root, class and start. The class, not the type, so that an event whose type
 * upgrades (sag -> undervoltage, silence -> outage) keeps its id. startTs is fixed when the
 * event is created; a late member with an earlier start does not change it.
 */
export function makeEventId(scope: EventScope, rootId: string, cls: EventClass, startTs: number): string {
  return `${scope}:${rootId}:${cls}:${startTs}`;
}

const WORDS: Record<GridEventType, string> = {
  outage: 'Outage',
  silence: 'Meters silent',
  sag: 'Voltage sag',
  undervoltage: 'Undervoltage',
  swell: 'Voltage swell',
  overvoltage: 'Overvoltage',
  frequency_deviation: 'Frequency deviation',
  overload: 'Overload',
  comms_loss: 'Communications lost',
  meter_fault: 'Meter fault',
  tamper: 'Tamper',
  momentary: 'Momentary interruption',
  pattern: 'Change of pattern (learned)',
};

export function summaryOf(e: EventRec, totalUnder: number, absorbedBy: string | null): string {
  const where = e.scope === 'grid' ? 'grid-wide' : `at ${e.scope} ${e.rootId}`;
  let s = `${WORDS[e.type]} ${where}`;
  if (e.scope !== 'meter' && e.cls !== 'comms') {
    s += `: ${e.members.size} meters affected`;
    if (totalUnder > 0) s += ` (${totalUnder} under it)`;
    if (e.cls === 'outage') s += `, ${e.gaspMembers.size} last gasps, ${e.members.size - e.gaspMembers.size} silent`;
    if (e.adopted.size > 0) s += `, ${e.adopted.size} labelled under another transformer`;
    if (e.deviationLed) s += `, ${e.members.size - e.limitMembers.size} by deviation from their own average only`;
  }
  if (e.note) s += `; ${e.note}`;
  if (absorbedBy) s += `; absorbed into ${absorbedBy}`;
  return s.length > 500 ? `${s.slice(0, 497)}...` : s;
}

/** The v1 record of one publication. Lists at most MAX_LISTED_METERS meters; the count is exact. */
export function toGridEvent(e: EventRec, state: 'open' | 'closed', endTs: number | null, updatedAt: number, summary: string): GridEvent {
  const listed: string[] = [];
  for (const m of e.members) {
    if (listed.length >= MAX_LISTED_METERS) break;
    listed.push(m);
  }
  const adopted = [...e.adopted].slice(0, MAX_LISTED_METERS);
  return {
    eventId: e.eventId,
    scope: e.scope,
    rootId: e.rootId,
    substationId: e.substationId,
    type: e.type,
    severity: e.severity,
    state,
    affectedMeters: listed,
    affectedCount: e.members.size,
    startTs: e.startTs,
    endTs,
    updatedAt,
    version: e.version,
    summary,
    ...(adopted.length > 0 ? { adoptedMeters: adopted } : {}),
  };
}
