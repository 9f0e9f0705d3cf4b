/**
 * The compact binary encoding of `grid.readings` (issue 12, bytes on the WAN): Avro's single-object
 * encoding (https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding): the
 * marker C3 01, the schema's CRC-64-AVRO fingerprint (8 bytes, little endian) and the Avro binary
 * of one record. No registry server: the fingerprint names the schema, published as
 * contracts/v1/forwarded-reading.avsc (`npm run contracts:generate`), and a reader meeting a
 * fingerprint it does not know says so (UnknownEncoding) instead of guessing.
 *
 * Lossless against the JSON ForwardedReading:
 * - measurements are a union of a scaled integer and a double: 231.56 V travels as the long 23156
 *   (centivolts) when 23156 / 100 gives back exactly 231.56, else as the double itself;
 * - `readingId` is null when it is `${meterId}:${seq}` (what the edge writes for every reading with
 *   a seq), and the string otherwise;
 * - `receivedAt` travels as `receivedAfterMs` = receivedAt - ts (a small varint);
 * - fields the schema does not name (a sender's extras, kept by the JSON contract) travel as one
 *   JSON object text in `extra`.
 */
import avro from 'avsc';

const MEASURES = [
  ['voltage', 100],
  ['current', 1000],
  ['power', 1000],
  ['reactivePower', 1000],
  ['powerFactor', 1000],
  ['frequency', 1000],
  ['energy', 1000],
] as const;
const KNOWN = new Set(['meterId', 'ts', 'seq', 'readingId', 'edgeId', 'substationId', 'feederId', 'transformerId', 'receivedAt', 'flags', ...MEASURES.map(([n]) => n)]);

/** The Avro schema (record gridwatch.v1.ForwardedReading), as published in contracts/v1. */
export const FORWARDED_READING_AVRO_SCHEMA = {
  type: 'record',
  name: 'ForwardedReading',
  namespace: 'gridwatch.v1',
  doc: 'grid.readings value, Avro single-object encoding; see contracts/README.md "Binary encoding of grid.readings"',
  fields: [
    { name: 'meterId', type: 'string' },
    { name: 'ts', type: 'long', doc: 'epoch ms' },
    { name: 'seq', type: ['null', 'long'], default: null },
    ...MEASURES.map(([name, scale]) => ({
      name,
      type: name === 'voltage' ? ['long', 'double'] : ['null', 'long', 'double'],
      ...(name === 'voltage' ? {} : { default: null }),
      doc: `long: the value x ${scale} (exact); double: the value itself`,
    })),
    { name: 'readingId', type: ['null', 'string'], default: null, doc: 'null: meterId + ":" + seq' },
    { name: 'edgeId', type: 'string' },
    { name: 'substationId', type: ['null', 'string'], default: null },
    { name: 'feederId', type: ['null', 'string'], default: null },
    { name: 'transformerId', type: ['null', 'string'], default: null },
    { name: 'receivedAfterMs', type: 'long', doc: 'receivedAt - ts' },
    { name: 'flags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'extra', type: ['null', 'string'], default: null, doc: 'fields not named here, as one JSON object' },
  ],
} as const;

const type = avro.Type.forSchema(FORWARDED_READING_AVRO_SCHEMA as unknown as avro.Schema, { wrapUnions: true });

/** CRC-64-AVRO (Rabin) of a schema's Parsing Canonical Form, as the Avro specification defines it. */
export function avroFingerprint(canonical: string): Buffer {
  const EMPTY = 0xc15d213aa4d7a795n;
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    table.push(fp);
  }
  let fp = EMPTY;
  for (const b of Buffer.from(canonical, 'utf8')) fp = (fp >> 8n) ^ table[Number((fp ^ BigInt(b)) & 0xffn)]!;
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}

/** Parsing Canonical Form of the schema (avsc: schema() without attributes). */
export const FORWARDED_READING_AVRO_CANONICAL = JSON.stringify(type.schema());
export const FORWARDED_READING_AVRO_FINGERPRINT = avroFingerprint(FORWARDED_READING_AVRO_CANONICAL);
const HEADER = Buffer.concat([Buffer.from([0xc3, 0x01]), FORWARDED_READING_AVRO_FINGERPRINT]);

type Branch = { long: number } | { double: number } | null;
function measure(v: unknown, scale: number): Branch {
  if (typeof v !== 'number') return null;
  const n = Math.round(v * scale);
  return Number.isSafeInteger(n) && n / scale === v ? { long: n } : { double: v };
}

/** A ForwardedReading (the JSON contract's object) to its single-object encoding. */
export function encodeForwardedReading(r: Record<string, unknown>): Buffer {
  return Buffer.concat([HEADER, type.toBuffer(toAvroRecord(r))]);
}

/** A ForwardedReading to the Avro record of the schema (unions wrapped), also an item of the batch schema. */
export function toAvroRecord(r: Record<string, unknown>): Record<string, unknown> {
  const meterId = r.meterId as string;
  const ts = r.ts as number;
  const seq = typeof r.seq === 'number' ? r.seq : null;
  let extra: Record<string, unknown> | null = null;
  for (const k in r) if (!KNOWN.has(k)) (extra ??= {})[k] = r[k];
  const rec: Record<string, unknown> = {
    meterId,
    ts,
    seq: seq === null ? null : { long: seq },
    readingId: seq !== null && r.readingId === `${meterId}:${seq}` ? null : { string: String(r.readingId) },
    edgeId: r.edgeId,
    substationId: r.substationId == null ? null : { string: r.substationId },
    feederId: r.feederId == null ? null : { string: r.feederId },
    transformerId: r.transformerId == null ? null : { string: r.transformerId },
    receivedAfterMs: (r.receivedAt as number) - ts,
    flags: Array.isArray(r.flags) ? r.flags : [],
    extra: extra === null ? null : { string: JSON.stringify(extra) },
  };
  for (const [name, scale] of MEASURES) rec[name] = measure(r[name], scale);
  return rec;
}

