// Archiver with a DirSink in a temp dir: key layout, deterministic bytes, de-duplication, failures,
// and exactly once across simulated crashes at every point of a flush.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, Metrics, TOPICS, GridwatchError, silentLogger } from '../../../shared/index.ts';
import { Archiver, DirSink, type ArchiveSink } from '../../../central/archive/index.ts';
import { anomaly, batch, gridEvent, readBack, reading } from './fixtures.ts';

const logger = silentLogger();
const dirs: string[] = [];
async function freshSink(): Promise<DirSink> {
  const d = await mkdtemp(join(tmpdir(), 'gw-archiver-'));
  dirs.push(d);
  return new DirSink(d);
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A sink that records puts and can be told to fail (or "crash": fail every put from then on). */
class FaultySink implements ArchiveSink {
  puts: string[] = [];
  failAfter = Infinity;
  constructor(private readonly inner: ArchiveSink) {}
  describe(): string {
    return `faulty(${this.inner.describe()})`;
  }
  async put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void> {
    if (this.puts.length >= this.failAfter) throw new GridwatchError('ARCHIVE_FAILED', 'injected crash', { retryable: true });
    this.puts.push(key);
    await this.inner.put(key, body, meta);
  }
  get(key: string): Promise<Buffer | null> {
    return this.inner.get(key);
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
}

describe('Archiver layout', () => {
  it('writes gzip JSONL under Hive-style keys by event date/hour and substation, one offset range per flush', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger });
    // 10 readings 20 minutes apart starting 05:58: they span hours 05..08 UTC.
    a.add(batch(TOPICS.readings, 3, 100, Array.from({ length: 10 }, (_, i) => reading(i, { stepMs: 20 * 60_000 }))));
    expect(await a.flushAll()).toEqual([{ topic: TOPICS.readings, partition: 3, nextOffset: '110' }]);
    const keys = (await sink.list('readings/')).map((k) => k.replace(/\/3-00000000000000000100-00000000000000000109\.jsonl\.gz$/, ''));
    expect(keys).toEqual([
      'readings/date=2026-11-23/hour=05/substation=S01',
      'readings/date=2026-11-23/hour=06/substation=S01',
      'readings/date=2026-11-23/hour=06/substation=S02',
      'readings/date=2026-11-23/hour=07/substation=S01',
      'readings/date=2026-11-23/hour=07/substation=S02',
      'readings/date=2026-11-23/hour=08/substation=S01',
      'readings/date=2026-11-23/hour=08/substation=S02',
    ]);
    const back = await readBack(sink);
    expect(back.map((r) => r.record._offset).sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(100 + i)).sort());
    expect(back.find((r) => r.record._offset === '100')?.record).toMatchObject({ readingId: 'm-0:0', voltage: 225 });
  });

  it('with configured topic names (topicKinds), files by event time and de-duplicates as for the v1 names', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger, topicKinds: { 'site-b.anomalies': 'anomalies' } });
    a.add(batch('site-b.anomalies', 0, 0, [anomaly(1, 'open'), anomaly(1, 'closed'), anomaly(1, 'closed')]));
    await a.flushAll();
    // Own key prefix (no collision with the v1 topic's objects), but event-time hours and identity.
    expect(await sink.list('site-b')).toEqual([
      'site-b.anomalies/date=2026-11-23/hour=05/substation=S01/0-00000000000000000000-00000000000000000002.jsonl.gz',
      'site-b.anomalies/date=2026-11-23/hour=06/substation=S01/0-00000000000000000000-00000000000000000002.jsonl.gz',
    ]);
    expect(await readBack(sink, 'site-b.anomalies/')).toHaveLength(2);
  });

  it('maps anomalies and events to their prefixes, filed by when they happened', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger });
    a.add(batch(TOPICS.anomalies, 0, 0, [anomaly(1, 'open'), anomaly(1, 'closed')]));
    a.add(batch(TOPICS.events, 1, 7, [gridEvent(1, 1, 10)]));
    a.add(batch('grid.gaps', 0, 0, ['not an object']));
    await a.flushAll();
    expect(await sink.list('anomalies/')).toEqual([
      'anomalies/date=2026-11-23/hour=05/substation=S01/0-00000000000000000000-00000000000000000001.jsonl.gz',
      'anomalies/date=2026-11-23/hour=06/substation=S01/0-00000000000000000000-00000000000000000001.jsonl.gz',
    ]);
    expect(await sink.list('events/')).toEqual(['events/date=2026-11-23/hour=05/substation=S01/1-00000000000000000007-00000000000000000007.jsonl.gz']);
    const gaps = await readBack(sink, 'gaps/');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]?.key).toContain('substation=_unknown');
  });

  it('writes identical bytes for identical input (fixed gzip header, offset order, no wall clock)', async () => {
    const values = Array.from({ length: 500 }, (_, i) => reading(i));
    const bodies: Map<string, Buffer>[] = [];
    for (const clock of [new ManualClock(0), new ManualClock(9e12)]) {
      const sink = await freshSink();
      const a = new Archiver({ sink, logger, clock });
      a.add(batch(TOPICS.readings, 0, 0, values.slice(0, 200)));
      a.add(batch(TOPICS.readings, 0, 200, values.slice(200)));
      await a.flushAll();
      const m = new Map<string, Buffer>();
      for (const k of await sink.list('readings/')) m.set(k, (await sink.get(k)) as Buffer);
      bodies.push(m);
    }
    const [x, y] = bodies as [Map<string, Buffer>, Map<string, Buffer>];
    expect([...x.keys()]).toEqual([...y.keys()]);
    for (const [k, b] of x) {
      expect(b.equals(y.get(k) as Buffer)).toBe(true);
      expect(b.readUInt32LE(4)).toBe(0); // gzip MTIME
    }
  });
});

