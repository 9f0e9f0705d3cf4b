// Grid events and anomalies of a time range from the archive, merged with what this instance holds
// in memory: the memory holds the newest (and the open ones), the archive everything it flushed.
// Events are filed by `updatedAt`, so every version of an event that changed inside the range is
// found; the highest version of each event wins, from whichever side holds it. The operators'
// actions are archived too (grid.event-actions, by the group consumer): an event's audit trail
// outlives what the topic and the memory hold.
import { validators, type Anomaly, type EventAction, type GridEvent } from '../../shared/index.ts';
import { safeSegment } from '../archive/layout.ts';
import type { ArchiveSink } from '../archive/index.ts';
import { anomalyMatches, eventMatches, type AnomalyFilter, type EventFilter } from '../api/store.ts';
import { readObjects, selectKeys, type ArchiveGap } from './archive-reader.ts';

/** Longest range /api/events and /api/anomalies read from the archive. */
export const MAX_ARCHIVE_QUERY_MS = 31 * 86_400_000;

export interface ArchiveRead<T> {
  items: T[];
  objects: number;
  gaps: ArchiveGap[];
}

const isEvent = (v: Record<string, unknown>): boolean => typeof v.eventId === 'string' && typeof v.version === 'number' && typeof v.startTs === 'number';
const isAnomaly = (v: Record<string, unknown>): boolean => typeof v.anomalyId === 'string' && typeof v.startTs === 'number' && (v.state === 'open' || v.state === 'closed');

/**
 * One record per id of what a kind's objects in [from, to) hold: `wins(prev, next)` says whether a
 * later record replaces the one kept. Unreadable objects are gaps, not skipped.
 */
async function latestArchived<T>(
  sink: ArchiveSink, kind: 'events' | 'anomalies' | 'event-actions', from: number, to: number, substation: string | undefined, root: string | undefined,
  is: (v: Record<string, unknown>) => boolean, idOf: (t: T) => string, wins: (prev: T, next: T) => boolean,
): Promise<ArchiveRead<T>> {
  const keys = await selectKeys(sink, { kind, from, to, ...(root ? { root } : {}), ...(substation ? { substations: [safeSegment(substation)] } : {}) });
  const byId = new Map<string, T>();
  const gaps: ArchiveGap[] = [];
  for await (const obj of readObjects(sink, keys)) {
    if (obj.gap) {
      gaps.push(obj.gap);
      continue;
    }
    for (const { value } of obj.records) {
      const { _offset: _o, ...rest } = value;
      if (!is(rest)) continue;
      const item = rest as unknown as T;
      const prev = byId.get(idOf(item));
      if (!prev || wins(prev, item)) byId.set(idOf(item), item);
    }
  }
  return { items: [...byId.values()], objects: keys.length, gaps };
}

/** The highest version of every grid event archived in [from, to) (whatever the filter). */
export function archivedEvents(sink: ArchiveSink, from: number, to: number, substation?: string | undefined, root?: string): Promise<ArchiveRead<GridEvent>> {
  return latestArchived<GridEvent>(sink, 'events', from, to, substation, root, isEvent, (e) => e.eventId, (prev, e) => prev.version < e.version);
}

/** Every anomaly archived in [from, to), the close of each winning over its open. */
export function archivedAnomalies(sink: ArchiveSink, from: number, to: number, substation?: string | undefined, root?: string): Promise<ArchiveRead<Anomaly>> {
  return latestArchived<Anomaly>(sink, 'anomalies', from, to, substation, root, isAnomaly, (a) => a.anomalyId, (prev, a) => prev.state === 'open' && a.state === 'closed');
}

/** Memory and archive merged: the highest version per event, then the store's filter, newest first. */
export function mergeEvents(memory: GridEvent[], archived: GridEvent[], f: EventFilter): GridEvent[] {
  const byId = new Map<string, GridEvent>();
  for (const e of [...archived, ...memory]) {
    const prev = byId.get(e.eventId);
    if (!prev || prev.version <= e.version) byId.set(e.eventId, e);
  }
  const out = [...byId.values()].filter((e) => eventMatches(e, f));
  return out.sort((a, b) => b.updatedAt - a.updatedAt || a.eventId.localeCompare(b.eventId)).slice(0, f.limit);
}

/** Memory and archive merged: one record per anomaly (its close if known), the filter, most recent first. */
export function mergeAnomalies(memory: Anomaly[], archived: Anomaly[], f: AnomalyFilter): Anomaly[] {
  const byId = new Map<string, Anomaly>();
  for (const a of [...archived, ...memory]) {
    const prev = byId.get(a.anomalyId);
    if (!prev || prev.state === 'open' || a.state === 'closed') byId.set(a.anomalyId, a);
  }
  const out = [...byId.values()].filter((a) => anomalyMatches(a, f));
  const t = (a: Anomaly) => a.endTs ?? a.startTs;
  return out.sort((a, b) => t(b) - t(a) || a.anomalyId.localeCompare(b.anomalyId)).slice(0, f.limit);
}

/**
 * The audit trail of one grid event as archived from grid.event-actions (filed under `_none` by
 * the time each action was written) in [from, to): each action once (by actionId), oldest first.
 */
export async function archivedActions(sink: ArchiveSink, eventId: string, from: number, to: number, root?: string): Promise<ArchiveRead<EventAction>> {
  const read = await latestArchived<EventAction>(sink, 'event-actions', from, to, undefined, root, (v) => v.eventId === eventId && validators.eventAction.check(v), (a) => a.actionId, () => false);
  return { ...read, items: sortTrail(read.items) };
}

/** Actions in the order they were taken (their time; equal times keep their order). */
export function sortTrail(actions: EventAction[]): EventAction[] {
  return actions.map((a, i) => [a, i] as const).sort((x, y) => x[0].at - y[0].at || x[1] - y[1]).map(([a]) => a);
}
