// Pure: how records become archive objects. Keys are Hive-style and partitioned by the records'
// EVENT time; the bytes depend only on the records and the offset range, never on the wall clock,
// so the same flush always yields the same keys and the same bytes.
import { gzipSync } from 'node:zlib';
import { TOPICS } from '../../shared/index.ts';
import { scanCanonicalReading } from './scan.ts';

/** A Kafka message parsed just enough to be archived. */
export interface ArchiveRecord {
  offset: bigint;
  /** Identity for de-duplication (readingId, anomalyId|state, eventId|version), null if none. */
  identity: string | null;
  /** Event time, epoch ms (the record's own time; the Kafka timestamp only as a fallback). */
  eventTs: number;
  substation: string;
  /**
   * The parsed value, or null when the value was not a JSON object; for a reading taken by
   * `parseCanonicalReading`, only the members a flush reads (readingId, ts, substationId,
   * feederId, voltage, power).
   */
  value: Record<string, unknown> | null;
  /** The JSONL line (no newline); '' when `raw` holds it. */
  line: string;
  /**
   * A canonical reading's value bytes (ASCII, so they are its text's UTF-8): the line is these
   * bytes without their closing `}`, then `,"_offset":"<rawOffset>"}`, written straight into the
   * object's body (no line string, no joined text encoded again: the build thread's hot path).
   */
  raw?: Uint8Array;
  rawOffset?: string;
}

export interface ArchiveObject {
  key: string;
  body: Buffer;
  records: number;
}

/** What a topic holds, which decides a record's event time, identity and InfluxDB points. */
export type ArchiveKind = 'readings' | 'anomalies' | 'events';

/** The v1 topic names; a deployment with other names passes its own map to the Archiver. */
export const DEFAULT_TOPIC_KINDS: Readonly<Record<string, ArchiveKind>> = Object.freeze({
  [TOPICS.readings]: 'readings',
  [TOPICS.anomalies]: 'anomalies',
  [TOPICS.events]: 'events',
});

const PREFIX_BY_TOPIC: Record<string, string> = {
  [TOPICS.readings]: 'readings',
  [TOPICS.anomalies]: 'anomalies',
  [TOPICS.events]: 'events',
};

/** Key prefix for a topic: readings/anomalies/events for the v1 topics, else the topic minus `grid.`. */
export function topicPrefix(topic: string): string {
  return PREFIX_BY_TOPIC[topic] ?? safeSegment(topic.replace(/^grid\./, ''));
}

/** Keeps a key segment to characters that are safe in S3 keys and file names alike. */
export function safeSegment(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 64);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

/** Offsets are zero-padded so that keys sort in offset order. */
export function padOffset(o: bigint): string {
  return o.toString().padStart(20, '0');
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Which time a record is filed under: when the thing it describes happened. */
function eventTimeOf(kind: ArchiveKind | null, v: Record<string, unknown>): number | null {
  switch (kind) {
    case 'readings':
      return num(v.ts);
    case 'anomalies':
      // An anomaly opens at startTs and closes at endTs: each record is filed when it happened.
      return v.state === 'closed' ? (num(v.endTs) ?? num(v.startTs)) : num(v.startTs);
    case 'events':
      // Every version of a grid event is a record of the event's state at updatedAt.
      return num(v.updatedAt) ?? num(v.startTs);
    default:
      return num(v.ts) ?? num(v.startTs);
  }
}

function identityOf(kind: ArchiveKind | null, v: Record<string, unknown>): string | null {
  switch (kind) {
    case 'readings':
      return str(v.readingId);
    case 'anomalies': {
      const id = str(v.anomalyId);
      return id === null ? null : `${id}|${String(v.state)}`;
    }
    case 'events': {
      const id = str(v.eventId);
      return id === null ? null : `${id}|${String(v.version)}`;
    }
    default:
      return null;
  }
}

/**
 * Parses one message. Never throws: a value that is not a JSON object is still archived (as
 * `{"_unparsed": "<value>"}`, filed under substation `_unknown` at the Kafka timestamp), because
 * the archive keeps every record and silence must not be confused with loss.
 */
export function parseMessage(topic: string, m: { offset: string; timestamp: string; value: string }, kind: ArchiveKind | null = DEFAULT_TOPIC_KINDS[topic] ?? null): ArchiveRecord {
  const offset = BigInt(m.offset);
  const kafkaTs = Number(m.timestamp);
  const fallbackTs = Number.isFinite(kafkaTs) && kafkaTs >= 0 ? kafkaTs : 0;
  let value: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(m.value);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) value = parsed as Record<string, unknown>;
  } catch {
    value = null;
  }
  if (value === null) {
    return { offset, identity: null, eventTs: fallbackTs, substation: '_unknown', value: null, line: JSON.stringify({ _unparsed: m.value, _offset: m.offset }) };
  }
  const sub = str(value.substationId);
  return {
    offset,
    identity: identityOf(kind, value),
    eventTs: eventTimeOf(kind, value) ?? fallbackTs,
    substation: sub === null ? '_none' : safeSegment(sub),
    value,
    // The Kafka offset goes with the record so that any reader can prove exactly-once.
    line: withOffset(value, m.offset),
  };
}

/**
 * A reading whose text is canonical JSON (scan.ts) without parsing it into an object or writing it
 * again: the same record as parseMessage gives, its line the text with the offset appended; null
 * for any other text (parseMessage then).
 */
