// The two replay targets: InfluxDB (the archive's own writer, so points and feeder aggregates are
// exactly what the archiver writes) and a Kafka topic (the records as archived, with their
// original keys and identities). Records that are not valid v1 records are not replayed: they
// were archived as consumed (`_unparsed` included) and are counted as skipped.
import { validators, type Anomaly, type ForwardedReading, type GridEvent, type Logger } from '../../shared/index.ts';
import { createInfluxWriter, type InfluxWriterOptions } from '../archive/index.ts';
import type { ProducerPort } from '../publish/producer.ts';
import type { ReplayBatch, ReplayTarget } from './replay.ts';

export interface CountingTarget extends ReplayTarget {
  skipped: number;
}

function valid(b: ReplayBatch): { readings: ForwardedReading[]; anomalies: Anomaly[]; events: GridEvent[]; skipped: number } {
  const out = { readings: [] as ForwardedReading[], anomalies: [] as Anomaly[], events: [] as GridEvent[], skipped: 0 };
  for (const v of b.values) {
    if (b.kind === 'readings' && validators.forwardedReading.check(v)) out.readings.push(v);
    else if (b.kind === 'anomalies' && validators.anomaly.check(v)) out.anomalies.push(v);
    else if (b.kind === 'events' && validators.gridEvent.check(v)) out.events.push(v);
    else out.skipped++;
  }
  return out;
}

export function influxTarget(o: Omit<InfluxWriterOptions, 'logger'> & { logger: Logger }): CountingTarget {
  const w = createInfluxWriter(o);
  const t: CountingTarget = {
    skipped: 0,
    describe: () => `influx:${o.url}/${o.bucket}`,
    write(b) {
      const v = valid(b);
      t.skipped += v.skipped;
      // The provenance lets the writer recognise a flush it already folded into an aggregate.
      if (v.readings.length > 0) w.writeReadings(v.readings, { partition: b.partition, firstOffset: b.first, lastOffset: b.last });
      if (v.anomalies.length > 0) w.writeAnomalies(v.anomalies);
      if (v.events.length > 0) w.writeEvents(v.events);
    },
    flush: () => w.flush(),
    close: () => w.close(),
  };
  return t;
}

const keyOf = (kind: ReplayBatch['kind'], v: Record<string, unknown>): string => {
  if (kind === 'readings') return String(v.meterId);
  const sub = v.substationId;
  return typeof sub === 'string' ? sub : kind === 'events' ? 'grid' : 'none';
};

/** Records are sent with the keys the edge and central give them, so they land where the originals did; an object goes in one request of up to `chunk` records (a round trip per 1,000 held the rate to the broker's latency). */
export function kafkaTarget(producer: ProducerPort, topic: string, describe: string, chunk = 10_000): CountingTarget {
  let connected = false;
  const t: CountingTarget = {
    skipped: 0,
    describe: () => describe,
    async write(b) {
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      const v = valid(b);
      t.skipped += v.skipped;
      const values: Record<string, unknown>[] = b.kind === 'readings' ? v.readings : b.kind === 'anomalies' ? v.anomalies : v.events;
      for (let i = 0; i < values.length; i += chunk) {
        await producer.send([{ topic, records: values.slice(i, i + chunk).map((x) => ({ key: keyOf(b.kind, x), value: JSON.stringify(x) })) }]);
      }
    },
    // Every send above resolved only once acknowledged by all in-sync replicas.
    flush: async () => undefined,
    close: async () => {
      if (connected) await producer.disconnect();
    },
  };
  return t;
}
