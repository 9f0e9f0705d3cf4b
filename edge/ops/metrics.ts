import { LATENCY_BUCKETS_S, type Metrics } from '../../shared/index.ts';
import type { IntakeCounts } from '../ingest/intake.ts';
import { REJECT_REASONS } from '../ingest/validate.ts';

/**
 * The gateway's Prometheus metrics outside the store and the forwarder. The intake counts with
 * plain numbers on its hot path; `publish` moves the deltas since last time into the counters
 * (before each scrape and each heartbeat, and at stop).
 */
export class EdgeMetrics {
  readonly ackSeconds;
  /** edge/detect/hearing.ts: ticks at which the gateway was behind its meters and did not count silence. */
  readonly dropoutDeferred;
  private readonly accepted;
  private readonly duplicates;
  private readonly rejected;
  private readonly anomalies;
  private readonly published = { accepted: 0, duplicates: 0, rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<string, number>, anomalies: new Map<string, number>() };

  constructor(metrics: Metrics, views: { meters: () => number; forwarded: () => number }) {
    metrics.gauge('edge_meters', 'Meters the detector holds state for', [], function () {
      this.set(views.meters());
    });
    metrics.gauge('edge_forwarded_records', 'Records forwarded to Kafka since start', [], function () {
      this.set(views.forwarded());
    });
    this.dropoutDeferred = metrics.counter<'reason'>('edge_dropout_deferred_ticks_total', 'Dropout timer ticks at which silence was not counted because the gateway was behind its meters (edge/detect/hearing.ts), by reason', ['reason']);
    this.accepted = metrics.counter('edge_readings_accepted_total', 'Readings accepted and committed to the outbox');
    this.duplicates = metrics.counter('edge_readings_duplicate_total', 'Readings dropped as repeats of a seq already taken (QoS 1 redelivery)');
    this.rejected = metrics.counter<'reason'>('edge_readings_rejected_total', 'Messages or array elements rejected, by reason', ['reason']);
    this.anomalies = metrics.counter<'type' | 'state'>('edge_anomalies_total', 'Anomaly transitions detected, by type and state', ['type', 'state']);
    this.ackSeconds = metrics.histogram('edge_publish_to_commit_seconds', 'From a publish reaching the gateway to its commit (then the PUBACK)', LATENCY_BUCKETS_S);
  }

  /** Moves the intake's plain-number counts into the Prometheus counters (deltas since last time). */
  publish(k: IntakeCounts): void {
    const p = this.published;
    this.accepted.inc(k.accepted - p.accepted);
    p.accepted = k.accepted;
    this.duplicates.inc(k.duplicates - p.duplicates);
    p.duplicates = k.duplicates;
    for (const r of REJECT_REASONS) {
      const d = k.rejected[r] - (p.rejected[r] ?? 0);
      if (d > 0) this.rejected.inc({ reason: r }, d);
      p.rejected[r] = k.rejected[r];
    }
    for (const [key, n] of k.anomalies) {
      const d = n - (p.anomalies.get(key) ?? 0);
      if (d <= 0) continue;
      const [type, state] = key.split(':') as [string, string];
      this.anomalies.inc({ type, state }, d);
      p.anomalies.set(key, n);
    }
  }
}
