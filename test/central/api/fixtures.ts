import type { Anomaly, EdgeStatus, GridEvent } from '../../../shared/index.ts';

export const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);

export function gridEvent(over: Partial<GridEvent> = {}): GridEvent {
  return {
    eventId: 'ev-1',
    scope: 'transformer',
    rootId: 'T1',
    substationId: 'S01',
    type: 'sag',
    severity: 'major',
    state: 'open',
    affectedMeters: ['M1', 'M2', 'M3'],
    affectedCount: 3,
    startTs: T0,
    endTs: null,
    updatedAt: T0,
    version: 1,
    ...over,
  };
}

export function anomaly(over: Partial<Anomaly> = {}): Anomaly {
  return {
    anomalyId: 'a-1',
    edgeId: 'edge-S01',
    meterId: 'M1',
    substationId: 'S01',
    feederId: 'F1',
    transformerId: 'T1',
    type: 'sag',
    channel: 'voltage',
    state: 'open',
    severity: 'major',
    startTs: T0,
    endTs: null,
    observed: 180,
    baseline: 230,
    detectedAt: T0,
    ...over,
  };
}

export function edgeStatus(over: Partial<EdgeStatus> = {}): EdgeStatus {
  return {
    edgeId: 'edge-S01',
    substationId: 'S01',
    ts: T0,
    startedAt: T0 - 60_000,
    outbox: { depth: 0, bytes: 0, oldestAgeMs: 0 },
    gaps: { records: 0, readings: 0 },
    rates: { acceptedPerSec: 10, rejectedPerSec: 0, forwardedPerSec: 10 },
    clock: { state: 'ok', medianSkewMs: 5 },
    meters: 3,
    version: '0.1.0',
    ...over,
  };
}
