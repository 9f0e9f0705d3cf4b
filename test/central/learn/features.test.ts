import { describe, expect, it } from 'vitest';
import { FEATURES, FeatureBuilder, type FeatureRow } from '../../../central/learn/features.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const col = (name: (typeof FEATURES)[number]) => FEATURES.indexOf(name);

/**
 * Two transformers on one feeder, three meters each, one reading a minute for `days` days. t1's
 * voltage falls with its load (`slope(day)` pu at full load); t2 stays at 1 pu. Loads follow the
 * hour of the day, the same every day.
 */
function run(slope: (day: number) => number, days = 2): FeatureRow[] {
  const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: 0, nominalOf: () => 230 });
  const rows: FeatureRow[] = [];
  for (let ts = 0; ts < days * DAY; ts += MIN) {
    const load = 0.2 + 0.8 * Math.abs(Math.sin((Math.PI * (ts % DAY)) / DAY));
    for (const [tr, k] of [['t1', 1], ['t2', 0]] as const) {
      for (let m = 0; m < 3; m++) {
        const v = 1 - k * slope(Math.floor(ts / DAY)) * load;
        rows.push(...fb.add({ meterId: `${tr}-m${m}`, transformerId: tr, feederId: 'f1', ts, voltage: 230 * v, power: 2 * load }));
      }
    }
  }
  rows.push(...fb.closeUpTo());
  return rows;
}