describe('Archiver de-duplication and flushing', () => {
  it('drops duplicates within a flush by identity and counts them; ignores re-delivered offsets', async () => {
    const sink = await freshSink();
    const metrics = new Metrics('test', { defaultMetrics: false });
    const a = new Archiver({ sink, logger, metrics });
    const r = [reading(1), reading(2), reading(1), reading(3), reading(2)]; // at-least-once upstream
    a.add(batch(TOPICS.readings, 0, 0, r));
    a.add(batch(TOPICS.readings, 0, 0, r)); // the same offsets again (a Kafka re-delivery)
    a.add(batch(TOPICS.anomalies, 0, 0, [anomaly(1, 'open'), anomaly(1, 'open'), anomaly(1, 'closed')]));
    a.add(batch(TOPICS.events, 0, 0, [gridEvent(1, 1, 5), gridEvent(1, 2, 9), gridEvent(1, 2, 9)]));
    await a.flushAll();
    const back = await readBack(sink);
    expect(back.filter((x) => x.key.startsWith('readings/')).map((x) => x.record.readingId).sort()).toEqual(['m-1:1', 'm-2:2', 'm-3:3']);
    expect(back.filter((x) => x.key.startsWith('anomalies/')).map((x) => `${x.record.anomalyId}|${x.record.state}`).sort()).toEqual(['a-1|closed', 'a-1|open']);
    expect(back.filter((x) => x.key.startsWith('events/')).map((x) => x.record.version)).toEqual([1, 2]);
    const text = await metrics.text();
    expect(text).toMatch(/gridwatch_archive_duplicates_total\{topic="grid.readings",program="test"\} 2/);
    expect(text).toMatch(/gridwatch_archive_records_total\{topic="grid.readings",program="test"\} 3/);
    expect(text).toMatch(/gridwatch_archive_objects_total\{topic="grid.events",program="test"\} 1/);
    expect(text).toMatch(/gridwatch_archive_flush_seconds_count\{[^}]*topic="grid.readings"[^}]*\} 1/);
  });

  it('flushes by size and by age, per partition', async () => {
    const clock = new ManualClock(0);
    const a = new Archiver({ sink: await freshSink(), logger, clock, maxRecords: 100, maxAgeMs: 10_000 });
    a.add(batch(TOPICS.readings, 0, 0, Array.from({ length: 100 }, (_, i) => reading(i))));
    a.add(batch(TOPICS.readings, 1, 0, Array.from({ length: 10 }, (_, i) => reading(i))));
    expect(await a.flushDue()).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '100' }]);
    clock.advance(9_999);
    expect(await a.flushDue()).toEqual([]);
    clock.advance(1);
    expect(await a.flushDue()).toEqual([{ topic: TOPICS.readings, partition: 1, nextOffset: '10' }]);
    expect(await a.flushAll()).toEqual([]);
  });

  it('returns no offsets for a failed flush, surfaces ARCHIVE_FAILED, and retries the same range', async () => {
    const inner = await freshSink();
    const sink = new FaultySink(inner);
    const a = new Archiver({ sink, logger });
    a.add(batch(TOPICS.readings, 0, 0, Array.from({ length: 50 }, (_, i) => reading(i))));
    a.add(batch(TOPICS.readings, 1, 0, Array.from({ length: 5 }, (_, i) => reading(i))));
    sink.failAfter = 2; // partition 0 or 1 gets through its marker and one object, then puts fail
    const err = await a.flushAll().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCHIVE_FAILED', retryable: true });
    // More records arrive; the retry must still write exactly the failed range first.
    a.add(batch(TOPICS.readings, 0, 50, Array.from({ length: 10 }, (_, i) => reading(50 + i))));
    sink.failAfter = Infinity;
    const first = await a.flushDue();
    expect(first.map((o) => `${o.partition}:${o.nextOffset}`).sort()).toEqual(['0:50', '1:5']);
    expect(await a.flushAll()).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '60' }]);
    const offsets = (await readBack(inner)).map((r) => `${r.key.split('/').pop()?.split('-')[0]}:${String(r.record._offset)}`);
    expect(offsets).toHaveLength(65);
    expect(new Set(offsets).size).toBe(65);
  });
});

