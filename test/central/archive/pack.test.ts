// The archive's request for a flush packed in slices (packRequestSliced): the same request as the
// one-pass packRequest, with turns of the event loop between the slices.
import { describe, expect, it } from 'vitest';
import { packRequest, packRequestSliced } from '../../../central/archive/build.ts';

const base = { topic: 'grid.readings', partition: 2, kind: 'readings' as const, seen: { meters: {}, others: [] }, influx: 'none' as const };
const records = Array.from({ length: 1003 }, (_, i) => ({ offset: 10_000_000_000n + BigInt(i), timestamp: String(1_700_000_000_000 + i * 7), value: Buffer.from(JSON.stringify({ meterId: `m${i % 17}`, seq: i, v: 'x'.repeat(i % 50) })) }));

describe('packRequestSliced', () => {
  it('packs exactly what packRequest packs', async () => {
    const one = packRequest(base, records);
    for (const slice of [1, 100, 1002, 1003, 5000]) expect(await packRequestSliced(base, records, slice)).toEqual(one);
    expect(await packRequestSliced(base, [], 100)).toEqual(packRequest(base, []));
  });

  it('lets the event loop run between slices', async () => {
    let turns = 0;
    let on = true;
    const tick = () => {
      turns++;
      if (on) setImmediate(tick);
    };
    setImmediate(tick);
    await packRequestSliced(base, records, 100); // 11 slices
    on = false;
    expect(turns).toBeGreaterThanOrEqual(10);
  });
});