describe('FeatureBuilder', () => {
  it('compares a transformer with the feeder\'s other transformers, not with a mean that includes itself', () => {
    const rows = run(() => 0.03, 1);
    const r = rows.find((x) => x.meterId === 't1-m0' && x.windowStart === 12 * HOUR)!;
    const load = 0.2 + 0.8 * Math.abs(Math.sin((Math.PI * (12 * HOUR + 5 * MIN)) / DAY));
    expect(r.values[col('transformer_rel_others')]).toBeCloseTo(-0.03 * load, 3);
    // The feeder's mean has t1 in it: half the difference.
    expect(r.values[col('transformer_rel_feeder')]).toBeCloseTo((-0.03 * load) / 2, 3);
  });

  it('compares a feeder\'s only transformer with the other transformers of its substation', () => {
    const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: 0, nominalOf: () => 230 });
    const rows: FeatureRow[] = [];
    for (let ts = 0; ts <= 10 * MIN; ts += MIN) {
      for (const [tr, fd, sub, v] of [['t1', 'f1', 's1', 0.97], ['t2', 'f2', 's1', 1.0], ['t3', 'f3', 's1', 1.01], ['t4', 'f4', 's2', 0.9]] as const) {
        rows.push(...fb.add({ meterId: `${tr}-m`, transformerId: tr, feederId: fd, substationId: sub, ts, voltage: 230 * v, power: 1 }));
      }
    }
    const of = (m: string) => rows.find((r) => r.meterId === m)!.values;
    expect(of('t1-m')[col('transformer_rel_others')]).toBeCloseTo(0.97 - (1.0 + 1.01) / 2, 5);
    expect(of('t1-m')[col('transformer_rel_feeder')]).toBe(0);
    // Alone in its substation: nothing to compare with.
    expect(of('t4-m')[col('transformer_rel_others')]).toBe(0);
  });

  it('sees a grown voltage-versus-load slope of a transformer against its previous day, at high load, and nothing when the slope stays', () => {
    const grown = run((d) => (d === 0 ? 0.03 : 0.09));
    const same = run(() => 0.03);
    const at = (rows: FeatureRow[], t: number) => rows.find((x) => x.meterId === 't1-m1' && x.windowStart === t)!.values;
    // Day 1 has no past day: 0.
    expect(at(grown, 12 * HOUR)[col('transformer_drop_residual')]).toBe(0);
    // Day 2 at noon (load near 1): the extra 0.06 pu x load shows as a residual of about -0.06.
    expect(at(grown, DAY + 12 * HOUR)[col('transformer_drop_residual')]).toBeLessThan(-0.05);
    expect(at(grown, DAY + 12 * HOUR)[col('transformer_drop_residual_smooth')]).toBeLessThan(-0.04);
    expect(Math.abs(at(same, DAY + 12 * HOUR)[col('transformer_drop_residual')]!)).toBeLessThan(1e-3);
    // The neighbouring transformer shows the opposite sign (it stands above its only other transformer): a rise, not a sag.
    const t2 = grown.find((x) => x.meterId === 't2-m0' && x.windowStart === DAY + 12 * HOUR)!.values;
    expect(t2[col('transformer_drop_residual')]).toBeGreaterThan(0.04);
    expect(at(grown, DAY + 12 * HOUR)[col('has_baseline')]).toBe(1);
  });

  it('closes nothing and allocates no result until a window is due', () => {
    const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: MIN });
    const a = fb.add({ meterId: 'm1', transformerId: 't1', feederId: 'f1', ts: 0, voltage: 230, power: 1 });
    const b = fb.add({ meterId: 'm1', transformerId: 't1', feederId: 'f1', ts: MIN, voltage: 230, power: 1 });
    expect(a).toHaveLength(0);
    expect(a).toBe(b);
    for (let i = 2; i < 10; i++) fb.add({ meterId: 'm1', transformerId: 't1', feederId: 'f1', ts: i * MIN, voltage: 230, power: 1 });
    expect(fb.add({ meterId: 'm1', transformerId: 't1', feederId: 'f1', ts: 10 * MIN, voltage: 230, power: 1 })).toHaveLength(0); // within lateMs
    expect(fb.add({ meterId: 'm1', transformerId: 't1', feederId: 'f1', ts: 11 * MIN, voltage: 230, power: 1 })).toHaveLength(1);
  });

  describe('closing a window', () => {
    const add = (fb: FeatureBuilder, meterId: string, ts: number) => fb.add({ meterId, transformerId: 't1', feederId: 'f1', ts, voltage: 230, power: 1 });
    const grace = 5 * MIN;

    it('closes a complete window at its last reading, without waiting for the grace (the first window waits: no count of meters yet)', () => {
      const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: grace });
      const closedAt: number[] = [];
      for (let ts = 0; ts < 30 * MIN; ts += MIN) for (const m of ['a', 'b', 'c']) if (add(fb, m, ts).length > 0) closedAt.push(ts);
      // Window 0 by the grace (at 15 min), windows 1 and 2 at their last tick (19 and 29 min), by the last meter's reading.
      expect(closedAt).toEqual([15 * MIN, 19 * MIN, 29 * MIN]);
      expect(fb.counters.late).toBe(0);
    });

    it('keeps a window open for a meter that missed its last reading until its next one comes or the grace passes', () => {
      const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: grace });
      for (let ts = 0; ts < 20 * MIN; ts += MIN) for (const m of ['a', 'b']) add(fb, m, ts);
      // Window 2 (20-30 min): b misses 29 min; a's last reading does not close it.
      for (let ts = 20 * MIN; ts < 29 * MIN; ts += MIN) for (const m of ['a', 'b']) expect(add(fb, m, ts)).toHaveLength(0);
      expect(add(fb, 'a', 29 * MIN)).toHaveLength(0);
      expect(add(fb, 'a', 30 * MIN)).toHaveLength(0);
      // b moves on to window 3: window 2 has all it will get.
      expect(add(fb, 'b', 30 * MIN).map((r) => r.windowStart)).toEqual([20 * MIN, 20 * MIN]);
      // Window 3: b falls silent after one reading; the window closes by the grace, 5 min past its
      // end (b's one reading is a partial window: skipped and counted).
      for (let ts = 31 * MIN; ts < 45 * MIN; ts += MIN) expect(add(fb, 'a', ts).filter((r) => r.windowStart === 30 * MIN)).toHaveLength(0);
      expect(add(fb, 'a', 45 * MIN).map((r) => `${r.meterId}@${r.windowStart}`)).toEqual([`a@${30 * MIN}`]);
      expect(fb.counters).toMatchObject({ late: 0, partial: 1 });
    });

    it('builds the same rows as closing on the grace alone, when the readings come in order', () => {
      const build = (closeComplete: boolean) => {
        const fb = new FeatureBuilder({ windowMs: 10 * MIN, intervalMs: MIN, lateMs: 2 * MIN, closeComplete, nominalOf: () => 230 });
        const rows: FeatureRow[] = [];
        for (let ts = 0; ts < 2 * DAY; ts += MIN) {
          const load = 0.2 + 0.8 * Math.abs(Math.sin((Math.PI * (ts % DAY)) / DAY));
          for (let m = 0; m < 4; m++) rows.push(...fb.add({ meterId: `m${m}`, transformerId: m < 2 ? 't1' : 't2', feederId: 'f1', ts, voltage: 230 * (1 - 0.01 * m * load), power: (1 + m) * load }));
        }
        rows.push(...fb.closeUpTo());
        return rows;
      };
      const early = build(true);
      const grace = build(false);
      expect(early.length).toBe(grace.length);
      expect(early.length).toBe(4 * 2 * 144);
      early.forEach((r, i) => {
        expect(r.meterId).toBe(grace[i]!.meterId);
        expect(r.windowStart).toBe(grace[i]!.windowStart);
        expect([...r.values]).toEqual([...grace[i]!.values]);
      });
    });
  });
});
