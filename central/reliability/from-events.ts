// Grid events (and the meters' own restorations from their anomalies) as IEEE 1366
// interruptions. Only `outage` and `momentary` events interrupt supply; a sag does not.
import type { Anomaly, GridEvent, Topology } from '../../shared/index.ts';
import type { Interruption, MeterPlace } from './indices.ts';

export interface Conversion {
  interruptions: Interruption[];
  /** Outage events still open at the end of the range: not counted (their duration is not known yet). */
  openOutages: number;
}

/** The maintenance flag of issue 10 is v1-additive: absent means unplanned. */
export const isPlanned = (e: GridEvent): boolean => (e as { planned?: unknown }).planned === true;

/** Meter anomalies that mark a lost supply; their close is when the meter's supply came back. */
const SUPPLY_LOST = new Set(['outage', 'interruption']);

/**
 * `restorations` maps meterId to the end times of its closed outage/interruption anomalies; a
 * meter's restoration for an event is the first of those inside [event start, event end + 10 min],
 * else the event's end.
 */
export function restorationsFrom(anomalies: Anomaly[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const a of anomalies) {
    if (a.state !== 'closed' || typeof a.endTs !== 'number' || !SUPPLY_LOST.has(a.type)) continue;
    const list = out.get(a.meterId) ?? [];
    list.push(a.endTs);
    out.set(a.meterId, list);
  }
  for (const l of out.values()) l.sort((x, y) => x - y);
  return out;
}

const RESTORE_SLACK_MS = 10 * 60_000;

/** Where the root device of an event is, for the meters the event counts but does not list. */
function rootPlace(e: GridEvent, topology: Topology): MeterPlace {
  const sub = e.substationId ?? null;
  if (e.scope === 'feeder') return { feederId: e.rootId, substationId: sub };
  if (e.scope === 'meter') return { feederId: topology.meter(e.rootId)?.feederId ?? null, substationId: sub };
  if (e.scope === 'transformer') return { feederId: topology.parentOf('transformer', e.rootId) ?? null, substationId: sub };
  return { feederId: null, substationId: sub };
}

export function interruptionsFrom(events: GridEvent[], topology: Topology, restorations: Map<string, number[]> = new Map()): Conversion {
  const interruptions: Interruption[] = [];
  let openOutages = 0;
  for (const e of events) {
    if (e.type !== 'outage' && e.type !== 'momentary') continue;
    if (e.endTs === null) {
      openOutages++;
      continue;
    }
    const end = e.endTs;
    const meters = e.affectedMeters.map((meterId) => {
      const r = restorations.get(meterId)?.find((t) => t >= e.startTs && t <= end + RESTORE_SLACK_MS);
      return { meterId, restoredAt: r ?? end };
    });
    interruptions.push({
      eventId: e.eventId,
      startTs: e.startTs,
      endTs: end,
      planned: isPlanned(e),
      momentary: e.type === 'momentary',
      meters,
      unlisted: Math.max(0, e.affectedCount - meters.length),
      unlistedAt: rootPlace(e, topology),
    });
  }
  return { interruptions, openOutages };
}

/** Customers served per area at a level, from the topology (every meter is a customer). */
export function customersServed(topology: Topology, level: 'feeder' | 'substation' | 'system'): Map<string, number> {
  const served = new Map<string, number>();
  for (const m of topology.entries()) {
    const id = level === 'system' ? 'system' : level === 'feeder' ? m.feederId : m.substationId;
    if (!id) continue;
    served.set(id, (served.get(id) ?? 0) + 1);
  }
  return served;
}