/** A value whose first bytes say "Avro single object" with a schema this build does not know. */
export class UnknownEncoding extends Error {
  constructor(readonly fingerprint: string) {
    super(`record value in Avro single-object encoding with schema fingerprint ${fingerprint}, which this reader does not know (it knows ${FORWARDED_READING_AVRO_FINGERPRINT.toString('hex')}: gridwatch.v1.ForwardedReading, and ${FORWARDED_READING_BATCH_AVRO_FINGERPRINT.toString("hex")}: gridwatch.v1.ForwardedReadingBatch)`);
    this.name = 'UnknownEncoding';
  }
}

/** True when the value starts with the single-object marker C3 01 (JSON text never does). */
export function isAvroSingleObject(b: Uint8Array): boolean {
  return b.length >= 10 && b[0] === 0xc3 && b[1] === 0x01;
}

/** Decodes a single-object value back to the JSON contract's ForwardedReading; UnknownEncoding for another schema. */
export function decodeForwardedReading(b: Buffer): Record<string, unknown> {
  if (!isAvroSingleObject(b)) throw new UnknownEncoding('none (no single-object marker)');
  if (!b.subarray(2, 10).equals(FORWARDED_READING_AVRO_FINGERPRINT)) throw new UnknownEncoding(b.subarray(2, 10).toString('hex'));
  return fromAvroRecord(type.fromBuffer(b.subarray(10)) as Record<string, unknown>);
}

/** The Avro record of the schema back to the JSON contract's ForwardedReading. */
export function fromAvroRecord(rec: Record<string, unknown>): Record<string, unknown> {
  const un = (v: unknown) => (v === null ? null : (Object.values(v as object)[0] as unknown));
  const meterId = rec.meterId as string;
  const ts = rec.ts as number;
  const seq = un(rec.seq) as number | null;
  const out: Record<string, unknown> = { meterId, ts };
  if (seq !== null) out.seq = seq;
  for (const [name, scale] of MEASURES) {
    const v = rec[name] as Branch;
    if (v === null) continue;
    out[name] = 'long' in v ? v.long / scale : v.double;
  }
  const id = un(rec.readingId);
  out.readingId = id === null ? `${meterId}:${seq}` : id;
  out.edgeId = rec.edgeId;
  out.substationId = un(rec.substationId);
  out.feederId = un(rec.feederId);
  out.transformerId = un(rec.transformerId);
  out.receivedAt = ts + (rec.receivedAfterMs as number);
  if ((rec.flags as string[]).length > 0) out.flags = rec.flags;
  const extra = un(rec.extra) as string | null;
  if (extra !== null) Object.assign(out, JSON.parse(extra) as object);
  return out;
}

/**
 * Several readings in one grid.readings record (the edge's GRIDWATCH_READINGS_PER_RECORD > 1):
 * the record `gridwatch.v1.ForwardedReadingBatch` = an array of ForwardedReading, in the order the
 * edge committed them, in the same single-object encoding under its own fingerprint
 * (contracts/v1/forwarded-reading-batch.avsc; contracts/README.md "Several readings per record").
 */
export const FORWARDED_READING_BATCH_AVRO_SCHEMA = {
  type: 'record',
  name: 'ForwardedReadingBatch',
  namespace: 'gridwatch.v1',
  doc: 'grid.readings value holding several readings of one partition, in commit order; see contracts/README.md "Several readings per record"',
  fields: [{ name: 'readings', type: { type: 'array', items: FORWARDED_READING_AVRO_SCHEMA } }],
} as const;

const batchType = avro.Type.forSchema(FORWARDED_READING_BATCH_AVRO_SCHEMA as unknown as avro.Schema, { wrapUnions: true });
export const FORWARDED_READING_BATCH_AVRO_CANONICAL = JSON.stringify(batchType.schema());
export const FORWARDED_READING_BATCH_AVRO_FINGERPRINT = avroFingerprint(FORWARDED_READING_BATCH_AVRO_CANONICAL);
const BATCH_HEADER = Buffer.concat([Buffer.from([0xc3, 0x01]), FORWARDED_READING_BATCH_AVRO_FINGERPRINT]);

/** ForwardedReadings (the JSON contract's objects, in order) to one batch value. */
export function encodeForwardedReadingBatch(readings: Record<string, unknown>[]): Buffer {
  return Buffer.concat([BATCH_HEADER, batchType.toBuffer({ readings: readings.map(toAvroRecord) })]);
}

/** True for a single-object value of the batch schema. */
export function isAvroReadingBatch(b: Buffer): boolean {
  return isAvroSingleObject(b) && b.subarray(2, 10).equals(FORWARDED_READING_BATCH_AVRO_FINGERPRINT);
}

/** A single-object value of either known schema to its readings (one for a single reading); UnknownEncoding for another schema. */
export function decodeForwardedReadings(b: Buffer): Record<string, unknown>[] {
  if (isAvroReadingBatch(b)) {
    const rec = batchType.fromBuffer(b.subarray(10)) as { readings: Record<string, unknown>[] };
    return rec.readings.map(fromAvroRecord);
  }
  return [decodeForwardedReading(b)];
}

/** The contract header of a grid.readings record holding several readings (JSON lines or the Avro batch). */
export const READINGS_BATCH_CONTRACT = 'forwarded-reading-batch/v1';
