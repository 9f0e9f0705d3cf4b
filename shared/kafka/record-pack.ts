// The records of one send, packed into one ArrayBuffer that moves to the producer thread without a
// copy (thread-producer.ts), and the errors that come back, as plain data that keeps what
// kafkaError and classifyKafkaRefusal read. Used on both sides of the thread; no library here.
//
// A record: u8 flags (1 key, 2 partition), [i32 partition], [u32 key length, key], u32 value
// length, value, u16 header count, per header u16 name length, name, u32 value length, value.
// Little endian. The topics go beside the buffer as [topic, record count] pairs, in order.
import { errorTree } from './errors.ts';
import type { PlatformaticMessage } from './platformatic-producer.ts';
import type { TopicRecords } from './producer.ts';

export interface PackedBatch {
  /** [topic, number of records] in the order the records are packed. */
  topics: [string, number][];
  buffer: ArrayBuffer;
  length: number;
}

class Writer {
  buf: Buffer;
  off = 0;
  constructor(size: number) {
    // Not from the pool: its ArrayBuffer is this batch's alone, so it can be transferred.
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.off++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.off);
    this.off += 2;
  }
  i32(v: number): void {
    this.room(4);
    this.buf.writeInt32LE(v, this.off);
    this.off += 4;
  }
  /** A length (u16 or u32) and the bytes of a string or Buffer. */
  bytes(v: string | Buffer, wide: boolean): void {
    const head = wide ? 4 : 2;
    if (typeof v === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.room(head + v.length * 3);
      const n = this.buf.write(v, this.off + head, 'utf8');
      if (wide) this.buf.writeUInt32LE(n, this.off);
      else this.buf.writeUInt16LE(n, this.off);
      this.off += head + n;
    } else {
      this.room(head + v.length);
      if (wide) this.buf.writeUInt32LE(v.length, this.off);
      else this.buf.writeUInt16LE(v.length, this.off);
      v.copy(this.buf, this.off + head);
      this.off += head + v.length;
    }
  }
}

export function packBatch(batch: TopicRecords[]): PackedBatch {
  let estimate = 0;
  for (const { records } of batch) for (const r of records) estimate += 64 + (typeof r.value === 'string' ? r.value.length : r.value.length);
  const w = new Writer(Math.max(1024, Math.ceil(estimate * 1.1)));
  const topics: [string, number][] = [];
  for (const { topic, records } of batch) {
    if (records.length === 0) continue;
    topics.push([topic, records.length]);
    for (const r of records) {
      w.u8((r.key !== null ? 1 : 0) | (r.partition !== undefined ? 2 : 0));
      if (r.partition !== undefined) w.i32(r.partition);
      if (r.key !== null) w.bytes(r.key, true);
      w.bytes(r.value, true);
      const headers = r.headers === undefined ? [] : Object.entries(r.headers);
      w.u16(headers.length);
      for (const [k, v] of headers) {
        w.bytes(k, false);
        w.bytes(v, true);
      }
    }
  }
  return { topics, buffer: w.buf.buffer as ArrayBuffer, length: w.off };
}

/** The records as @platformatic/kafka takes them, each field a view of the packed buffer (no copy). */
export function unpackBatch(p: PackedBatch): PlatformaticMessage[] {
  const buf = Buffer.from(p.buffer, 0, p.length);
  let off = 0;
  const take = (wide: boolean): Buffer => {
    const n = wide ? buf.readUInt32LE(off) : buf.readUInt16LE(off);
    off += wide ? 4 : 2;
    const b = buf.subarray(off, off + n);
    off += n;
    return b;
  };
  const out: PlatformaticMessage[] = [];
  for (const [topic, count] of p.topics) {
    for (let i = 0; i < count; i++) {
      const flags = buf[off++]!;
      let partition: number | undefined;
      if (flags & 2) {
        partition = buf.readInt32LE(off);
        off += 4;
      }
      const key = flags & 1 ? take(true) : undefined;
      const m: PlatformaticMessage = { topic, value: take(true) };
      if (key !== undefined) m.key = key;
      if (partition !== undefined) m.partition = partition;
      const headers = buf.readUInt16LE(off);
      off += 2;
      if (headers > 0) {
        const h = new Map<Buffer, Buffer>();
        for (let j = 0; j < headers; j++) h.set(take(false), take(true));
        m.headers = h;
      }
      out.push(m);
    }
  }
  if (off !== p.length) throw new Error(`packed batch: read ${off} of ${p.length} bytes`);
  return out;
}

/** One node of an error tree, as plain data. */
export interface ErrorNode {
  name: string;
  message: string;
  /** Only the fields the classifiers read (shared/kafka/errors.ts, security.ts). */
  fields: Record<string, string | number | boolean>;
  /** It had `errors` (an AggregateError): causeText skips such nodes. */
  aggregate: boolean;
}

const FIELDS = ['code', 'canRetry', 'apiId', 'type', 'broker', 'host', 'port', 'retriable'] as const;

/** The whole tree (errorTree's walk, at most 50 nodes) as data that a postMessage keeps. */
export function errorToData(err: unknown): ErrorNode[] {
  return errorTree(err).map((e) => {
    const fields: Record<string, string | number | boolean> = {};
    for (const f of FIELDS) {
      const v = e[f];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[f] = v;
    }
    return { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(e), fields, aggregate: Array.isArray(e.errors) };
  });
}

/**
 * An error the classifiers read as they would the original: the first node with the others in
 * its `errors` (errorTree walks them), the aggregate ones keeping an empty `errors` of their own.
 * A thread-side error that is not an object comes back as a bare node; none is an empty Error.
 */
export function errorFromData(nodes: ErrorNode[]): Error {
  const make = (n: ErrorNode): Error => {
    const e: Error & { errors?: Error[] } = Object.assign(new Error(n.message), n.fields);
    e.name = n.name;
    if (n.aggregate) e.errors = [];
    return e;
  };
  if (nodes.length === 0) return new Error('producer thread: an error without detail');
  const [first, ...rest] = nodes;
  const root: Error & { errors?: Error[] } = make(first!);
  if (rest.length > 0) root.errors = rest.map(make);
  return root;
}
