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

describe('ReadingStore rings of bytes', () => {
  it('keeps text and bytes alike, widens for a longer reading, keeps an over-long one, and returns oldest first after the ring wraps', () => {
    const s = new ReadingStore(4, 10);
    s.add('A', value('A', 1), 1);
    s.add('A', Buffer.from(value('A', 2)), 2);
    expect(s.add('A', Buffer.from(value('A', 2)), 3)).toBe(false); // a repeat, as bytes
    expect(s.add('A', value('A', 1), 3)).toBe(false); // a repeat, as text
    s.add('A', value('A', 3, 'y'.repeat(300)), 4); // wider than the slots so far
    s.add('A', value('A', 4, 'z'.repeat(5000)), 5); // longer than any slot is made
    s.add('A', value('A', 5), 6); // the ring wraps: seq 1 goes
    const r = s.recent('A');
    expect(r?.readings.map((x) => x.readingId)).toEqual(['A:2', 'A:3', 'A:4', 'A:5']);
    expect(r?.readings[1]?.pad).toBe('y'.repeat(300));
    expect(r?.readings[2]?.pad).toBe('z'.repeat(5000));
    expect([s.held, s.fullMeters, s.duplicates, r?.received]).toEqual([4, 1, 2, 5]);
    expect(s.textBytes).toBe([value('A', 2), value('A', 3, 'y'.repeat(300)), value('A', 4, 'z'.repeat(5000)), value('A', 5)].reduce((n, v) => n + v.length, 0));
  });

  it('evicts exactly the least recently updated meter once it orders itself (past half of maxMeters)', () => {
    const s = new ReadingStore(2, 4);
    for (const [m, seq] of [['A', 1], ['B', 1], ['A', 2], ['C', 1], ['B', 2], ['D', 1], ['E', 1]] as const) s.add(m, value(m, seq), 0);
    // Recency before E: A(2) oldest, then C, B, D: E evicts A.
    expect([s.size, s.evictedMeters, s.recent('A'), s.recent('C')?.readings.length]).toEqual([4, 1, null, 1]);
    s.add('C', value('C', 2), 0);
    s.add('F', value('F', 1), 0); // B is now the least recently updated
    expect([s.recent('B'), s.recent('C')?.readings.length, s.recent('D')?.readings.length]).toEqual([null, 2, 1]);
  });
});
