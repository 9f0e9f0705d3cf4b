// The archive's Prometheus metrics, registered once per registry (several Archivers may share one).
import { LATENCY_BUCKETS_S, type Metrics } from '../../shared/index.ts';
import type { Counter, Gauge, Histogram } from 'prom-client';

export interface ArchiveMetrics {
  objects: Counter<'topic'>;
  bytes: Counter<'topic'>;
  records: Counter<'topic'>;
  duplicates: Counter<'topic'>;
  redelivered: Counter<'topic'>;
  failures: Counter<'topic'>;
  influxRejected: Counter<'topic'>;
  fenced: Counter<'topic'>;
  flushSeconds: Histogram<'topic'>;
  heldBytes: Gauge;
}

const cache = new WeakMap<Metrics, ArchiveMetrics>();

export function archiveMetrics(m: Metrics): ArchiveMetrics {
  let a = cache.get(m);
  if (a === undefined) {
    const t = ['topic'] as const;
    a = {
      objects: m.counter('archive_objects_total', 'Archive objects written', t),
      bytes: m.counter('archive_bytes_total', 'Compressed bytes of archive objects written', t),
      records: m.counter('archive_records_total', 'Records archived (after de-duplication)', t),
      duplicates: m.counter('archive_duplicates_total', 'Records dropped as duplicates within a flush', t),
      redelivered: m.counter('archive_redelivered_total', 'Re-delivered records dropped because the archive already holds them', t),
      failures: m.counter('archive_flush_failures_total', 'Archive flushes that failed (and will be retried with the same range)', t),
      influxRejected: m.counter('archive_influx_rejected_total', 'Flushes whose InfluxDB points were rejected as invalid (not retried)', t),
      fenced: m.counter('archive_fenced_total', 'Flush writes refused because this instance may have lost the partition (its group membership lapsed)', t),
      flushSeconds: m.histogram('archive_flush_seconds', 'Time to write one flush (marker, objects, points)', LATENCY_BUCKETS_S, t),
      heldBytes: m.gauge('archive_held_bytes', 'Bytes of records the archive holds in memory (buffered or in a flush not yet written), against GRIDWATCH_ARCHIVE_MAX_BUFFERED_BYTES'),
    };
    cache.set(m, a);
  }
  return a;
}
