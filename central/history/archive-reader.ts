// Reads the archive back by its key layout (docs/archive.md): the hours of a range, the
// substations asked for, and (for readings) only the partition a meter's key maps to. Objects are
// fetched a few at a time but handed out in key order; an object that cannot be fetched, unzipped
// or parsed is handed out as a gap with its key and reason, never skipped in silence. Unzipping
// runs on libuv's thread pool, so the objects in flight unzip beside the thread that reads them.
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { GridwatchError } from '../../shared/index.ts';
import type { ArchiveSink } from '../archive/index.ts';
import type { ArchiveKind } from '../archive/layout.ts';

export const HOUR_MS = 3_600_000;

/** One record as archived: the value with its `_offset`, plus where it came from. */
export interface ArchivedRecord {
  value: Record<string, unknown>;
  key: string;
  partition: number;
  offset: string;
}

export interface ArchiveGap {
  key: string;
  reason: string;
}

/** What one object yielded: its records in offset order, or why it could not be read. */

export type ObjectResult = { key: string; records: ArchivedRecord[]; gap?: undefined } | { key: string; records?: undefined; gap: ArchiveGap };

/** What one object yielded unparsed: its JSON lines as text, or why it could not be read. */
export type TextResult = { key: string; text: string; gap?: undefined } | { key: string; text?: undefined; gap: ArchiveGap };

const gunzip = promisify(gunzipCb);

/** What the archive holds under its own key root: the three kinds, and the operators' trail. */
export type ArchiveRootKind = ArchiveKind | 'event-actions' | 'maintenance';

/**
 * The key root of each kind when it is not the kind's name: the Archiver files a topic under its
 * v1 short name (readings/...), and any other topic name (a deployment's kafkaTopicPrefix) under
 * that name (central/archive/layout.ts topicPrefix).
 */
export type ArchiveRoots = Partial<Record<ArchiveRootKind, string>>;

export interface KeySelection {
  kind: ArchiveRootKind;
  /** The key root (default: the kind's name). */
  root?: string;
  from: number;
  /** Exclusive. */
  to: number;
  /** Only these substations' objects (segment as in the key: `_none`, `_unknown` included). */
  substations?: string[];
  /** Only objects of this Kafka partition (readings of one meter live on one partition). */
  partition?: number;
}

/** `date=YYYY-MM-DD/hour=HH/` of every hour that overlaps [from, to). */
export function hourPrefixes(from: number, to: number): string[] {
  const out: string[] = [];
  for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) {
    const iso = new Date(h).toISOString();
    out.push(`date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`);
  }
  return out;
}

/** `<partition>-<first>-<last>.jsonl.gz` at the end of a key. */
export function keyRange(key: string): { partition: number; first: bigint; last: bigint } | null {
  const m = /\/(\d+)-(\d{20})-(\d{20})\.jsonl\.gz$/.exec(key);
  return m ? { partition: Number(m[1]), first: BigInt(m[2]!), last: BigInt(m[3]!) } : null;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The keys that can hold records of the selection, in key order (hour, substation, partition, offset). */
export async function selectKeys(sink: ArchiveSink, s: KeySelection): Promise<string[]> {
  const hours = hourPrefixes(s.from, s.to);
  const root = s.root ?? s.kind;
  const prefixes: string[] = [];
  if (s.substations) {
    for (const hour of hours) for (const sub of s.substations) prefixes.push(`${root}/${hour}substation=${sub}/`);
  } else {
    // Every substation: one listing per day (recursive) instead of one per hour, then the hours.
    for (const day of new Set(hours.map((h) => h.slice(0, 16)))) prefixes.push(`${root}/${day}`);
  }
  const wanted = new Set(hours.map((h) => `${root}/${h}`));
  const lists = await mapLimit(prefixes, 8, (p) => sink.list(p));
  return lists.flat().sort().filter((k) => k.endsWith('.jsonl.gz') && wanted.has(k.slice(0, root.length + 25)) && (s.partition === undefined || keyRange(k)?.partition === s.partition));
}

/** Parses one object's JSON lines; a line that is not a JSON object makes the object a gap. */
export function parseText(key: string, text: string): ObjectResult {
  const range = keyRange(key);
  const records: ArchivedRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return { key, gap: { key, reason: lineReason(line, i + 1) } };
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { key, gap: { key, reason: lineReason(line, i + 1) } };
    const value = v as Record<string, unknown>;
    records.push({ value, key, partition: range?.partition ?? -1, offset: typeof value._offset === 'string' ? value._offset : '' });
  }
  return { key, records };
}

/** Why line `n` of an object is not a record: not JSON, or JSON but not an object. */
export function lineReason(line: string, n: number): string {
  try {
    JSON.parse(line);
  } catch {
    return `line ${n} is not JSON`;
  }
  return `line ${n} is not a JSON object`;
}

/**
 * Fetches and unzips the objects `concurrency` at a time and yields their text in the order of
 * `keys`, each as soon as it and those before it are in (at most `concurrency` held at once). A
 * missing bucket or refused credentials are not gaps: they fail the whole read (ARCHIVE_FAILED).
 */
export async function* readTexts(sink: ArchiveSink, keys: string[], concurrency = 8): AsyncGenerator<TextResult> {
  const fetchOne = async (key: string): Promise<TextResult> => {
    let body: Buffer | null;
    try {
      body = await sink.get(key);
    } catch (err) {
      if (err instanceof GridwatchError && !err.retryable) throw err;
      return { key, gap: { key, reason: `cannot be read: ${(err as Error).message.slice(0, 200)}` } };
    }
    if (body === null) return { key, gap: { key, reason: 'listed but gone when read' } };
    try {
      return { key, text: (await gunzip(body)).toString('utf8') };
    } catch (err) {
      return { key, gap: { key, reason: `not gzip: ${(err as Error).message}` } };
    }
  };
  const inFlight: Promise<TextResult>[] = [];
  let i = 0;
  while (i < keys.length || inFlight.length > 0) {
    while (i < keys.length && inFlight.length < concurrency) {
      const p = fetchOne(keys[i++]!);
      p.catch(() => undefined); // awaited in order below; this only keeps a later failure from being "unhandled" meanwhile
      inFlight.push(p);
    }
    yield await inFlight.shift()!;
  }
}

/** As readTexts, each object parsed into its records (or its gap). */
export async function* readObjects(sink: ArchiveSink, keys: string[], concurrency = 8): AsyncGenerator<ObjectResult> {
  for await (const t of readTexts(sink, keys, concurrency)) yield t.gap ? t : parseText(t.key, t.text);
}
