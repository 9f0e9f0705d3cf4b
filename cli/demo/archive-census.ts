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
}

/**
 * The (meterId, seq) pairs seen, as a bitmap per meter from its lowest seq. A Set of strings
 * stops at 2^24 entries (V8's limit: "Set maximum size exceeded"), which the hour-long soak's
 * 36 million readings passed after the flood, losing the run's report; a bit per seq is 450 bytes
 * a meter for an hour of one-second readings. A seq that is not a non-negative safe integer, or
 * one so far from the meter's others that its bitmap would pass 16 MiB, is kept as a string.
 */
export class ReadingIdentities {
  private readonly meters = new Map<string, { base: number; bits: Uint8Array }>();
  private readonly other = new Set<string>();
  size = 0;

  /** True when the pair was new. */
  add(meterId: string, seq: unknown): boolean {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return this.addOther(meterId, seq);
    let m = this.meters.get(meterId);
    if (!m) {
      m = { base: seq - (seq % 8), bits: new Uint8Array(64) };
      this.meters.set(meterId, m);
    }
    if (seq < m.base) {
      const shift = Math.ceil((m.base - seq) / 8);
      if (m.bits.length + shift > MAX_BITMAP_BYTES) return this.addOther(meterId, seq);
      const grown = new Uint8Array(m.bits.length + shift);
      grown.set(m.bits, shift);
      m.bits = grown;
      m.base -= shift * 8;
    }
    const i = seq - m.base;
    if (i >= m.bits.length * 8) {
      const need = Math.floor(i / 8) + 1;
      if (need > MAX_BITMAP_BYTES) return this.addOther(meterId, seq);
      const grown = new Uint8Array(Math.min(MAX_BITMAP_BYTES, Math.max(need, m.bits.length * 2)));
      grown.set(m.bits);
      m.bits = grown;
    }
    const byte = i >> 3;
    const bit = 1 << (i & 7);
    if ((m.bits[byte] as number) & bit) return false;
    m.bits[byte] = (m.bits[byte] as number) | bit;
    this.size++;
    return true;
  }

  private addOther(meterId: string, seq: unknown): boolean {
    const key = `${meterId}\u0000${String(seq)}`;
    if (this.other.has(key)) return false;
    this.other.add(key);
    this.size++;
    return true;
  }
}

const MAX_BITMAP_BYTES = 16 * 1048576;

export type ArchiveCensus = Record<'readings' | 'anomalies' | 'events', KindCensus>;

// Anomalies and events are few (thousands a run); readings go through ReadingIdentities.
const IDENTITY: Record<'anomalies' | 'events', (r: Record<string, unknown>) => string> = {
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
  for (const kind of ['readings', 'anomalies', 'events'] as const) {
    const c: KindCensus = { objects: 0, records: 0, distinct: 0, duplicates: 0 };
    const readings = new ReadingIdentities();
    const ids = new Set<string>();
    for (const key of keys.filter((k) => k.slice(0, k.indexOf('/')).endsWith(kind))) {
      const body = await sink.get(key);
      if (!body) continue;
      c.objects++;
      for (const line of gunzipSync(body).toString('utf8').split('\n')) {
        if (line === '') continue;
        c.records++;
        const r = JSON.parse(line) as Record<string, unknown>;
        if (kind === 'readings') {
          if (!readings.add(String(r.meterId), r.seq)) c.duplicates++;
          continue;
        }
        const id = IDENTITY[kind](r);
        if (ids.has(id)) c.duplicates++;
        else ids.add(id);
      }
    }
    c.distinct = kind === 'readings' ? readings.size : ids.size;
    out[kind] = c;
  }
  return out;
}
