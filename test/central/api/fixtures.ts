import { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, SseHub, type ApiDeps } from '../../../central/api/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { ManualClock, Metrics, silentLogger, Topology, type Anomaly, type EdgeStatus, type GridEvent } from '../../../shared/index.ts';

export const T0 = Date.UTC(2026, 10, 23, 6, 0, 0);

/** What an API test server needs: small empty stores, an empty topology, a fixed clock; `over` replaces any part (auth is required). */
export function apiDeps(over: Partial<ApiDeps> & Pick<ApiDeps, 'auth'>): ApiDeps {
  return {
    events: new EventStore(10),
    anomalies: new AnomalyStore(10),
    readings: new ReadingStore(2, 10),
    edges: new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 }),
    registry: new TopologyRegistry({ logger: silentLogger(), topology: new Topology([]) }),
    sse: new SseHub({ maxClients: 1 }),
    metrics: new Metrics('central-test', { defaultMetrics: false }),
    clock: new ManualClock(T0),
    logger: silentLogger(),
    health: () => ({ live: true, ready: true, details: {} }),
    ...over,
  };
}

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
