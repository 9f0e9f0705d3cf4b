import { describe, expect, it } from 'vitest';
import { ManualClock, silentLogger, type Gap } from '../../../shared/index.ts';
import { EdgeStore, type CommitUnit } from '../../../edge/store/index.ts';
import { anomaly, openStore, reading, tempDir, trackStores } from './helpers.ts';

const track = trackStores();

describe('EdgeStore', () => {
  it('keeps lanes apart and returns rows oldest first', () => {
    const s = track(openStore(tempDir()));
    s.commit({ records: [reading('m1', 1), anomaly('m1', 1), reading('m2', 1), reading('m1', 2)] });
    const r = s.peek('readings', 10);
    expect(r.map((x) => [x.meterId, x.seq])).toEqual([['m1', 1], ['m2', 1], ['m1', 2]]);
    expect(r[0]!.id).toBeLessThan(r[1]!.id);
    expect(s.peek('control', 10).map((x) => x.topic)).toEqual(['grid.anomalies']);
    expect(s.stats()).toMatchObject({ depth: 4, byLane: { control: 1, readings: 3 } });
    s.remove(r.slice(0, 2).map((x) => x.id));
    expect(s.peek('readings', 10).map((x) => x.seq)).toEqual([2]);
    expect(s.stats().depth).toBe(2);
  });

  it('removeRange of a peeked batch has exactly the effect of remove() of its ids (with and without the replay journal)', () => {
    for (const retainForReplay of [false, true]) {
      const [a, b] = [track(openStore(tempDir(), { retainForReplay })), track(openStore(tempDir(), { retainForReplay }))];
      for (const s of [a, b]) {
        s.commit({ records: [reading('m1', 1), anomaly('m1', 1), reading('m2', 1)] });
        // A checkpoint in the middle of the batch: rows up to it are deleted, the rest kept as the journal.
        s.commit({ records: [anomaly('m1', 2), reading('m1', 2)], checkpoint: [['m1', { n: 1 }]] });
        s.commit({ records: [reading('m2', 2), reading('m1', 3), anomaly('m2', 1), reading('m1', 4)] });
      }
      const rows = a.peek('readings', 4);
      expect(rows.map((r) => r.seq)).toEqual([1, 1, 2, 2]);
      a.remove(rows.map((r) => r.id));
      b.removeRange('readings', rows[0]!.id, rows[3]!.id);
      const ctl = a.peek('control', 1);
      a.remove(ctl.map((r) => r.id));
      b.removeRange('control', ctl[0]!.id, ctl[0]!.id);
      for (const lane of ['readings', 'control'] as const) expect(b.peek(lane, 10)).toEqual(a.peek(lane, 10));
      expect(b.stats()).toEqual(a.stats());
      expect(b.stats()).toMatchObject({ depth: 4, byLane: { control: 2, readings: 2 } });
      expect([...b.replayAfterCheckpoint()]).toEqual([...a.replayAfterCheckpoint()]);
      // Rows no longer waiting (already removed) in the range are left alone; an empty range is nothing.
      b.removeRange('readings', rows[0]!.id, rows[3]!.id);
      b.removeRange('readings', 5, 4);
      expect(b.stats()).toEqual(a.stats());
    }
  });

  it('a failing unit leaves nothing behind (one transaction)', () => {
    const s = track(openStore(tempDir()));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const unit: CommitUnit = { records: [reading('m1', 1), anomaly('m1', 1)], meterStates: [['m1', { a: 1 }], ['m2', cyclic]] };
    expect(() => s.commit(unit)).toThrow();
    expect(s.peek('readings', 10)).toEqual([]);
    expect(s.peek('control', 10)).toEqual([]);
    expect(s.loadMeterStates().size).toBe(0);
    expect(s.stats()).toMatchObject({ depth: 0, bytes: 0 });
  });

  it('reopen restores stats, meter states, checkpoint and dead letters', () => {
    const dir = tempDir();
    const a = openStore(dir, { deadLetterMax: 3 });
    a.commit({
      records: [reading('m1', 1), reading('m1', 2), anomaly('m1', 1)],
      meterStates: [['m1', { lastSeq: 2, open: ['x'] }]],
      deadLetters: [1, 2, 3, 4, 5].map((i) => ({ receivedAt: i, topic: 'meters/x/reading', clientId: 'c', reason: 'invalid_json', detail: 'bad', payload: 'x'.repeat(10_000) })),
    });
    const before = a.stats();
    a.close();
    const b = track(openStore(dir, { deadLetterMax: 3 }));
    expect(b.stats()).toEqual(before);
    expect(b.stats().deadLetters).toBe(3);
    expect(b.loadMeterStates().get('m1')).toEqual({ lastSeq: 2, open: ['x'] });
    const dl = b.deadLetters(10);
    expect(dl.map((d) => d.receivedAt)).toEqual([5, 4, 3]);
    expect((dl[0]!.payload as Buffer).length).toBe(4096);
  });

  it('evicts oldest readings over budget, records gaps in the control lane, never evicts control rows', () => {
    const clock = new ManualClock();
    const s = track(openStore(tempDir(), { budgetBytes: 40_000, clock }));
    const anomalies = Array.from({ length: 20 }, (_, i) => anomaly('m1', i));
    s.commit({ records: anomalies });
    for (let seq = 1; seq <= 150; seq++) s.commit({ records: [reading('m1', seq), reading('m2', seq)] });
    expect(s.overBudget()).toBe(true);
    const gaps = s.enforceBudget();
    expect(s.overBudget()).toBe(false);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    const m1 = gaps.filter((g) => g.meterId === 'm1');
    expect(m1[0]).toMatchObject({ reason: 'evicted', fromSeq: 1 });
    const left = s.peek('readings', 1000);
    const firstLeftM1 = left.find((r) => r.meterId === 'm1')!.seq!;
    expect(m1.reduce((n, g) => n + g.count, 0)).toBe(firstLeftM1 - 1);
    expect(m1[m1.length - 1]!.toSeq).toBe(firstLeftM1 - 1);
    const control = s.peek('control', 1000);
    expect(control.filter((r) => r.topic === 'grid.anomalies')).toHaveLength(20);
    const gapRows = control.filter((r) => r.topic === 'grid.gaps').map((r) => JSON.parse(r.value) as Gap);
    expect(gapRows).toEqual(gaps);
    expect(s.stats()).toMatchObject({ gapsRecorded: gaps.length, gapReadings: 300 - left.length });
    // Control rows alone over budget: kept, nothing more to evict.
    s.commit({ records: Array.from({ length: 400 }, (_, i) => anomaly('m3', i)) });
    s.enforceBudget();
    expect(s.peek('readings', 1000)).toEqual([]);
    expect(s.peek('control', 10_000).filter((r) => r.topic === 'grid.anomalies')).toHaveLength(420);
  });

  it('rolling checkpoint + replay journal: acknowledged rows after each meter\'s checkpoint are kept for replay', () => {
    const dir = tempDir();
    const a = openStore(dir, { retainForReplay: true });
    a.commit({ records: [reading('m1', 1)], checkpoint: [['m1', { n: 1 }]] });
    a.commit({ records: [reading('m1', 2), anomaly('m1', 1), reading('m2', 1)] });
    a.commit({ records: [reading('m1', 3)] });
    a.remove([...a.peek('readings', 10), ...a.peek('control', 10)].map((r) => r.id));
    expect(a.stats().depth).toBe(0);
    a.close();
    const b = track(openStore(dir, { retainForReplay: true }));
    const cp = b.loadCheckpoint()!;
    expect(cp.states.get('m1')).toEqual({ n: 1 });
    expect(cp.coversByMeter.get('m1')).toBe(1);
    expect([...b.replayAfterCheckpoint()].map((r) => [r.topic, r.meterId, r.seq ?? null])).toEqual([
      ['grid.readings', 'm1', 2],
      ['grid.anomalies', 'm1', null],
      ['grid.readings', 'm2', 1],
      ['grid.readings', 'm1', 3],
    ]);
    expect(b.peek('readings', 10)).toEqual([]);
    // m2 checkpointed: horizon stays at m1's checkpoint; m2's row is no longer replayed.
    b.commit({ records: [reading('m2', 2)], checkpoint: [['m2', { n: 2 }]] });
    expect([...b.replayAfterCheckpoint()].map((r) => [r.meterId, r.seq ?? null])).toEqual([
      ['m1', 2],
      ['m1', null],
      ['m1', 3],
    ]);
    const bytes = b.stats().bytes;
    b.commit({ records: [], checkpoint: [['m1', { n: 3 }]] });
    expect([...b.replayAfterCheckpoint()].map((r) => [r.meterId, r.seq])).toEqual([]);
    expect(b.stats().bytes).toBeLessThan(bytes);
    expect(b.stats().depth).toBe(1); // m2 seq 2 still waits for Kafka
    expect(b.replayIncomplete()).toBe(false);
  });

  it('a full disk surfaces as STORAGE_FULL, retryable, and keeps nothing of the unit', () => {
    const s = track(EdgeStore.open({ dir: tempDir(), edgeId: 'e', budgetBytes: 1e9, clock: new ManualClock(), logger: silentLogger(), maxPageCount: 40 }));
    let err: unknown;
    try {
      for (let i = 0; i < 10_000; i++) s.commit({ records: [reading('m1', i)] });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'STORAGE_FULL', retryable: true });
    const depth = s.stats().depth;
    expect(s.peek('readings', 100_000)).toHaveLength(depth);
  });
});