export function parseCanonicalReading(m: { offset: string; timestamp: string; value: string }, raw?: Uint8Array): ArchiveRecord | null {
  const f = scanCanonicalReading(m.value);
  if (f === null || !/^\d+$/.test(m.offset)) return null;
  const kafkaTs = Number(m.timestamp);
  const sub = str(f.substationId);
  // The bytes stand for the text only when every character is one byte (ASCII).
  const bytes = raw !== undefined && raw.length === m.value.length ? raw : undefined;
  return {
    offset: BigInt(m.offset),
    identity: str(f.readingId),
    eventTs: num(f.ts) ?? (Number.isFinite(kafkaTs) && kafkaTs >= 0 ? kafkaTs : 0),
    substation: sub === null ? '_none' : safeSegment(sub),
    value: { readingId: f.readingId, ts: f.ts, substationId: f.substationId, feederId: f.feederId, voltage: f.voltage, power: f.power },
    ...(bytes ? { line: '', raw: bytes, rawOffset: m.offset } : { line: `${m.value.slice(0, -1)},"_offset":"${m.offset}"}` }),
  };
}

/**
 * `JSON.stringify({ ...value, _offset })`, byte for byte, without the copy of the object: the
 * spread keeps the key order and puts `_offset` last, so the text is the value's with the offset
 * appended before its closing brace (the build thread's hot path: one line per record).
 */
function withOffset(value: Record<string, unknown>, offset: string): string {
  if (Object.hasOwn(value, '_offset')) return JSON.stringify({ ...value, _offset: offset });
  const text = JSON.stringify(value);
  return text.length <= 2 ? `{"_offset":${JSON.stringify(offset)}}` : `${text.slice(0, -1)},"_offset":${JSON.stringify(offset)}}`;
}

/**
 * Drops records whose identity was already seen in this list (first one wins) or, given the
 * partition's index of what earlier flushes archived, there (a repeat that landed in a later flush).
 */
export function dedupe(records: ArchiveRecord[], archived?: { has(r: ArchiveRecord): boolean }): { kept: ArchiveRecord[]; duplicates: number } {
  const seen = new Set<string>();
  const kept: ArchiveRecord[] = [];
  for (const r of records) {
    if (r.identity !== null) {
      if (seen.has(r.identity) || archived?.has(r)) continue;
      seen.add(r.identity);
    }
    kept.push(r);
  }
  return { kept, duplicates: records.length - kept.length };
}

/** `date=YYYY-MM-DD/hour=HH` of an epoch-ms time, in UTC. */
export function datePath(ts: number): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return 'date=1970-01-01/hour=00';
  const iso = d.toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** Key of one object of a flush: every object of one flush carries the same offset range. */
export function objectKey(topic: string, partition: number, ts: number, substation: string, first: bigint, last: bigint): string {
  return `${topicPrefix(topic)}/${datePath(ts)}/substation=${substation}/${partition}-${padOffset(first)}-${padOffset(last)}.jsonl.gz`;
}

/**
 * Builds the objects of one flush: records (already in offset order, de-duplicated) grouped by
 * date/hour/substation, each group gzip-compressed JSONL in offset order, groups sorted by key.
 * gzip from node:zlib writes mtime 0 and no file name, so equal input gives equal bytes.
 */
export function buildObjects(topic: string, partition: number, first: bigint, last: bigint, records: ArchiveRecord[]): ArchiveObject[] {
  const groups = new Map<string, ArchiveRecord[]>();
  // The key is computed once per hour and substation, not per record (the lines of one hour and
  // substation always share a key; two such pairs may share one too, hence the second map).
  const byHour = new Map<string, ArchiveRecord[]>();
  for (const r of records) {
    const hour = `${Math.floor(r.eventTs / 3_600_000)}\u0000${r.substation}`;
    let lines = byHour.get(hour);
    if (lines === undefined) {
      const key = objectKey(topic, partition, r.eventTs, r.substation, first, last);
      lines = groups.get(key);
      if (lines === undefined) {
        lines = [];
        groups.set(key, lines);
      }
      byHour.set(hour, lines);
    }
    lines.push(r);
  }
  return [...groups.keys()].sort().map((key) => {
    const lines = groups.get(key) as ArchiveRecord[];
    return { key, body: gzipSync(jsonl(lines), { level: 6 }), records: lines.length };
  });
}

const OFFSET_MEMBER = Buffer.from(',"_offset":"');

/** The records' lines, each followed by a newline, as one Buffer. */
function jsonl(records: ArchiveRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += (r.raw !== undefined ? r.raw.length - 1 + OFFSET_MEMBER.length + (r.rawOffset as string).length + 2 : Buffer.byteLength(r.line)) + 1;
  const body = Buffer.allocUnsafe(total);
  let at = 0;
  for (const r of records) {
    if (r.raw !== undefined) {
      // The value without its closing brace, then ,"_offset":"N"} (the offset is digits only).
      body.set(r.raw, at);
      at += r.raw.length - 1;
      body.set(OFFSET_MEMBER, at);
      at += OFFSET_MEMBER.length;
      const o = r.rawOffset as string;
      for (let i = 0; i < o.length; i++) body[at++] = o.charCodeAt(i);
      body[at++] = 0x22;
      body[at++] = 0x7d;
    } else {
      at += body.write(r.line, at);
    }
    body[at++] = 0x0a;
  }
  return body;
}

/** Where the per-partition progress marker lives. */
export function progressKey(topic: string, partition: number): string {
  return `_progress/${safeSegment(topic)}/${partition}.json`;
}
