// Pure: one meter's readings picked out of an archive object's text without parsing every line.
// The Archiver writes each reading as JSON.stringify({...value, _offset}) (central/archive/
// layout.ts; an Avro reading is archived decoded, as the JSON contract's text), so a reading of
// the meter is a line holding `"meterId":"<id>"`. A line with no backslash and no `{` after its
// first character is a flat object whose every `"` delimits a string: there that substring can
// only be the top-level key (JSON.stringify writes each key once), and `"ts":`, `"readingId":`
// likewise. Such a line of the meter is
// answered from its text (its `,"_offset":"N"` tail cut: the same bytes JSON.parse + stringify
// would give); any other line that names the meter is parsed in full, so an odd line is slower,
// never answered wrong. Every line is checked to be `{...}`: one that is not makes the object a
// gap, as a half-readable object always was.
import { lineReason } from './archive-reader.ts';

/** One reading of the meter: its JSON text (without `_offset`), its time and its identity. */
export interface MeterLine {
  json: string;
  ts: number;
  readingId: string | null;
}

export type MeterLines = { lines: MeterLine[]; gap?: undefined } | { lines?: undefined; gap: string };

const OPEN = 123; // {
const CLOSE = 125; // }
const OFFSET_TAIL = ',"_offset":"';

/** The readings of `meterId` with from <= ts < to in one object's text, in line order. */
export function meterLines(text: string, meterId: string, from: number, to: number): MeterLines {
  const field = `"meterId":${JSON.stringify(meterId)}`;
  // Any line that may name the meter holds the id followed by a quote (the id ends a string).
  const mark = JSON.stringify(meterId).slice(1);
  const out: MeterLine[] = [];
  let hit = text.indexOf(mark);
  let n = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    n++;
    if (end > start) {
      if (text.charCodeAt(start) !== OPEN || text.charCodeAt(end - 1) !== CLOSE) return { gap: lineReason(text.slice(start, end), n) };
      if (hit !== -1 && hit < end) {
        const r = pick(text.slice(start, end), field, meterId, from, to, n);
        if (typeof r === 'string') return { gap: r };
        if (r !== null) out.push(r);
        hit = text.indexOf(mark, end);
      }
    }
    start = end + 1;
  }
  return { lines: out };
}

/** One line that names the meter: its reading when it is one of the range, null when not, or the gap's reason. */
function pick(line: string, field: string, meterId: string, from: number, to: number, n: number): MeterLine | null | string {
  if (line.indexOf('\\') === -1 && line.indexOf('{', 1) === -1) {
    if (!line.includes(field)) return null;
    const ts = numberAfter(line, '"ts":');
    if (ts === null || ts < from || ts >= to) return null;
    const tail = line.lastIndexOf(OFFSET_TAIL);
    if (tail !== -1 && /^\d+"}$/.test(line.slice(tail + OFFSET_TAIL.length))) {
      return { json: line.slice(0, tail) + '}', ts, readingId: stringAfter(line, '"readingId":') };
    }
  }
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return lineReason(line, n);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return lineReason(line, n);
  const { _offset: _o, ...reading } = v as Record<string, unknown>;
  if (reading.meterId !== meterId || typeof reading.ts !== 'number' || reading.ts < from || reading.ts >= to) return null;
  return { json: JSON.stringify(reading), ts: reading.ts, readingId: typeof reading.readingId === 'string' ? reading.readingId : null };
}

/** The number after `key` in a flat line, or null (absent, or not a number). */
function numberAfter(line: string, key: string): number | null {
  const i = line.indexOf(key);
  if (i === -1) return null;
  const at = i + key.length;
  let end = at;
  while (end < line.length && line.charCodeAt(end) !== 44 /* , */ && line.charCodeAt(end) !== CLOSE) end++;
  const s = line.slice(at, end);
  if (!/^-?\d/.test(s)) return null;
  const x = Number(s);
  return Number.isFinite(x) ? x : null;
}

/** The string after `key` in a flat line without escapes, or null (absent, or not a string). */
function stringAfter(line: string, key: string): string | null {
  const i = line.indexOf(key);
  if (i === -1 || line.charCodeAt(i + key.length) !== 34 /* " */) return null;
  const at = i + key.length + 1;
  return line.slice(at, line.indexOf('"', at));
}
