/**
 * The fields of a `grid.readings` value the learned scorer uses, read from the JSON text without
 * building the whole object. JSON.parse of every reading was most of the scorer's cost on the
 * consumer thread (and of its garbage): at 10,000 readings/s a central instance fell behind
 * (docs/reliability.md "Soak"). This reads the top-level members one by one, keeps the seven it
 * needs and steps over the others, checking the JSON grammar as it goes.
 *
 * It answers only what it is sure of: a value that is not one flat JSON object of strings,
 * numbers, true/false/null and arrays of those (the v1 reading: `flags` is an array of strings),
 * or that has an escape in a string, returns null, and the caller falls back to JSON.parse (which
 * then counts what is not JSON as invalid). So every value JSON.parse refuses is refused here too
 * or handed to JSON.parse; and for every value it accepts it returns what JSON.parse would have
 * given for those fields (the last of a repeated key wins, as in JSON.parse).
 */

export interface ScannedReading {
  meterId: unknown;
  ts: unknown;
  voltage: unknown;
  power: unknown;
  transformerId: unknown;
  feederId: unknown;
  substationId: unknown;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

// The scanner's cursor (module state, not closures: nothing allocated per reading but the fields).
// Single-threaded and not re-entered, so one set is enough.
let S = '';
let N = 0;
let I = 0;
/** The last value scanned: where it began and ended (strings: inside the quotes), and its kind. */
let vStart = 0;
let vEnd = 0;
let kind: 0 | 1 | 2 | 3 = 0; // 0 literal, 1 string, 2 number, 3 array
let literal: boolean | null = null;

function skipSpace(): void {
  while (I < N && isSpace(S.charCodeAt(I))) I++;
}

/** A string at I (its opening quote); false when it has an escape or a control character. */
function string(): boolean {
  I++;
  const start = I;
  for (; I < N; I++) {
    const c = S.charCodeAt(I);
    if (c === QUOTE) {
      vStart = start;
      vEnd = I;
      I++;
      kind = 1;
      return true;
    }
    if (c === BACKSLASH || c < 0x20) return false;
  }
  return false;
}

/** A number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function number(): boolean {
  const start = I;
  if (S.charCodeAt(I) === MINUS) I++;
  if (!isDigit(S.charCodeAt(I))) return false;
  if (S.charCodeAt(I) === ZERO) I++;
  else while (isDigit(S.charCodeAt(I))) I++;
  if (S.charCodeAt(I) === DOT) {
    I++;
    if (!isDigit(S.charCodeAt(I))) return false;
    while (isDigit(S.charCodeAt(I))) I++;
  }
  const e = S.charCodeAt(I);
  if (e === 0x65 || e === 0x45) {
    I++;
    const sign = S.charCodeAt(I);
    if (sign === PLUS || sign === MINUS) I++;
    if (!isDigit(S.charCodeAt(I))) return false;
    while (isDigit(S.charCodeAt(I))) I++;
  }
  vStart = start;
  vEnd = I;
  kind = 2;
  return true;
}

/** A string, number, true, false or null at I. */
function primitive(): boolean {
  const c = S.charCodeAt(I);
  if (c === QUOTE) return string();
  if (c === MINUS || isDigit(c)) return number();
  kind = 0;
  if (S.startsWith('true', I)) {
    I += 4;
    literal = true;
    return true;
  }
  if (S.startsWith('false', I)) {
    I += 5;
    literal = false;
    return true;
  }
  if (S.startsWith('null', I)) {
    I += 4;
    literal = null;
    return true;
  }
  return false;
}

/** An array of primitives at I (its '['); a nested array or object: false (JSON.parse decides). */
function array(): boolean {
  I++;
  skipSpace();
  if (S.charCodeAt(I) === 0x5d) {
    I++;
    kind = 3;
    return true;
  }
  for (;;) {
    skipSpace();
    if (!primitive()) return false;
    skipSpace();
    const c = S.charCodeAt(I);
    I++;
    if (c === 0x5d) {
      kind = 3;
      return true;
    }
    if (c !== COMMA) return false;
  }
}

function value(): unknown {
  if (kind === 1) return S.slice(vStart, vEnd);
  if (kind === 2) return Number(S.slice(vStart, vEnd));
  if (kind === 0) return literal;
  // An array where one of our fields is expected: neither string nor number, so the caller
  // refuses it as it would JSON.parse's array (its elements do not matter).
  return [];
}

/** A reading's fields, or null when the text is not one this scanner is sure of (then: JSON.parse). */
export function scanReading(text: string): ScannedReading | null {
  const out: ScannedReading = { meterId: undefined, ts: undefined, voltage: undefined, power: undefined, transformerId: undefined, feederId: undefined, substationId: undefined };
  S = text;
  N = text.length;
  I = 0;
  try {
    skipSpace();
    if (S.charCodeAt(I) !== 0x7b) return null;
    I++;
    skipSpace();
    if (S.charCodeAt(I) === 0x7d) I++;
    else {
      for (;;) {
        skipSpace();
        if (S.charCodeAt(I) !== QUOTE || !string()) return null;
        const kStart = vStart;
        const kLen = vEnd - vStart;
        skipSpace();
        if (S.charCodeAt(I) !== COLON) return null;
        I++;
        skipSpace();
        if (S.charCodeAt(I) === 0x5b ? !array() : !primitive()) return null;
        const field = fieldOf(S, kStart, kLen);
        if (field !== null) out[field] = value();
        skipSpace();
        const c = S.charCodeAt(I);
        I++;
        if (c === 0x7d) break;
        if (c !== COMMA) return null;
      }
    }
    skipSpace();
    return I === N ? out : null;
  } finally {
    S = ''; // the text is not kept alive by the scanner
  }
}

/** Which of our fields the key at s[at, at + len) is, without slicing it out. */
function fieldOf(s: string, at: number, len: number): keyof ScannedReading | null {
  switch (len) {
    case 2:
      return s.startsWith('ts', at) ? 'ts' : null;
    case 5:
      return s.startsWith('power', at) ? 'power' : null;
    case 7:
      return s.startsWith('meterId', at) ? 'meterId' : s.startsWith('voltage', at) ? 'voltage' : null;
    case 8:
      return s.startsWith('feederId', at) ? 'feederId' : null;
    case 12:
      return s.startsWith('substationId', at) ? 'substationId' : null;
    case 13:
      return s.startsWith('transformerId', at) ? 'transformerId' : null;
    default:
      return null;
  }
}
