// The zombie fence (ArchiverOptions.fence): once the fence says the membership lapsed, the Archiver
// writes nothing more (no marker, no object), fails the flush as retryable and counts it; the
// next owner, a fresh Archiver on the same sink, archives every record exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GridwatchError, Metrics, TOPICS, silentLogger } from '../../../shared/index.ts';
import { Archiver, DirSink, type ArchiveSink } from '../../../central/archive/index.ts';
import { batch, readBack, reading } from './fixtures.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Counts puts; `onPut` runs before each. */
class CountingSink implements ArchiveSink {
  puts = 0;
  onPut: () => void = () => undefined;
  constructor(private readonly inner: ArchiveSink) {}
  describe(): string {
    return this.inner.describe();
  }
  async put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void> {
    this.onPut();
    this.puts++;
    await this.inner.put(key, body, meta);
  }
  get(key: string): Promise<Buffer | null> {
    return this.inner.get(key);
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
}

describe('the archive fence', () => {
  it('stops writing in the middle of a flush once the membership lapsed, and the next owner archives exactly once', async () => {
    const d = await mkdtemp(join(tmpdir(), 'gw-fence-'));
    dirs.push(d);
    const sink = new CountingSink(new DirSink(d));
    let lapsed: string | null = null;
    const metrics = new Metrics('central', { defaultMetrics: false });
    const zombie = new Archiver({ sink, logger: silentLogger(), metrics, putConcurrency: 1, fence: () => lapsed });
    // 300 readings over 5 hours: one flush of several objects (date/hour/substation).
    const values = Array.from({ length: 300 }, (_, i) => reading(i, { stepMs: 60_000 }));
    zombie.add(batch(TOPICS.readings, 0, 0, values));
    // The process "stops" during its third put (the marker, two objects): the fourth is refused.
    sink.onPut = () => {
      if (sink.puts === 2) lapsed = 'no heartbeat acknowledged for 45000 ms';
    };
    const err = await zombie.flushAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).retryable).toBe(true);
    expect((err as GridwatchError).message).toContain('may have lost the partition');
    expect(sink.puts).toBe(3);
    // Retried while still lapsed: nothing written at all.
    await zombie.flushAll().catch(() => undefined);
    expect(sink.puts).toBe(3);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/gridwatch_archive_fenced_total\{topic="grid.readings"[^}]*\} 2\n/);

    // The new owner re-reads from the last commit (nothing was committed) and completes the flush.
    const owner = new Archiver({ sink, logger: silentLogger() });
    owner.add(batch(TOPICS.readings, 0, 0, values));
    const done = await owner.flushAll();
    expect(done).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '300' }]);
    const lines = await readBack(sink);
    expect(lines.map((l) => l.record._offset).sort((a, b) => Number(a) - Number(b))).toEqual(values.map((_, i) => String(i)));
  }, 60_000);

  it('writes as before while the fence is open', async () => {
    const d = await mkdtemp(join(tmpdir(), 'gw-fence-'));
    dirs.push(d);
    const a = new Archiver({ sink: new DirSink(d), logger: silentLogger(), fence: () => null });
    a.add(batch(TOPICS.readings, 1, 0, [reading(1), reading(2)]));
    expect(await a.flushAll()).toEqual([{ topic: TOPICS.readings, partition: 1, nextOffset: '2' }]);
  }, 60_000);
});
