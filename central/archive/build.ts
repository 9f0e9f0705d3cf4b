// Pure: one flush's work from raw record values to what the Archiver writes. It runs in the
// archive's worker thread (build-worker.ts), so that parsing, de-duplication, grouping and gzip
// are off the consumer's thread, and every record is parsed exactly once here. The request and the
// result are plain data (structured-clone and transfer friendly); the same input always gives the
// same objects, so a replayed flush writes the same bytes.
import type { Anomaly, ForwardedReading, GridEvent } from '../../shared/index.ts';
import { foldReadings, type FeederMinute } from './aggregate.ts';
import { buildObjects, dedupe, parseCanonicalReading, parseMessage, type ArchiveKind, type ArchiveObject } from './layout.ts';
import { SeenIndex, type SeenJson } from './seen.ts';

/** One flush's records packed for a worker: the values laid end to end in one buffer. */
export interface BuildRequest {
  topic: string;
  partition: number;
  kind: ArchiveKind | null;
  /**
   * Offsets and Kafka timestamps (ms), in offset order: typed arrays, transferred with the values,
   * so a flush of 50,000 records is not 100,000 strings made, cloned and read again.
   */
  offsets: BigInt64Array;
  timestamps: Float64Array;
  /** Byte length of each value in `values`. */
  lengths: Uint32Array;
  values: Uint8Array;
  /** The partition's identity index before this flush. */
  seen: SeenJson;
  /** For InfluxDB: nothing, readings folded into feeder minutes, or the parsed values kept. */
  influx: 'none' | 'fold' | 'values';
}

export interface BuildResult {
  first: string;
  last: string;
  objects: ArchiveObject[];
  kept: number;
  duplicates: number;
  seenAfter: SeenJson;
  /** Readings folded per feeder and minute (readings topics with InfluxDB on). */
  feederMinutes: FeederMinute[] | null;
  /** The parsed records kept (anomalies and grid events for their points; readings for a writer that folds them itself). */
  values: (Anomaly | GridEvent | ForwardedReading)[] | null;
}

export function buildFlush(req: BuildRequest): BuildResult {
  const { topic, partition, kind } = req;
  const buf = Buffer.from(req.values.buffer, req.values.byteOffset, req.values.byteLength);
  const records: ReturnType<typeof parseMessage>[] = [];
  const fast = kind === 'readings' && req.influx !== 'values';
  const one = (v: { offset: string; timestamp: string; value: string }, raw?: Uint8Array): ReturnType<typeof parseMessage> => (fast ? parseCanonicalReading(v, raw) : null) ?? parseMessage(topic, v, kind);
  let at = 0;
  for (let i = 0; i < req.offsets.length; i++) {
    const len = req.lengths[i] as number;
    const value = buf.toString('utf8', at, at + len);
    const m = { offset: (req.offsets[i] as bigint).toString(), timestamp: String(req.timestamps[i]), value };
    // A grid.readings record of several readings (forwarded-reading-batch/v1) comes as JSON lines
    // (central/flows/records.ts): one archive line per reading, each with the record's offset.
    // A canonical reading skips the parse and the re-serialisation (scan.ts), and its line is
    // written from its bytes (layout.ts jsonl); the values of a writer that takes whole readings
    // (influx 'values') need the parse.
    if (kind === 'readings' && value.includes('\n')) for (const line of value.split('\n')) records.push(one({ ...m, value: line }));
    else records.push(one(m, buf.subarray(at, at + len)));
    at += len;
  }
  const seen = SeenIndex.fromJson(req.seen);
  // Repeats are dropped within the flush and against what earlier flushes archived (the index).
  const { kept, duplicates } = dedupe(records, { has: (r) => seen.has(r, kind) });
  for (const r of kept) seen.add(r, kind);
  const first = req.offsets[0] as bigint;
  const last = req.offsets[req.offsets.length - 1] as bigint;
  const parsed = kept.map((r) => r.value).filter((v): v is Record<string, unknown> => v !== null);
  let feederMinutes: FeederMinute[] | null = null;
  let values: BuildResult['values'] = null;
  if (req.influx !== 'none' && parsed.length > 0) {
    if (kind === 'readings' && req.influx === 'fold') feederMinutes = [...foldReadings(parsed as never, String(partition)).values()];
    else if (kind !== null) values = parsed as unknown as NonNullable<BuildResult['values']>;
  }
  return {
    first: first.toString(),
    last: last.toString(),
    objects: buildObjects(topic, partition, first, last, kept),
    kept: kept.length,
    duplicates,
    seenAfter: seen.toJson(),
    feederMinutes,
    values,
  };
}

type PackBase = Omit<BuildRequest, 'offsets' | 'timestamps' | 'lengths' | 'values'>;
type PackRecord = { offset: bigint; timestamp: string; value: Buffer };

/** Records packed per turn of the event loop by packRequestSliced (~1-2 ms of copying each). */
export const PACK_SLICE = 4096;

/** The one packing loop: yields after every `slice` records copied, returns the request. */
function* packSteps(base: PackBase, records: PackRecord[], slice: number): Generator<void, BuildRequest> {
  const n = records.length;
  const lengths = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    lengths[i] = records[i]!.value.length;
    total += lengths[i]!;
  }
  const values = new Uint8Array(total);
  const offsets = new BigInt64Array(n);
  const timestamps = new Float64Array(n);
  let at = 0;
  for (let from = 0; from < n; from += slice) {
    if (from > 0) yield;
    const to = Math.min(n, from + slice);
    for (let i = from; i < to; i++) {
      const r = records[i]!;
      values.set(r.value, at);
      at += r.value.length;
      offsets[i] = r.offset;
      timestamps[i] = Number(r.timestamp);
    }
  }
  return { ...base, offsets, timestamps, lengths, values };
}

/** Packs records (values as Buffers or strings) into a request, in one pass. */
export function packRequest(base: PackBase, records: PackRecord[]): BuildRequest {
  const steps = packSteps(base, records, Math.max(1, records.length));
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

/**
 * packRequest in slices of `slice` records with the event loop free between them: a flush is up
 * to 50,000 records (~12 MB copied), and one pass on the consumer's thread held an anomaly's batch
 * behind it (central/README.md, "Where the rest of central's tail goes"). Same result.
 */
export async function packRequestSliced(base: PackBase, records: PackRecord[], slice = PACK_SLICE): Promise<BuildRequest> {
  const steps = packSteps(base, records, slice);
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
    await new Promise<void>((r) => setImmediate(r));
  }
}
