// Every metric of `gridwatch central` outside the archive (central/archive/metrics.ts) and the
// notifier: the counters the flows increment, and the gauges computed at scrape time.
import { LATENCY_BUCKETS_S, type Clock, type Metrics } from '../shared/index.ts';
import type { EdgeStatusStore, EventStore, ReadingStore } from './api/index.ts';

export function centralMetrics(m: Metrics) {
  return {
    consumed: m.counter('central_records_consumed_total', 'Records consumed, by topic and consumer (group: shared work; broadcast: every instance); for grid.readings the readings, each reading of a record of several counted', ['topic', 'consumer']),
    invalid: m.counter('central_records_invalid_total', 'Records that are not valid v1 contract values (counted, archived, not correlated)', ['topic']),
    events: m.counter('central_grid_events_total', 'Grid event publications, by type, scope and state', ['type', 'scope', 'state']),
    duplicates: m.counter('central_duplicates_total', 'Re-delivered records recognised and not counted twice, by kind', ['kind']),
    lag: m.gauge('central_consumer_lag_records', 'End offset minus committed offset of the central group, per partition', ['topic', 'partition']),
    fetchLag: m.gauge('central_fetch_lag_records', 'High watermark minus the last offset fetched, per partition (this instance)', ['topic', 'partition']),
    publish: m.histogram('central_publish_seconds', 'Time to produce grid events and state snapshots (acks=all)', LATENCY_BUCKETS_S),
    recordToEvent: m.histogram('central_anomaly_to_event_seconds', 'From an anomaly entering Kafka to the grid event it caused being computed', LATENCY_BUCKETS_S),
    backpressure: m.counter('central_backpressure_total', 'Group partitions paused because the archive held more than its byte budget, and resumed', ['action']),
    commits: m.counter('central_offset_commits_total', 'Offset commits, by result', ['result']),
    refused: m.counter('central_publish_refused_total', 'Grid events or state snapshots too large to produce (logged; never silent)', ['topic']),
  };
}
export type CentralMetrics = ReturnType<typeof centralMetrics>;

/**
 * Gauges computed at scrape time from what this instance sees of the whole grid (every instance
 * reads grid.events and grid.edge-status whole, so aggregate them across instances with max).
 */
export function viewMetrics(metrics: Metrics, v: { events: EventStore; edges: EdgeStatusStore; readings: ReadingStore; clock: Clock; unpublished: () => number }): void {
  const { events, edges, readings, clock, unpublished } = v;
  // The recent-readings store fills for readingsPerMeter intervals and then stays the same size: a
  // soak (cli/soak.ts) judges central's memory only from when it is full.
  metrics.gauge('central_recent_readings', 'Readings held for the API (at most readingsPerMeter per meter for metersTracked meters)', [], function collect() {
    this.set(readings.held);
  });
  metrics.gauge('central_recent_readings_text_bytes', 'Length of the JSON text of the readings held for the API', [], function collect() {
    this.set(readings.textBytes);
  });
  metrics.gauge('central_recent_readings_meters', 'Meters with recent readings held, by whether their ring is full (readingsPerMeter readings)', ['ring'], function collect() {
    this.set({ ring: 'full' }, readings.fullMeters);
    this.set({ ring: 'filling' }, readings.size - readings.fullMeters);
  });
  metrics.gauge('central_open_events', 'Open grid events, by severity, scope and type (the whole grid, as seen by this instance)', ['severity', 'scope', 'type'], function collect() {
    this.reset();
    const counts = new Map<string, { labels: { severity: string; scope: string; type: string }; n: number }>();
    for (const e of events.openEvents()) {
      const key = `${e.severity}\u0000${e.scope}\u0000${e.type}`;
      const c = counts.get(key) ?? { labels: { severity: e.severity, scope: e.scope, type: e.type }, n: 0 };
      c.n++;
      counts.set(key, c);
    }
    for (const c of counts.values()) this.set(c.labels, c.n);
  });
  metrics.gauge('central_events_unpublished', 'Grid events a failed publish left behind (sent first next time; offsets are not committed while any wait)', [], function collect() {
    this.set(unpublished());
  });
  metrics.gauge('central_edge_heartbeat_age_seconds', 'Seconds since the last heartbeat of each edge gateway reached this instance', ['edge'], function collect() {
    this.reset();
    for (const e of edges.list(clock.now())) this.set({ edge: e.edgeId }, e.ageMs / 1000);
  });
}
