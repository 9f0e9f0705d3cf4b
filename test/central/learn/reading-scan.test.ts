// The scorer's reading scanner (central/learn/reading-scan.ts) against JSON.parse: on every value it
// accepts it gives JSON.parse's fields, and it never accepts a value JSON.parse refuses. Random
// corruptions of real readings (seeded) look for a counterexample.
import { describe, expect, it } from 'vitest';
import { scanReading, type ScannedReading } from '../../../central/learn/reading-scan.ts';

const FIELDS: (keyof ScannedReading)[] = ['meterId', 'ts', 'voltage', 'power', 'transformerId', 'feederId', 'substationId'];

const reading = (i: number): string =>
  JSON.stringify({ meterId: `m-${String(i).padStart(6, '0')}`, ts: 1796154347000 + i * 1000, seq: i, voltage: 229.87 + i / 7, current: 4.2, power: i % 3 === 0 ? -1.25e-3 : 0.96, frequency: 50.01, readingId: `m-${i}:${i}`, edgeId: 'edge-sub-01', substationId: 'sub-01', feederId: i % 5 === 0 ? null : 'sub-01-f2', transformerId: 'sub-01-f2-t3', receivedAt: 1796154347040, flags: i % 2 === 0 ? [] : ['clock_suspect', 'estimated'] });

/** The fields as JSON.parse gives them, or 'refused'. */
function parsed(text: string): Record<string, unknown> | 'refused' {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'refused';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'refused';
  return Object.fromEntries(FIELDS.map((f) => [f, (v as Record<string, unknown>)[f]]));
}

/** Why the scanner disagrees with JSON.parse on `text`, or null when it does not. */
function disagreement(text: string): string | null {
  const s = scanReading(text);
  if (s === null) return null; // JSON.parse decides (the caller's fallback)
  const p = parsed(text);
  if (p === 'refused') return `accepted what JSON.parse refuses: ${text}`;
  for (const f of FIELDS) if (!(Object.is(s[f], p[f]) || (Array.isArray(s[f]) && Array.isArray(p[f])))) return `${f} ${String(s[f])} vs ${String(p[f])} in ${text}`;
  return null;
}

describe('scanReading', () => {
  it('reads the fields of a forwarded reading as JSON.parse does', () => {
    for (let i = 0; i < 50; i++) {
      const text = reading(i);
      const s = scanReading(text);
      expect(s).not.toBeNull();
      expect(s).toEqual(parsed(text));
    }
  });

  it('takes whitespace, a repeated key (the last wins), missing fields and other types', () => {
    expect(scanReading(' {\n "meterId" : "a" ,\t"ts":1 , "ts": 2, "voltage": 230.5e0 }\r\n')).toEqual({ meterId: 'a', ts: 2, voltage: 230.5, power: undefined, transformerId: undefined, feederId: undefined, substationId: undefined });
    expect(scanReading('{}')).toEqual({ meterId: undefined, ts: undefined, voltage: undefined, power: undefined, transformerId: undefined, feederId: undefined, substationId: undefined });
    const odd = scanReading('{"meterId":3,"ts":"5","voltage":true,"power":null,"feederId":[1,"x"]}');
    expect(odd).toMatchObject({ meterId: 3, ts: '5', voltage: true, power: null });
    expect(Array.isArray(odd?.feederId)).toBe(true);
  });

  it('hands to JSON.parse what it is not sure of, and refuses what is not JSON', () => {
    // Escapes and nested objects: not this scanner's business (null: JSON.parse reads them).
    expect(scanReading('{"meterId":"a\\"b","ts":1}')).toBeNull();
    expect(scanReading('{"meterId":"a","quality":{"ok":true}}')).toBeNull();
    expect(scanReading('{"meterId":"a","flags":[["x"]]}')).toBeNull();
    for (const bad of ['', 'not json', '[1,2]', '{"meterId":"a",}', '{"meterId":"a"', '{"meterId":"a"}x', '{"ts":01}', '{"ts":1.}', '{"ts":.5}', '{"ts":1e}', '{"ts":+1}', '{"ts":NaN}', '{"ts":tru}', '{meterId:"a"}', '{"a\tb":1}', '{"ts":1 2}', '{"flags":[1,]}', '{"flags":[1 2]}']) {
      expect(scanReading(bad), bad).toBeNull();
      expect(disagreement(bad)).toBeNull();
    }
  });

  it('never disagrees with JSON.parse on corrupted readings (10,000 seeded mutations)', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = '{}[]",:.-+eE0123456789 \\tnulrfas\u0001x';
    let accepted = 0;
    const wrong: string[] = [];
    for (let k = 0; k < 10_000; k++) {
      let text = reading(rand(1000));
      for (let m = rand(3) + 1; m > 0; m--) {
        const at = rand(text.length + 1);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)]!;
        text = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      if (scanReading(text) !== null) accepted++;
      const d = disagreement(text);
      if (d !== null) wrong.push(d);
    }
    expect(wrong).toEqual([]);
    // Some mutations keep the value valid JSON (a digit changed): the property was really tested on accepted values.
    expect(accepted).toBeGreaterThan(500);
  });
});
