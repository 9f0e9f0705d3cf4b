// One meter's readings from the archive, as JSON lines or CSV, streamed in archive order (hour,
// then Kafka offset: per meter that is the order the edge forwarded them). Only the objects that
// can hold the meter are read: its substation's objects of the hours of the range, and of those
// only the partition its key (the meterId) maps to. Gaps and the totals come last, in the body:
// the status line is sent before the archive has been read (see central/README.md "History").
// The objects are fetched and unzipped a few at a time and each is answered as soon as those
// before it are; the meter's lines are picked out of the text without parsing the others
// (meter-lines.ts), and only the lines answered as CSV are parsed.
import { safeSegment } from '../archive/layout.ts';
import type { ArchiveSink } from '../archive/index.ts';
import { readTexts, selectKeys, type ArchiveGap } from './archive-reader.ts';
import { meterLines } from './meter-lines.ts';

/** Longest range one request may ask for: 7 days of a 1 s meter is 604,800 readings. */
export const MAX_READINGS_RANGE_MS = 31 * 86_400_000;

/** Objects fetched and unzipped at once (an hour of a 1 s meter is about 1 MB of text). */
export const HISTORY_CONCURRENCY = 8;

export const CSV_COLUMNS = ['ts', 'time', 'readingId', 'seq', 'voltage', 'current', 'power', 'reactivePower', 'powerFactor', 'frequency', 'energy', 'flags'] as const;

export interface MeterHistoryQuery {
  meterId: string;
  /** The meter's substation when the topology knows it (else every substation's objects are read). */
  substationId?: string | null;
  /** The partition of grid.readings the meter's key maps to, when the partition count is known. */
  partition?: number;
  /** The readings' key root in the archive (default `readings`). */
  root?: string;
  from: number;
  /** Exclusive. */
  to: number;
  format: 'jsonl' | 'csv';
}

export interface HistoryTotals {
  readings: number;
  objects: number;
  duplicates: number;
  gaps: ArchiveGap[];
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = Array.isArray(v) ? v.join('|') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `# gap <key>: <reason>` would let a reason break the comment; both are kept to one line. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

/**
 * Yields the answer's text chunks. JSON lines: one reading per line (as archived, without
 * `_offset`), then `{"_gap":{key,reason}}` per unreadable object, then one
 * `{"_end":{readings,objects,duplicates,gaps}}`. CSV: a header, one row per reading, then
 * `# gap <key>: <reason>` lines and `# end readings=… objects=… duplicates=… gaps=…`. A reader
 * that did not get the `_end` record / `# end` line got a cut answer.
 */
export async function* meterHistory(sink: ArchiveSink, keys: string[], q: MeterHistoryQuery, totals: HistoryTotals = { readings: 0, objects: 0, duplicates: 0, gaps: [] }): AsyncGenerator<string> {
  if (q.format === 'csv') yield CSV_COLUMNS.join(',') + '\n';
  try {
    yield* readingLines(sink, keys, q, totals);
  } catch (err) {
    // The archive failed as a whole mid-answer (bucket gone, credentials revoked): the objects not
    // yet read are gaps, with the reason, and the answer still ends with its totals.
    const read = totals.objects;
    for (const key of keys.slice(read)) totals.gaps.push({ key, reason: `not read: ${(err as Error).message.slice(0, 200)}` });
    totals.objects = keys.length;
  }
  yield trailer(q.format, totals);
}

/** The objects that can hold the meter's readings of the range (throws ARCHIVE_FAILED when the archive cannot be listed). */
export function historyKeys(sink: ArchiveSink, q: Omit<MeterHistoryQuery, 'format' | 'meterId'>): Promise<string[]> {
  return selectKeys(sink, {
    kind: 'readings',
    ...(q.root ? { root: q.root } : {}),
    from: q.from,
    to: q.to,
    ...(q.substationId ? { substations: [safeSegment(q.substationId)] } : {}),
    ...(q.partition !== undefined ? { partition: q.partition } : {}),
  });
}

async function* readingLines(sink: ArchiveSink, keys: string[], q: MeterHistoryQuery, totals: HistoryTotals): AsyncGenerator<string> {
  // The archive drops repeats it recognises; a repeat older than its index is dropped here.
  const seen = new Set<string>();
  for await (const obj of readTexts(sink, keys, HISTORY_CONCURRENCY)) {
    totals.objects++;
    if (obj.gap) {
      totals.gaps.push(obj.gap);
      continue;
    }
    const picked = meterLines(obj.text, q.meterId, q.from, q.to);
    if (picked.gap !== undefined) {
      totals.gaps.push({ key: obj.key, reason: picked.gap });
      continue;
    }
    let out = '';
    for (const { json, ts, readingId } of picked.lines) {
      if (readingId !== null) {
        if (seen.has(readingId)) {
          totals.duplicates++;
          continue;
        }
        seen.add(readingId);
      }
      totals.readings++;
      if (q.format === 'csv') {
        const value = JSON.parse(json) as Record<string, unknown>;
        out += CSV_COLUMNS.map((c) => (c === 'time' ? new Date(ts).toISOString() : csvCell(value[c]))).join(',') + '\n';
      } else {
        out += json + '\n';
      }
    }
    if (out !== '') yield out;
  }
}

function trailer(format: 'jsonl' | 'csv', totals: HistoryTotals): string {
  const end = { readings: totals.readings, objects: totals.objects, duplicates: totals.duplicates, gaps: totals.gaps.length };
  let tail = '';
  if (format === 'csv') {
    for (const g of totals.gaps) tail += `# gap ${oneLine(g.key)}: ${oneLine(g.reason)}\n`;
    return tail + `# end readings=${end.readings} objects=${end.objects} duplicates=${end.duplicates} gaps=${end.gaps}\n`;
  }
  for (const g of totals.gaps) tail += JSON.stringify({ _gap: g }) + '\n';
  return tail + JSON.stringify({ _end: end }) + '\n';
}
