// The meter's lines picked from an archive object's text by substring must be exactly what parsing
// every line would answer: the same readings, the same bytes, the same gaps. The reference below
// is the parse-everything reader the route used before.
import { describe, expect, it } from 'vitest';
import { meterLines, type MeterLine } from '../../../central/history/meter-lines.ts';

function reference(text: string, meterId: string, from: number, to: number): { lines: MeterLine[] } | { gap: string } {
  const lines: MeterLine[] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return { gap: `line ${i + 1} is not JSON` };
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { gap: `line ${i + 1} is not a JSON object` };
    const { _offset: _o, ...r } = v as Record<string, unknown>;
    if (r.meterId !== meterId || typeof r.ts !== 'number' || r.ts < from || r.ts >= to) continue;
    lines.push({ json: JSON.stringify(r), ts: r.ts, readingId: typeof r.readingId === 'string' ? r.readingId : null });
  }
  return { lines };
}

/** As the Archiver writes a line (central/archive/layout.ts parseMessage). */
const archived = (value: Record<string, unknown>, offset: number) => JSON.stringify({ ...value, _offset: String(offset) });

const reading = (meterId: string, seq: number, extra: Record<string, unknown> = {}) => ({
  meterId, seq, ts: 1_000_000 + seq * 1000, voltage: 229.5 + (seq % 3), readingId: `${meterId}:${seq}`, edgeId: 'edge-S01', substationId: 'S01', feederId: 'S01-F1', transformerId: null, receivedAt: 1_000_040 + seq * 1000, ...extra,
});

describe('meterLines', () => {
  it('answers the meter (not one whose id it prefixes) in the half-open range, byte for byte as parsing would', () => {
    const values = [];
    for (let s = 0; s < 50; s++) values.push(reading('S01-F1-m0', s), reading('S01-F1-m01', s), reading('S01-F1-m', s));
    const text = values.map(archived).join('\n') + '\n';
    const got = meterLines(text, 'S01-F1-m0', 1_010_000, 1_020_000);
    expect(got).toEqual(reference(text, 'S01-F1-m0', 1_010_000, 1_020_000));
    expect(got.lines?.map((l) => l.readingId)).toEqual(Array.from({ length: 10 }, (_, i) => `S01-F1-m0:${i + 10}`));
    expect(got.lines?.every((l) => !l.json.includes('_offset') && JSON.parse(l.json).meterId === 'S01-F1-m0')).toBe(true);
  });

  it('parses in full the lines it cannot read by substring, and agrees with parsing on each', () => {
    const odd: Record<string, unknown>[] = [
      reading('S01-F1-m0', 1, { flags: ['estimated', 'clock-step'] }),
      reading('S01-F1-m0', 2, { note: 'a "quoted" \\ text, "meterId":"S09"' }),
      reading('S01-F1-m0', 3, { nested: { meterId: 'S01-F1-m0', ts: 5 } }),
      { ...reading('S02-F1-m0', 4), nested: { meterId: 'S01-F1-m0', ts: 1_004_000 } }, // names the meter only inside
      reading('S01-F1-m0', 5, { ts: '1005000' }), // a string time is not a time
      { _offset: 'x', ...reading('S01-F1-m0', 6) }, // _offset not at the end
      reading('S01-F1-m0', 7, { readingId: null }),
      reading('S01-F1-m0', 8, { ts: 1.0080005e6 }),
      reading('S01-F1-m0', 9, { 'a"ts': 1 }),
      { ts: 1_010_000, meterId: 'S01-F1-m0', readingId: 'first-keys', _offset: '3' },
      reading('S01-F1-m0', 11, { meterId: 'S01-F1-m0 ' }),
      reading('S01-F1-m0', 12, { unicode: 'Zürich – 東京' }),
    ];
    const text = odd.map((v, i) => (v._offset !== undefined ? JSON.stringify(v) : archived(v, i))).join('\n') + '\n';
    const got = meterLines(text, 'S01-F1-m0', 0, 2_000_000);
    const want = reference(text, 'S01-F1-m0', 0, 2_000_000);
    expect(got).toEqual(want);
    expect(got.lines?.map((l) => l.readingId)).toEqual(['S01-F1-m0:1', 'S01-F1-m0:2', 'S01-F1-m0:3', 'S01-F1-m0:6', null, 'S01-F1-m0:8', 'S01-F1-m0:9', 'first-keys', 'S01-F1-m0:12']);
  });

  it('makes the object a gap at the first line that is not a JSON object, wherever it is and whoever it names', () => {
    const good = [0, 1, 2].map((s) => archived(reading('S01-F1-m0', s), s));
    expect(meterLines([good[0], 'not json', good[1]].join('\n'), 'S01-F1-m0', 0, 2e6)).toEqual({ gap: 'line 2 is not JSON' });
    expect(meterLines([good[0], good[1], '[1,2]'].join('\n'), 'S01-F1-m0', 0, 2e6)).toEqual({ gap: 'line 3 is not a JSON object' });
    expect(meterLines([good[0], '{"meterId":"S01-F1-m0","ts":1000000', good[2]].join('\n'), 'S01-F1-m0', 0, 2e6)).toEqual({ gap: 'line 2 is not JSON' });
    // A braced line that names the meter but is broken inside is parsed, and fails as such.
    expect(meterLines([good[0], '{"meterId":"S01-F1-m0",,"ts":1}'].join('\n'), 'S01-F1-m0', 0, 2e6)).toEqual({ gap: 'line 2 is not JSON' });
    expect(meterLines(good.join('\n\n') + '\n', 'S01-F1-m0', 0, 2e6).lines).toHaveLength(3);
    expect(meterLines('', 'S01-F1-m0', 0, 2e6)).toEqual({ lines: [] });
  });

  it('agrees with parsing on generated objects of mixed meters and shapes', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const meters = ['m1', 'm10', 'm1x', 'M1', 'm2'];
    for (let round = 0; round < 30; round++) {
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        const m = meters[Math.floor(rand() * meters.length)]!;
        const extra: Record<string, unknown> = {};
        const k = rand();
        if (k < 0.1) extra.flags = ['estimated'];
        else if (k < 0.15) extra.comment = `q"${m}"\\`;
        else if (k < 0.2) extra.inner = { meterId: 'm1', ts: 1_000_500 };
        else if (k < 0.25) extra.ts = rand() < 0.5 ? null : -5;
        lines.push(archived(reading(m, Math.floor(rand() * 100), extra), i));
      }
      const text = lines.join('\n') + (rand() < 0.5 ? '\n' : '');
      const from = 1_000_000 + Math.floor(rand() * 50) * 1000;
      expect(meterLines(text, 'm1', from, from + 40_000)).toEqual(reference(text, 'm1', from, from + 40_000));
    }
  });
});
