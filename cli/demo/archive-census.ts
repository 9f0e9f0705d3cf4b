// Reads a run's archive back (MinIO or the local directory) and counts what it holds: records per
// kind, distinct identities, and duplicates. The demo prints it; the end-to-end test asserts on it.
import { gunzipSync } from 'node:zlib';
import { createSink } from '../../central/archive/sink.ts';
import type { ServiceEndpoints } from '../../deploy/services/index.ts';

export interface KindCensus {
  objects: number;
  records: number;
  /** Distinct identities: readings (meterId, seq), anomalies (anomalyId, state), events (eventId, version). */
  distinct: number;
  duplicates: number;
  /** Identities seen, for callers that compare with another source. */
  ids: Set<string>;
}

export type ArchiveCensus = Record<'readings' | 'anomalies' | 'events', KindCensus>;

const IDENTITY: Record<keyof ArchiveCensus, (r: Record<string, unknown>) => string> = {
  readings: (r) => `${String(r.meterId)}\u0000${String(r.seq)}`,
  anomalies: (r) => `${String(r.anomalyId)}\u0000${String(r.state)}`,
  events: (r) => `${String(r.eventId)}\u0000${String(r.version)}`,
};

export async function archiveCensus(archive: { kind: 's3'; bucket: string } | { kind: 'dir'; dir: string }, s3: ServiceEndpoints['s3'] | null): Promise<ArchiveCensus> {
  const sink =
    archive.kind === 's3'
      ? createSink({ s3: { endPoint: s3!.endPoint, port: s3!.port, useSSL: s3!.useSSL, accessKey: s3!.accessKey, secretKey: s3!.secretKey, bucket: archive.bucket } })
      : createSink({ dir: archive.dir });
  const out = {} as ArchiveCensus;
  // The first key segment is `readings` for grid.readings, the topic name for other names
  // (a demo's `demo-<run>.grid.readings`): classify by its ending.
  const keys = (await sink.list('')).filter((k) => !k.startsWith('_'));
  for (const kind of Object.keys(IDENTITY) as (keyof ArchiveCensus)[]) {
    const c: KindCensus = { objects: 0, records: 0, distinct: 0, duplicates: 0, ids: new Set() };
    for (const key of keys.filter((k) => k.slice(0, k.indexOf('/')).endsWith(kind))) {
      const body = await sink.get(key);
      if (!body) continue;
      c.objects++;
      for (const line of gunzipSync(body).toString('utf8').split('\n')) {
        if (line === '') continue;
        c.records++;
        const id = IDENTITY[kind](JSON.parse(line) as Record<string, unknown>);
        if (c.ids.has(id)) c.duplicates++;
        else c.ids.add(id);
      }
    }
    c.distinct = c.ids.size;
    out[kind] = c;
  }
  return out;
}
