// The archive's canonical-reading fast path (central/archive/scan.ts, layout.ts
// parseCanonicalReading): where it answers, it gives exactly parseMessage's record (same line bytes,
// identity, event time, key segment, and the members the flush reads); where it is not sure, it
// answers null. And a whole flush builds the same objects and feeder minutes by either path.
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../shared/index.ts';
import { buildFlush, packRequest } from '../../../central/archive/build.ts';
import { foldReadings } from '../../../central/archive/aggregate.ts';
import { parseCanonicalReading, parseMessage } from '../../../central/archive/layout.ts';
import { reading } from './fixtures.ts';

const msg = (value: string, offset = '7') => ({ offset, timestamp: '1700000000000', value });

function same(text: string): void {
  const fast = parseCanonicalReading(msg(text));
  const full = parseMessage(TOPICS.readings, msg(text), 'readings');
  expect(fast, text).not.toBeNull();
  expect(fast?.line).toBe(full.line);
  expect(fast?.identity).toBe(full.identity);
  expect(fast?.eventTs).toBe(full.eventTs);
  expect(fast?.substation).toBe(full.substation);
  expect(fast?.offset).toBe(full.offset);
  for (const k of ['readingId', 'ts', 'substationId', 'feederId', 'voltage', 'power']) expect(fast?.value?.[k], `${text} ${k}`).toEqual(full.value?.[k]);
}

describe('canonical readings', () => {
  it('takes what JSON.stringify writes and gives the record parseMessage gives', () => {
    for (let i = 0; i < 500; i++) same(JSON.stringify(reading(i)));
    const odd: Record<string, unknown>[] = [
      { meterId: 'M1', ts: 0, voltage: -0.5, power: 0.000001, flags: ['a', 'b'], empty: [], ok: true, no: false, none: null, readingId: 'M1:1', substationId: 'S é\u2028x', feederId: '' },
      { meterId: 'M2', ts: 123456789012345, voltage: 229.3, power: 1e3, readingId: '', substationId: 'a/b c', feederId: null, x: [1, 2.5, null, true] },
      { constructor: 1, toString: 'x', __defineGetter__: 2, ts: 5, readingId: 'r' },
      { voltage: 'not a number', ts: 'late', power: [] },
      { a: 1 },
    ];
    for (const v of odd) same(JSON.stringify(v));
    same('{"__proto__":"own","ts":1,"readingId":"p:1"}');
  });

  it('answers null where the text is not surely canonical (parseMessage takes it then)', () => {
    const texts = [
      '{}',
      '{ "ts":1}',
      '{"ts": 1}',
      '{"ts":1 }',
      '{"ts":1.50}',
      '{"ts":1e3}',
      '{"ts":-0}',
      '{"ts":0.0000001}',
      '{"ts":01}',
      '{"ts":12345678901234567}',
      '{"ts":0.1234567890123456}',
      '{"a":"x\\"y"}',
      '{"a":"\\u00e9"}',
      '{"a":1,"a":2}',
      '{"1":1,"a":2}',
      '{"_offset":"1","a":2}',
      '{"a":{"b":1}}',
      '{"a":[[1]]}',
      '{"a":[1,]}',
      '{"a":tru}',
      '{"a":1}x',
      '[1]',
      `{"a":"${String.fromCharCode(0xd800)}"}`,
      '{"a":"\u0001"}',
    ];
    for (const t of texts) expect(parseCanonicalReading(msg(t)), t).toBeNull();
    // A number JavaScript would print another way is not canonical, whatever its value.
    for (let i = 0; i < 200; i++) {
      const x = Math.random() * 10 ** (i % 12);
      const t = `{"voltage":${JSON.stringify(x)}}`;
      const r = parseCanonicalReading(msg(t));
      if (r !== null) expect(r.line).toBe(parseMessage(TOPICS.readings, msg(t), 'readings').line);
    }
  });

  it('builds the same objects and feeder minutes by the fast path and by parsing', () => {
    const values = Array.from({ length: 300 }, (_, i) => JSON.stringify(i % 10 === 0 ? { ...reading(i), note: 'spaced value' } : reading(i)));
    values[5] = JSON.stringify(reading(5), null, 1); // not canonical: parsed
    values[6] = values[4] as string; // a repeat: de-duplicated either way
    values[7] = JSON.stringify({ ...reading(7), note: 'Ré\u2028' }); // canonical but not ASCII: its line is written from its text, not its bytes
    const records = values.map((v, i) => ({ offset: BigInt(100 + i), timestamp: '0', value: Buffer.from(v) }));
    const base = { topic: TOPICS.readings, partition: 1, kind: 'readings' as const, seen: { meters: {}, others: [] } };
    const fast = buildFlush(packRequest({ ...base, influx: 'fold' }, records));
    const parsed = buildFlush(packRequest({ ...base, influx: 'values' }, records));
    expect(fast.objects.map((o) => [o.key, o.records, o.body.toString('base64')])).toEqual(parsed.objects.map((o) => [o.key, o.records, o.body.toString('base64')]));
    expect(fast.kept).toBe(parsed.kept);
    expect(fast.duplicates).toBe(1);
    expect(fast.seenAfter).toEqual(parsed.seenAfter);
    expect(fast.feederMinutes).toEqual([...foldReadings(parsed.values as never, '1').values()]);
  });
});
