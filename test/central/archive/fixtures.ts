// Test data for the archive: readings, anomalies and grid events as Kafka batches, and helpers to
// read every record back out of a sink.
import { gunzipSync } from 'node:zlib';
import type { Anomaly, ForwardedReading, GridEvent } from '../../../shared/index.ts';
import type { ArchiveBatch, ArchiveSink } from '../../../central/archive/index.ts';

export const T0 = Date.UTC(2026, 10, 23, 5, 58, 0);

export function reading(i: number, opts: { stepMs?: number; t0?: number } = {}): ForwardedReading {
  const meterId = `m-${i % 40}`;
  const substationId = i % 3 === 0 ? 'S01' : 'S02';
  return {
    meterId,
    seq: i,
    ts: (opts.t0 ?? T0) + i * (opts.stepMs ?? 1000),
    voltage: 225 + (i % 11),
    power: 1 + (i % 5) / 2,
    readingId: `${meterId}:${i}`,
    edgeId: `edge-${substationId}`,
    substationId,
    feederId: `${substationId}-F${i % 2}`,
    transformerId: `${substationId}-T${i % 4}`,
    receivedAt: (opts.t0 ?? T0) + i * (opts.stepMs ?? 1000) + 50,
  };
}

export function anomaly(i: number, state: 'open' | 'closed' = 'open'): Anomaly {
  return {
    anomalyId: `a-${i}`,
    edgeId: 'edge-S01',
    meterId: `m-${i}`,
    substationId: 'S01',
    feederId: `S01-F${i % 2}`,
    transformerId: 'S01-T1',
    type: 'sag',
    channel: 'voltage',
    state,
    severity: 'minor',
    startTs: T0 + 1000,
    endTs: state === 'closed' ? T0 + 181_000 : null,
    observed: 190 + i,
    baseline: 230,
    durationMs: state === 'closed' ? 180_000 : null,
    detectedAt: T0 + 1100,
  };
}

export function gridEvent(i: number, version: number, affectedCount: number): GridEvent {
  return {
    eventId: `ev-${i}`,
    scope: 'feeder',
    rootId: `S01-F${i}`,
    substationId: 'S01',
    type: 'outage',
    severity: 'major',
    state: 'open',
    affectedMeters: [],
    affectedCount,
    startTs: T0 + 5000,
    endTs: null,
    updatedAt: T0 + 5000 + version * 1000,
    version,
  };
}

/** Kafka-style batch of `values` starting at `firstOffset`. */
export function batch(topic: string, partition: number, firstOffset: number, values: unknown[]): ArchiveBatch {
  return {
    topic,
    partition,
    messages: values.map((v, j) => ({ offset: String(firstOffset + j), timestamp: String(T0), key: null, value: JSON.stringify(v) })),
  };
}

/** Every line of every data object under `prefix` (markers excluded), with the key it came from. */
export async function readBack(sink: ArchiveSink, prefix = ''): Promise<{ key: string; record: Record<string, unknown> }[]> {
  const out: { key: string; record: Record<string, unknown> }[] = [];
  for (const key of await sink.list(prefix)) {
    if (key.startsWith('_progress/')) continue;
    const body = await sink.get(key);
    if (body === null) throw new Error(`listed but missing: ${key}`);
    for (const line of gunzipSync(body).toString('utf8').split('\n')) if (line !== '') out.push({ key, record: JSON.parse(line) as Record<string, unknown> });
  }
  return out;
}
