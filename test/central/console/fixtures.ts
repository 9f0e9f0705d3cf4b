// The small grid the console test shows: two substations, three feeders, four transformers, two
// open grid events (one a critical feeder outage), one closed in the last hour, two edge gateways.
import type { EdgeStatus, GridEvent, TopologyEntry } from '../../../shared/index.ts';

/** [substation, feeder, transformer, meters] */
const LAYOUT: [string, string, string, number][] = [
  ['SUB-NORTH', 'SUB-NORTH-F1', 'SUB-NORTH-F1-T1', 6],
  ['SUB-NORTH', 'SUB-NORTH-F1', 'SUB-NORTH-F1-T2', 4],
  ['SUB-NORTH', 'SUB-NORTH-F2', 'SUB-NORTH-F2-T1', 5],
  ['SUB-SOUTH', 'SUB-SOUTH-F1', 'SUB-SOUTH-F1-T1', 7],
];

export function topologyEntries(): TopologyEntry[] {
  return LAYOUT.flatMap(([substationId, feederId, transformerId, n]) =>
    Array.from({ length: n }, (_, i) => ({
      meterId: `${transformerId}-M${i + 1}`,
      transformerId,
      feederId,
      substationId,
      phase: 'A' as const,
      nominalVoltage: 230,
      nominalFrequency: 50 as const,
    })),
  );
}

export function gridEvent(now: number, over: Partial<GridEvent> & Pick<GridEvent, 'eventId' | 'scope' | 'rootId' | 'type' | 'severity'>): GridEvent {
  return {
    substationId: null,
    state: 'open',
    affectedMeters: [],
    affectedCount: 1,
    startTs: now - 60_000,
    endTs: null,
    updatedAt: now,
    version: 1,
    ...over,
  };
}

export function initialEvents(now: number): GridEvent[] {
  return [
    gridEvent(now, {
      eventId: 'ev-outage-north-f1',
      scope: 'feeder',
      rootId: 'SUB-NORTH-F1',
      substationId: 'SUB-NORTH',
      type: 'outage',
      severity: 'critical',
      affectedCount: 10,
      startTs: now - 12 * 60_000,
      version: 3,
      summary: 'Feeder SUB-NORTH-F1: 10 of 10 meters sent last gasps',
    }),
    gridEvent(now, {
      eventId: 'ev-uv-south-t1',
      scope: 'transformer',
      rootId: 'SUB-SOUTH-F1-T1',
      substationId: 'SUB-SOUTH',
      type: 'undervoltage',
      severity: 'minor',
      affectedCount: 5,
      startTs: now - 25 * 60_000,
    }),
    gridEvent(now, {
      eventId: 'ev-sag-north-f2',
      scope: 'feeder',
      rootId: 'SUB-NORTH-F2',
      substationId: 'SUB-NORTH',
      type: 'sag',
      severity: 'major',
      state: 'closed',
      affectedCount: 5,
      startTs: now - 50 * 60_000,
      endTs: now - 41 * 60_000,
      version: 2,
    }),
  ];
}

export function edgeStatus(now: number, edgeId: string, substationId: string, ageMs: number, depth: number): EdgeStatus {
  return {
    edgeId,
    substationId,
    ts: now - ageMs,
    startedAt: now - 3_600_000,
    outbox: { depth, bytes: depth * 200, oldestAgeMs: depth > 0 ? 1500 : 0 },
    gaps: { records: 0, readings: 0 },
    rates: { acceptedPerSec: 40, rejectedPerSec: 0, forwardedPerSec: 40 },
    clock: { state: 'ok', medianSkewMs: 12 },
    meters: 15,
    version: '0.1.0',
  };
}
