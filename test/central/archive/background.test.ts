// The archive's flushes off the commit path (Archiver.startDue / takeArchived, ArchiveGate):
// a partition whose sink write hangs does not hold back another partition's offsets, nothing is
// handed out before it is written, and the archive lines keep the bytes of the spread they replace.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, TOPICS, silentLogger } from '../../../shared/index.ts';
import { Archiver, DirSink, type ArchiveSink } from '../../../central/archive/index.ts';
import { parseMessage } from '../../../central/archive/layout.ts';
import { ArchiveGate } from '../../../central/consume/offsets.ts';
import { batch, readBack, reading } from './fixtures.ts';

const logger = silentLogger();
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A DirSink whose puts of one partition's objects wait until `release()`. */
class HeldSink implements ArchiveSink {
  private waiting: (() => void)[] = [];
  held = 0;
  constructor(private readonly inner: ArchiveSink, private readonly holds: (key: string) => boolean) {}
  describe(): string {
    return 'held';
  }
  async put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void> {
    if (this.holds(key)) {
      this.held++;
      await new Promise<void>((r) => this.waiting.push(r));
    }
    await this.inner.put(key, body, meta);
  }
  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
  get(key: string): Promise<Buffer | null> {
    return this.inner.get(key);
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
}

describe('archive flushes in the background', () => {
  it('commits a partition whose flush is written while another partition waits for its sink', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-background-'));
    dirs.push(dir);
    // Partition 1's objects (not its marker) hang until released.
    const sink = new HeldSink(new DirSink(dir), (key) => key.startsWith('readings/') && key.includes('/1-'));
    const clock = new ManualClock(0);
    const archiver = new Archiver({ sink, logger, clock, maxAgeMs: 1000 });
    const gate = new ArchiveGate(archiver, sink, null, logger);
    gate.add({ topic: TOPICS.readings, partition: 0, nextOffset: '10', messages: batch(TOPICS.readings, 0, 0, Array.from({ length: 10 }, (_, i) => reading(i))).messages });
    gate.add({ topic: TOPICS.readings, partition: 1, nextOffset: '10', messages: batch(TOPICS.readings, 1, 0, Array.from({ length: 10 }, (_, i) => reading(100 + i))).messages });
    // Not due yet: nothing starts, nothing is committable.
    expect(await gate.committable(false)).toEqual([]);
    clock.advance(1000);
    // Due: both start, the call returns without waiting for either.
    expect(await gate.committable(false)).toEqual([]);
    await until(() => sink.held > 0);
    // Partition 0 finishes while partition 1 still waits: only partition 0's offset comes out.
    let got: { topic: string; partition: number; offset: string }[] = [];
    await until(() => {
      void gate.committable(false).then((o) => (got = got.concat(o)));
      return got.length > 0;
    });
    expect(got).toEqual([{ topic: TOPICS.readings, partition: 0, offset: '10' }]);
    expect((await readBack(sink, 'readings/')).filter((r) => r.key.includes('/1-'))).toEqual([]);
    // Released: partition 1's offset follows, once, after its objects exist.
    sink.release();
    await until(() => {
      void gate.committable(false).then((o) => (got = got.concat(o)));
      return got.length > 1;
    });
    expect(got).toEqual([
      { topic: TOPICS.readings, partition: 0, offset: '10' },
      { topic: TOPICS.readings, partition: 1, offset: '10' },
    ]);
    expect((await readBack(sink, 'readings/')).length).toBe(20);
    expect(await gate.committable(true)).toEqual([]);
  });

  it('hands out nothing for a revoked partition, even a flush that finished before the revoke', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-background-'));
    dirs.push(dir);
    const clock = new ManualClock(0);
    const archiver = new Archiver({ sink: new DirSink(dir), logger, clock, maxAgeMs: 0 });
    archiver.add(batch(TOPICS.readings, 2, 0, [reading(1), reading(2)]));
    archiver.startDue();
    await until(() => (archiver as unknown as { archived: Map<string, unknown> }).archived.size > 0);
    await archiver.onRevoke(TOPICS.readings, 2);
    expect(archiver.takeArchived()).toEqual([]);
  });

  it('writes each line as JSON.stringify({ ...value, _offset }) would', () => {
    const texts = [
      JSON.stringify({ meterId: 'M1', ts: 1, voltage: 230.5, nested: { a: [1, 2] }, text: 'a "quoted" é \u2028 line' }),
      '{}',
      '{"b":"x","2":"two","1":"one","a":"y"}',
      '{"_offset":"stale","meterId":"M2"}',
      '{"__proto__":"own","meterId":"M3"}',
      '{ "spaced" : 1.50 }',
    ];
    for (const text of texts) {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const r = parseMessage(TOPICS.readings, { offset: '42', timestamp: '0', value: text });
      expect(r.line).toBe(JSON.stringify({ ...parsed, _offset: '42' }));
    }
  });
});
