/**
 * The forwarded reading's JSON text without serialising the parsed object again: the sender's own
 * text with the gateway's fields appended before its closing brace. JSON.stringify of the
 * ~15-field object was about half of the intake's own work per reading (parse 2.5 µs, stringify
 * 3 µs on this machine); appending costs a scan of the text and a few short strings.
 *
 * Only when the result means exactly what JSON.stringify of the checked object would say, to any
 * JSON reader: `canSplice` refuses (and the caller stringifies as before) a text that
 * - repeats a member name (readers differ on which one wins: JSON.parse takes the last, the check
 *   judged the last), counted as top-level members of the text against the parsed object's keys;
 * - holds a control character (a line break between tokens would split a JSON-lines batch record);
 * - already carries a field the gateway writes (readingId, edgeId, topology ids, receivedAt, flags:
 *   the sender's are overwritten or dropped, which only stringify does in place);
 * - had its ts normalised (an ISO string turned into epoch ms by the check);
 * - writes a number with an exponent (1e400 parses to Infinity, which stringify writes as null).
 * Other numbers keep the sender's spelling (1.50 stays 1.50, -0 stays -0, digits past 2^53 stay):
 * the same number to a JSON.parse reader.
 */
const GATEWAY_FIELDS = ['readingId', 'edgeId', 'substationId', 'feederId', 'transformerId', 'receivedAt', 'flags'] as const;

/** Index of the closing brace when `text` (the JSON object `obj` was parsed from) can be extended in place; -1 otherwise. */
export function spliceAt(text: string, obj: Record<string, unknown>): number {
  for (const k of GATEWAY_FIELDS) if (k in obj) return -1;
  let keys = 0;
  for (const _ in obj) keys++;
  let depth = 0;
  let members = 0;
  let close = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) return -1;
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) close = i;
    } else if (c === 0x3a && depth === 1) members++;
    // An exponent (1e400 is Infinity, which stringify writes as null): rare in readings, stringified.
    else if ((c === 0x65 || c === 0x45) && i > 0 && isNumberChar(text.charCodeAt(i - 1))) return -1;
  }
  return members === keys && keys > 0 ? close : -1;
}

const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2e;

/** `text` up to `close` (exclusive) plus the gateway's fields, as JSON.stringify would order them; `idsJson` is the meter's topology ids (MeterView.idsJson). */
export function spliceForwarded(text: string, close: number, f: { readingId: string; edgeIdJson: string; idsJson: string; receivedAt: number; flags: readonly string[] | null }): string {
  const s = `${text.slice(0, close)},"readingId":${JSON.stringify(f.readingId)},"edgeId":${f.edgeIdJson}${f.idsJson},"receivedAt":${JSON.stringify(f.receivedAt)}`;
  return f.flags === null ? `${s}}` : `${s},"flags":${JSON.stringify(f.flags)}}`;
}
