import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EdgeStore, type Lane, type StoredRecord } from '../../../edge/store/index.ts';
import { anomaly, openStore, reading, tempDir, trackStores } from './helpers.ts';

const track = trackStores();

/** What the forwarder does with a batch: peek, then removeRange of it. */
function forward(s: EdgeStore, lane: Lane, n: number): StoredRecord[] {
  const rows = s.peek(lane, n);
  if (rows.length > 0) s.removeRange(lane, rows[0]!.id, rows[rows.length - 1]!.id);
  return rows;
}

describe('EdgeStore: committed rows from memory, a forwarded watermark per lane', () => {
  it('peek takes freshly committed rows from memory, and reads SQLite when memory holds less than what waits', () => {
    const dir = tempDir();
    const s = track(openStore(dir));
    s.commit({ records: [reading('m1', 1), reading('m1', 2), anomaly('m1', 1)] });
    expect(s.memoryHeld('readings').rows).toBe(2);
    // Change the stored text behind the store's back: a read-back would see it, memory does not.
    s.sqlite().prepare("UPDATE outbox SET value = 'changed'").run();
    expect(s.peek('readings', 10).map((r) => r.value)).not.toContain('changed');
    // With no memory at all the same store reads SQLite.
    const t = track(openStore(tempDir(), { memoryBytes: 0 }));
    t.commit({ records: [reading('m1', 1)] });
    expect(t.memoryHeld('readings').rows).toBe(0);
    t.sqlite().prepare("UPDATE outbox SET value = 'changed'").run();
    expect(t.peek('readings', 10).map((r) => r.value)).toEqual(['changed']);
  });

  it('memory bounded by bytes: past the bound the oldest rows are read from SQLite, in the same order, nothing skipped', () => {
    // One reading is ~250 bytes as the budget counts it: 2,000 bytes hold a handful.
    const small = track(openStore(tempDir(), { memoryBytes: 2000, retainForReplay: true }));
    const none = track(openStore(tempDir(), { memoryBytes: 0, retainForReplay: true }));
    const big = track(openStore(tempDir(), { retainForReplay: true }));
    const seen: Record<string, number[]> = { small: [], none: [], big: [] };
    let seq = 0;
    for (let round = 0; round < 30; round++) {
      const records = Array.from({ length: 1 + (round % 7) }, () => reading(`m${seq % 5}`, ++seq));
      if (round % 4 === 0) records.push(anomaly('m1', round));
      for (const [name, s] of [['small', small], ['none', none], ['big', big]] as const) {
        s.commit({ records, checkpoint: round % 5 === 0 ? [['m1', { round }]] : undefined });
        if (round % 3 !== 0) for (const r of forward(s, 'readings', 1 + (round % 4))) seen[name]!.push(r.seq!);
        if (round % 6 === 1) forward(s, 'control', 10);
      }
      expect(small.memoryHeld('readings').bytes).toBeLessThanOrEqual(2000);
    }
    expect(small.stats()).toEqual(none.stats());
    // Drain the rest the same way everywhere and compare what each store forwarded.
    for (const [name, s] of [['small', small], ['none', none], ['big', big]] as const) {
      for (let r = forward(s, 'readings', 3); r.length > 0; r = forward(s, 'readings', 3)) seen[name]!.push(...r.map((x) => x.seq!));
    }
    expect(seen.none).toHaveLength(seq);
    expect(seen.small).toEqual(seen.none);
    expect(seen.big).toEqual(seen.none);
    expect(small.stats()).toEqual(none.stats());
    expect(big.stats()).toEqual(none.stats());
    expect([...small.replayAfterCheckpoint()]).toEqual([...none.replayAfterCheckpoint()]);
    expect(big.stats().byLane.readings).toBe(0);
  });

  it('the watermark survives a restart: nothing acknowledged comes back, nothing waiting is lost, the order holds', () => {
    const dir = tempDir();
    const a = openStore(dir, { retainForReplay: true });
    a.commit({ records: [reading('m1', 1), reading('m2', 1), anomaly('m1', 1), reading('m1', 2)] });
    a.commit({ records: [reading('m2', 2), reading('m1', 3)], checkpoint: [['m1', { n: 1 }]] });
    expect(forward(a, 'readings', 3).map((r) => r.seq)).toEqual([1, 1, 2]);
    a.commit({ records: [reading('m1', 4)] });
    a.close();
    const b = track(openStore(dir, { retainForReplay: true }));
    expect(b.memoryHeld('readings').rows).toBe(0);
    expect(b.stats().byLane).toEqual({ control: 1, readings: 3 });
    expect(b.peek('readings', 10).map((r) => [r.meterId, r.seq])).toEqual([['m2', 2], ['m1', 3], ['m1', 4]]);
    // New commits after the restart wait behind the old rows.
    b.commit({ records: [reading('m2', 3)] });
    expect(forward(b, 'readings', 2).map((r) => r.seq)).toEqual([2, 3]);
    expect(forward(b, 'readings', 10).map((r) => r.seq)).toEqual([4, 3]);
    expect(b.stats().byLane.readings).toBe(0);
    expect(forward(b, 'control', 10).map((r) => r.topic)).toEqual(['grid.anomalies']);
  });

  it('a live-tail batch above waiting rows is flagged, not a watermark: the older rows still wait, after a restart too', () => {
    const dir = tempDir();
    const a = openStore(dir, { retainForReplay: true, memoryBytes: 0 });
    a.commit({ records: [reading('m1', 1), reading('m1', 2)] });
    const tailAfter = a.newestId();
    a.commit({ records: [reading('m1', 3), reading('m1', 4)] });
    const tail = a.peekAfter('readings', tailAfter, 10);
    expect(tail.map((r) => r.seq)).toEqual([3, 4]);
    a.removeRange('readings', tail[0]!.id, tail[1]!.id);
    expect(a.peek('readings', 10).map((r) => r.seq)).toEqual([1, 2]);
    a.close();
    const b = track(openStore(dir, { retainForReplay: true }));
    expect(b.peek('readings', 10).map((r) => r.seq)).toEqual([1, 2]);
    expect(forward(b, 'readings', 10).map((r) => r.seq)).toEqual([1, 2]);
    expect(b.stats().byLane.readings).toBe(0);
    // The flagged rows are journal rows like the others: a checkpoint past them deletes them all.
    b.commit({ records: [reading('m1', 5)], checkpoint: [['m1', { n: 5 }]] });
    forward(b, 'readings', 10);
    b.commit({ records: [], checkpoint: [['m1', { n: 6 }]] });
    expect(b.sqlite().prepare('SELECT count(*) AS n FROM outbox WHERE id <= ?').get(b.newestId() - 1)).toEqual({ n: 0 });
  });

  it('opens a schema-1 database (sent flags): the watermarks are derived and the rows still waiting are sent, in order', () => {
    const dir = tempDir();
    const db = new Database(path.join(dir, 'edge.db'));
    db.exec(`CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane INTEGER NOT NULL, topic TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL, meter_id TEXT, seq INTEGER, sent INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX outbox_waiting ON outbox(lane, id) WHERE sent = 0;
      CREATE INDEX outbox_journal ON outbox(id) WHERE sent = 1;
      CREATE TABLE meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema_version', 1);`);
    const ins = db.prepare('INSERT INTO outbox(lane, topic, key, value, ts, meter_id, seq, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const [seq, sent] of [[1, 1], [2, 1], [3, 0], [4, 1], [5, 0]] as const) {
      const r = reading('m1', seq);
      ins.run(1, r.topic, r.key, r.value, r.ts, r.meterId, r.seq, sent);
    }
    const c = anomaly('m1', 1);
    ins.run(0, c.topic, c.key, c.value, c.ts, c.meterId, null, 1);
    db.close();
    const s = track(openStore(dir, { retainForReplay: true }));
    expect(s.stats().byLane).toEqual({ control: 0, readings: 2 });
    expect(forward(s, 'readings', 10).map((r) => r.seq)).toEqual([3, 5]);
    expect(s.peek('control', 10)).toEqual([]);
    const indexes = s.sqlite().prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'").all();
    expect(indexes).toEqual([{ name: 'outbox_control' }]);
  });

  it('eviction takes the evicted readings out of memory and puts its gap records in', () => {
    const s = track(openStore(tempDir(), { budgetBytes: 3000 }));
    s.commit({ records: Array.from({ length: 20 }, (_, i) => reading('m1', i + 1)) });
    const gaps = s.enforceBudget();
    expect(gaps.length).toBeGreaterThan(0);
    const left = s.peek('readings', 100);
    expect(left.length).toBe(s.stats().byLane.readings);
    expect(left[0]!.seq).toBeGreaterThan(1);
    expect(s.peek('control', 100).map((r) => r.topic)).toEqual(gaps.map(() => 'grid.gaps'));
  });
});
