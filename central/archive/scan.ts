// The archive's fast path for readings: a value that is already in the form JSON.stringify writes
// (what the edge forwards, and what central writes for an Avro reading) is archived as its own
// text, so the build thread neither parses it into an object nor writes it out again (the two were
// most of a flush's cost: layout.ts parseMessage). Only a text that is surely canonical qualifies:
//   one flat object; no whitespace; keys and strings without escapes, control characters or
//   surrogates; no repeated key, no key that is an array index (JSON.parse would reorder it), no
//   `_offset`; numbers as JavaScript prints them (at most 15 significant digits, no exponent, no
//   trailing zero, not -0, not under 1e-6); true, false, null; arrays of those.
// For such a text, `text` minus its `}` plus `,"_offset":"N"}` is byte for byte what
// JSON.stringify({ ...JSON.parse(text), _offset: "N" }) gives. Anything else returns null and goes
// the full way (parseMessage), so the archive's bytes never depend on which path a record took.

/** The members the build reads of a reading (identity, event time, object key, feeder aggregates). */
export interface ScannedFields {
  readingId: unknown;
  ts: unknown;
  substationId: unknown;
  feederId: unknown;
  voltage: unknown;
  power: unknown;
}

const ARRAY = Object.freeze([]) as unknown;

let S = '';
let I = 0;

const digit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** A string at I (its quote); the index after its closing quote, or -1 when it is not plain. */
function plainString(): number {
  for (let j = I + 1; j < S.length; j++) {
    const c = S.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return -1;
  }
  return -1;
}

/** A number at I as JavaScript prints it; the index after it, or -1. */
function canonicalNumber(): number {
  let j = I;
  if (S.charCodeAt(j) === 0x2d) j++;
  const intStart = j;
  if (S.charCodeAt(j) === 0x30) j++;
  else if (digit(S.charCodeAt(j))) while (digit(S.charCodeAt(j))) j++;
  else return -1;
  const intDigits = j - intStart;
  const zeroInt = intDigits === 1 && S.charCodeAt(intStart) === 0x30;
  let significant = zeroInt ? 0 : intDigits;
  if (S.charCodeAt(j) === 0x2e) {
    j++;
    const fracStart = j;
    while (digit(S.charCodeAt(j))) j++;
    if (j === fracStart || S.charCodeAt(j - 1) === 0x30) return -1; // no digits, or a trailing zero
    let lead = 0;
    if (zeroInt) while (S.charCodeAt(fracStart + lead) === 0x30) lead++;
    if (lead >= 6) return -1; // under 1e-6 JavaScript writes an exponent
    significant += j - fracStart - lead;
  } else if (zeroInt && S.charCodeAt(I) === 0x2d) {
    return -1; // -0 is written 0
  }
  const c = S.charCodeAt(j);
  if (c === 0x65 || c === 0x45 || significant > 15) return -1;
  return j;
}

/** A primitive at I; the index after it, or -1. */
function primitive(): number {
  const c = S.charCodeAt(I);
  if (c === 0x22) return plainString();
  if (c === 0x74) return S.startsWith('true', I) ? I + 4 : -1;
  if (c === 0x66) return S.startsWith('false', I) ? I + 5 : -1;
  if (c === 0x6e) return S.startsWith('null', I) ? I + 4 : -1;
  return canonicalNumber();
}

function valueAt(start: number, end: number): unknown {
  const c = S.charCodeAt(start);
  if (c === 0x22) return S.slice(start + 1, end - 1);
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  if (c === 0x6e) return null;
  return Number(S.slice(start, end));
}

/**
 * The v1 reading's members (contracts/v1/forwarded-reading.schema.json), by length and text: a
 * known key is recognised in place (no slice of it per reading) and its repeat found by one bit.
 * `out` names the member of ScannedFields it fills, if any.
 */
const KNOWN: { key: string; out: keyof ScannedFields | null }[] = [
  { key: 'meterId', out: null }, { key: 'ts', out: 'ts' }, { key: 'seq', out: null }, { key: 'voltage', out: 'voltage' },
  { key: 'current', out: null }, { key: 'power', out: 'power' }, { key: 'reactivePower', out: null }, { key: 'powerFactor', out: null },
  { key: 'frequency', out: null }, { key: 'energy', out: null }, { key: 'readingId', out: 'readingId' }, { key: 'edgeId', out: null },
  { key: 'substationId', out: 'substationId' }, { key: 'feederId', out: 'feederId' }, { key: 'transformerId', out: null },
  { key: 'receivedAt', out: null }, { key: 'flags', out: null },
];
const BY_LENGTH: number[][] = [];
KNOWN.forEach((k, i) => (BY_LENGTH[k.key.length] ??= []).push(i));

/** Which known member the key at S[at, at + len) is, or -1. */
function knownKey(at: number, len: number): number {
  const candidates = BY_LENGTH[len];
  if (candidates === undefined) return -1;
  for (const i of candidates) if (S.startsWith((KNOWN[i] as { key: string }).key, at)) return i;
  return -1;
}

/** The fields of a canonical flat reading text, or null when the text is not surely canonical. */
export function scanCanonicalReading(text: string): ScannedFields | null {
  S = text;
  const n = text.length;
  if (n < 3 || text.charCodeAt(0) !== 0x7b || text.charCodeAt(n - 1) !== 0x7d) return null;
  const out: ScannedFields = { readingId: undefined, ts: undefined, substationId: undefined, feederId: undefined, voltage: undefined, power: undefined };
  // Keys seen: one bit per known member, the text of the others (a repeat is not canonical).
  let seenKnown = 0;
  let others: string[] | null = null;
  I = 1;
  for (;;) {
    if (text.charCodeAt(I) !== 0x22) return null;
    const keyEnd = plainString();
    if (keyEnd < 0 || text.charCodeAt(keyEnd) !== 0x3a) return null;
    const known = knownKey(I + 1, keyEnd - I - 2);
    let field: keyof ScannedFields | null = null;
    if (known >= 0) {
      if ((seenKnown & (1 << known)) !== 0) return null;
      seenKnown |= 1 << known;
      field = (KNOWN[known] as { out: keyof ScannedFields | null }).out;
    } else {
      const key = text.slice(I + 1, keyEnd - 1);
      if (key === '_offset' || (key !== '' && digit(key.charCodeAt(0))) || others?.includes(key)) return null;
      (others ??= []).push(key);
    }
    I = keyEnd + 1;
    const start = I;
    let end: number;
    let value: unknown;
    if (text.charCodeAt(I) === 0x5b) {
      I++;
      if (text.charCodeAt(I) !== 0x5d) {
        for (;;) {
          const e = primitive();
          if (e < 0) return null;
          I = e;
          if (text.charCodeAt(I) === 0x2c) I++;
          else break;
        }
      }
      if (text.charCodeAt(I) !== 0x5d) return null;
      end = I + 1;
      value = ARRAY;
    } else {
      end = primitive();
      if (end < 0) return null;
      value = undefined;
    }
    if (field !== null) out[field] = value === ARRAY ? ARRAY : valueAt(start, end);
    I = end;
    const c = text.charCodeAt(I);
    if (c === 0x2c) {
      I++;
      continue;
    }
    if (c === 0x7d && I === n - 1) return out;
    return null;
  }
}