/**
 * The crash test: run 1 flushes with one size, crashes after `crashAfterPuts` puts (never
 * committing what it had not returned), run 2 starts a NEW Archiver on the same store, is re-fed
 * from the last committed offset and flushes with a different size. Every record must be in the
 * archive exactly once, and objects run 1 wrote are rewritten, if at all, with the same bytes.
 */
async function crashAndRestart(crashAfterPuts: number, sizes: [number, number], total = 300): Promise<{ keysRun1: string[]; rewrittenDiffer: string[]; counts: Map<string, number> }> {
  const inner = await freshSink();
  const values = Array.from({ length: total }, (_, i) => reading(i, { stepMs: 47_000 }));
  const topic = TOPICS.readings;
  const committed = new Map<number, number>([[0, 0], [1, 0]]);
  const chunk = 37;

  const sink1 = new FaultySink(inner);
  sink1.failAfter = crashAfterPuts;
  const run1 = new Archiver({ sink: sink1, logger, maxRecords: sizes[0] });
  crashed: for (let off = 0; off < total; off += chunk) {
    for (const p of [0, 1]) {
      run1.add(batch(topic, p, off, values.slice(off, off + chunk)));
      try {
        for (const c of await run1.flushDue()) committed.set(c.partition, Number(c.nextOffset));
      } catch {
        break crashed; // the process dies here: buffers, in-flight flushes and uncommitted offsets are lost
      }
    }
  }
  const written1 = new Map<string, Buffer>();
  for (const k of await inner.list('readings/')) written1.set(k, (await inner.get(k)) as Buffer);

  const sink2 = new FaultySink(inner);
  const run2 = new Archiver({ sink: sink2, logger, maxRecords: sizes[1] });
  for (const p of [0, 1]) {
    const from = committed.get(p) as number;
    for (let off = from; off < total; off += chunk) {
      run2.add(batch(topic, p, off, values.slice(off, Math.min(off + chunk, total))));
      for (const c of await run2.flushDue()) committed.set(c.partition, Number(c.nextOffset));
    }
  }
  for (const c of await run2.flushAll()) committed.set(c.partition, Number(c.nextOffset));
  expect(committed.get(0)).toBe(total);
  expect(committed.get(1)).toBe(total);

  const rewrittenDiffer: string[] = [];
  for (const k of sink2.puts) {
    const before = written1.get(k);
    if (before && !before.equals((await inner.get(k)) as Buffer)) rewrittenDiffer.push(k);
  }
  const counts = new Map<string, number>();
  for (const { key, record } of await readBack(inner)) {
    const id = `${key.split('/').pop()?.split('-')[0]}:${String(record._offset)}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return { keysRun1: [...written1.keys()], rewrittenDiffer, counts };
}

describe('Archiver exactly once across a crash before the offset commit', () => {
  it('holds for a crash at every put of several flushes, with different flush sizes after restart', async () => {
    let sawPartialReplay = false;
    for (let crashAt = 0; crashAt <= 40; crashAt++) {
      const { counts, rewrittenDiffer, keysRun1 } = await crashAndRestart(crashAt, [90, 55]);
      expect(rewrittenDiffer, `crash after ${crashAt} puts`).toEqual([]);
      expect(counts.size, `crash after ${crashAt} puts`).toBe(600);
      expect([...counts.values()].every((n) => n === 1), `crash after ${crashAt} puts: a record archived twice`).toBe(true);
      if (keysRun1.length > 0) sawPartialReplay = true;
    }
    expect(sawPartialReplay).toBe(true);
    // 41 crash-and-restart runs; each flush now also carries the identity index in its marker.
  }, 60_000);

  it('replays an unfinished flush with the same keys and bytes', async () => {
    const inner = await freshSink();
    const values = Array.from({ length: 100 }, (_, i) => reading(i, { stepMs: 60_000 }));
    const crashing = new FaultySink(inner);
    crashing.failAfter = 3; // marker + 2 of the objects
    const run1 = new Archiver({ sink: crashing, logger });
    run1.add(batch(TOPICS.readings, 0, 0, values));
    await expect(run1.flushAll()).rejects.toMatchObject({ code: 'ARCHIVE_FAILED' });
    const partial = await inner.list('readings/');
    expect(partial).toHaveLength(2);

    const run2 = new Archiver({ sink: inner, logger, maxRecords: 10 });
    expect(await run2.resumeFrom(TOPICS.readings, 0)).toBeNull(); // nothing complete yet: read from the start
    run2.add(batch(TOPICS.readings, 0, 0, values.slice(0, 40)));
    expect(await run2.flushDue()).toEqual([]); // size says flush, but the unfinished range ends at 99
    run2.add(batch(TOPICS.readings, 0, 40, values.slice(40)));
    expect(await run2.flushDue()).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '100' }]);
    const all = await inner.list('readings/');
    expect(all.every((k) => k.endsWith('0-00000000000000000000-00000000000000000099.jsonl.gz'))).toBe(true);
    for (const k of partial) expect(all).toContain(k);
    expect((await readBack(inner)).length).toBe(100);
    expect(await new Archiver({ sink: inner, logger }).resumeFrom(TOPICS.readings, 0)).toBe('100');
  });

  it('treats a started flush whose objects all exist as done, and lets its re-delivery be committed', async () => {
    const inner = await freshSink();
    const run1 = new Archiver({ sink: inner, logger });
    run1.add(batch(TOPICS.anomalies, 2, 0, [anomaly(1), anomaly(2), anomaly(3)]));
    await run1.flushAll(); // offsets returned, but the process dies before committing them
    const run2 = new Archiver({ sink: inner, logger });
    run2.add(batch(TOPICS.anomalies, 2, 0, [anomaly(1), anomaly(2), anomaly(3)]));
    expect(await run2.flushAll()).toEqual([{ topic: TOPICS.anomalies, partition: 2, nextOffset: '3' }]);
    expect((await readBack(inner)).length).toBe(3);
    expect(await run2.resumeFrom(TOPICS.anomalies, 2)).toBe('3');
    // With the marker loaded first, re-deliveries alone make flushDue hand back their offsets.
    const run3 = new Archiver({ sink: inner, logger });
    expect(await run3.resumeFrom(TOPICS.anomalies, 2)).toBe('3');
    run3.add(batch(TOPICS.anomalies, 2, 0, [anomaly(1), anomaly(2), anomaly(3)]));
    expect(await run3.flushDue()).toEqual([{ topic: TOPICS.anomalies, partition: 2, nextOffset: '3' }]);
    expect(await run3.flushDue()).toEqual([]);
  });

  it('drops the buffer of a revoked partition and writes nothing for it', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger });
    a.add(batch(TOPICS.readings, 0, 0, [reading(1)]));
    await a.onRevoke(TOPICS.readings, 0);
    expect(await a.flushAll()).toEqual([]);
    expect(await sink.list('')).toEqual([]);
  });
});

it('gzip bodies are valid JSONL with one record per line', async () => {
  const sink = await freshSink();
  const a = new Archiver({ sink, logger });
  a.add(batch(TOPICS.readings, 0, 0, [reading(0), reading(3)]));
  await a.flushAll();
  const [key] = await sink.list('readings/');
  const text = gunzipSync((await sink.get(key as string)) as Buffer).toString();
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trim().split('\n').map((l) => JSON.parse(l).readingId)).toEqual(['m-0:0', 'm-3:3']);
});
