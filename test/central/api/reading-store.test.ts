// The recent-readings store's size figures (gauges central_recent_readings*): a soak judges
// central's memory only once the store is full, so the figures must follow every add, replacement
// and eviction exactly.
import { describe, expect, it } from 'vitest';
import { ReadingStore } from '../../../central/api/store.ts';

const value = (meterId: string, seq: number, pad = '') => JSON.stringify({ meterId, readingId: `${meterId}:${seq}`, ts: seq * 1000, voltage: 230, pad });

describe('ReadingStore size figures', () => {
  it('counts readings, their text and full rings while filling, replacing and evicting', () => {
    const s = new ReadingStore(3, 2);
    const a = [1, 2, 3].map((i) => value('A', i));
    a.forEach((v, i) => s.add('A', v, i));
    expect([s.held, s.fullMeters, s.textBytes]).toEqual([3, 1, a.reduce((n, v) => n + v.length, 0)]);
    // A fourth reading replaces the oldest: held stays, the text follows the new value.
    const long = value('A', 4, 'x'.repeat(50));
    s.add('A', long, 4);
    expect([s.held, s.fullMeters, s.textBytes]).toEqual([3, 1, a[1]!.length + a[2]!.length + long.length]);
    // A duplicate changes nothing.
    expect(s.add('A', long, 5)).toBe(false);
    expect(s.held).toBe(3);
    const b = value('B', 1);
    s.add('B', b, 6);
    expect([s.held, s.fullMeters, s.size]).toEqual([4, 1, 2]);
    // A third meter evicts A (least recently updated): its readings and its full ring go.
    const c = value('C', 1);
    s.add('C', c, 7);
    expect([s.size, s.evictedMeters, s.held, s.fullMeters, s.textBytes]).toEqual([2, 1, 2, 0, b.length + c.length]);
  });
});
