// The archive's byte budget (backpressure) and its build thread: held bytes rise with what is
// buffered, stay while the sink fails, fall to 0 once written or revoked; the worker thread builds
// byte for byte what the inline build does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GridwatchError, TOPICS, silentLogger } from '../../../shared/index.ts';
import { Archiver, DirSink, type ArchiveSink } from '../../../central/archive/index.ts';
import { buildFlush, packRequest } from '../../../central/archive/build.ts';
import { workerBuilder } from '../../../central/archive/builder.ts';
import { batch, readBack, reading } from './fixtures.ts';

const logger = silentLogger();
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function freshSink(): Promise<DirSink> {
  const d = await mkdtemp(join(tmpdir(), 'gw-budget-'));
  dirs.push(d);
  return new DirSink(d);
}

/** A sink that can be switched off (MinIO down). */
class SwitchSink implements ArchiveSink {
  down = false;
  constructor(private readonly inner: ArchiveSink) {}
  describe(): string {
    return 'switch';
  }
  private check(): void {
    if (this.down) throw new GridwatchError('ARCHIVE_FAILED', 'sink down', { retryable: true });
  }
  async put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void> {
    this.check();
    await this.inner.put(key, body, meta);
  }
  async get(key: string): Promise<Buffer | null> {
    this.check();
    return this.inner.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    this.check();
    return this.inner.list(prefix);
  }
}

describe('Archiver byte budget', () => {
  it('counts held bytes, is over budget while the sink is down, and releases them once written', async () => {
    const inner = await freshSink();
    const sink = new SwitchSink(inner);
    const a = new Archiver({ sink, logger, maxBufferedBytes: 20_000, maxRecords: 1_000_000 });
    const values = Array.from({ length: 200 }, (_, i) => reading(i));
    const bytes = values.reduce((n, v) => n + Buffer.byteLength(JSON.stringify(v)), 0);
    expect(bytes).toBeGreaterThan(20_000);
    a.add(batch(TOPICS.readings, 0, 0, values.slice(0, 20)));
    expect(a.overBudget()).toBe(false);
    sink.down = true;
    a.add(batch(TOPICS.readings, 0, 20, values.slice(20)));
    expect(a.heldBytes).toBe(bytes);
    expect(a.overBudget()).toBe(true);
    // Past half the budget every buffer is due, but the flush fails: nothing is released.
    await expect(a.flushDue()).rejects.toThrow(/archive flush failed/);
    expect(a.heldBytes).toBe(bytes);
    expect(a.resumeBelow()).toBe(false);
    sink.down = false;
    expect(await a.flushDue()).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '200' }]);
    expect(a.heldBytes).toBe(0);
    expect(a.resumeBelow()).toBe(true);
    const archived = (await readBack(inner, 'readings/')).map((r) => String(r.record.readingId));
    expect(archived.sort()).toEqual(values.map((v) => v.readingId).sort());
  }, 60_000); // the first build starts the archive's thread, slow on a loaded machine

  it('releases the bytes of a revoked partition', async () => {
    const a = new Archiver({ sink: await freshSink(), logger, maxBufferedBytes: 1_000_000 });
    a.add(batch(TOPICS.readings, 1, 0, Array.from({ length: 10 }, (_, i) => reading(i))));
    expect(a.heldBytes).toBeGreaterThan(0);
    await a.onRevoke(TOPICS.readings, 1);
    expect(a.heldBytes).toBe(0);
  });
});

describe('archive build thread', () => {
  it('builds the same objects, identity index and feeder minutes as the inline build', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ offset: BigInt(500 + i), timestamp: '1', value: Buffer.from(JSON.stringify(reading(i % 250))) }));
    const base = { topic: TOPICS.readings, partition: 2, kind: 'readings' as const, seen: { meters: {}, others: [] }, influx: 'fold' as const };
    const inline = buildFlush(packRequest(base, records));
    const threaded = await workerBuilder().build(packRequest(base, records));
    expect(inline.duplicates).toBe(50);
    expect(threaded.kept).toBe(inline.kept);
    expect(threaded.seenAfter).toEqual(inline.seenAfter);
    expect(threaded.feederMinutes).toEqual(inline.feederMinutes);
    expect(threaded.objects.map((o) => [o.key, o.records, Buffer.from(o.body).toString('base64')])).toEqual(inline.objects.map((o) => [o.key, o.records, o.body.toString('base64')]));
  });
});
