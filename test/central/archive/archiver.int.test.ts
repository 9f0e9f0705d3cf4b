// Archiver + S3Sink against the real MinIO: many records over several partitions archived and
// read back exactly once, including across a crash after the archive write and before the commit.
import { describe, expect, it } from 'vitest';
import { GridwatchError, TOPICS, silentLogger } from '../../../shared/index.ts';
import { Archiver, S3Sink, type ArchiveSink } from '../../../central/archive/index.ts';
import { testEndpoints, uniqueName } from '../../harness/env.ts';
import { batch, readBack, reading } from './fixtures.ts';

const logger = silentLogger();
const { s3 } = testEndpoints();

async function bucketSink(prefix: string): Promise<S3Sink> {
  const sink = new S3Sink({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket: uniqueName(prefix) });
  await sink.ensureBucket();
  return sink;
}

/** Fails every put after the first `limit`: the process "dies" there. */
class CrashingSink implements ArchiveSink {
  puts = 0;
  constructor(private readonly inner: ArchiveSink, private readonly limit: number) {}
  describe(): string {
    return this.inner.describe();
  }
  async put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void> {
    if (this.puts++ >= this.limit) throw new GridwatchError('ARCHIVE_FAILED', 'crash', { retryable: true });
    await this.inner.put(key, body, meta);
  }
  get(key: string): Promise<Buffer | null> {
    return this.inner.get(key);
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
}

const PARTITIONS = [0, 1, 2, 3];
const PER_PARTITION = 5_000;
const CHUNK = 500;
const values = Array.from({ length: PER_PARTITION }, (_, i) => reading(i, { stepMs: 2_000 }));

function countByOffset(records: { key: string; record: Record<string, unknown> }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { key, record } of records) {
    const id = `${key.split('/').pop()?.split('-')[0]}:${String(record._offset)}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('Archiver with MinIO', () => {
  it('archives every record of several partitions exactly once, across a crash before the offset commit', async () => {
    const store = await bucketSink('archive-crash');
    const committed = new Map(PARTITIONS.map((p) => [p, 0]));

    // Run 1: flushes every 1,200 records, dies in the middle of a flush (after 23 puts).
    const run1 = new Archiver({ sink: new CrashingSink(store, 23), logger, maxRecords: 1_200 });
    crashed: for (let off = 0; off < PER_PARTITION; off += CHUNK) {
      for (const p of PARTITIONS) {
        run1.add(batch(TOPICS.readings, p, off, values.slice(off, off + CHUNK)));
        try {
          for (const c of await run1.flushDue()) committed.set(c.partition, Number(c.nextOffset));
        } catch {
          break crashed;
        }
      }
    }
    const before = await store.list('readings/');
    expect(before.length).toBeGreaterThan(0);
    expect([...committed.values()].some((o) => o < PER_PARTITION)).toBe(true);
    const bytesBefore = new Map<string, Buffer>();
    for (const k of before) bytesBefore.set(k, (await store.get(k)) as Buffer);

    // Run 2: a new Archiver, re-fed from the committed offsets, flushing at a different size.
    const run2 = new Archiver({ sink: store, logger, maxRecords: 1_700 });
    for (const p of PARTITIONS) {
      const resume = await run2.resumeFrom(TOPICS.readings, p);
      expect(resume === null || Number(resume) >= (committed.get(p) as number)).toBe(true);
      for (let off = committed.get(p) as number; off < PER_PARTITION; off += CHUNK) {
        run2.add(batch(TOPICS.readings, p, off, values.slice(off, Math.min(off + CHUNK, PER_PARTITION))));
        for (const c of await run2.flushDue()) committed.set(c.partition, Number(c.nextOffset));
      }
    }
    for (const c of await run2.flushAll()) committed.set(c.partition, Number(c.nextOffset));
    for (const p of PARTITIONS) expect(committed.get(p)).toBe(PER_PARTITION);

    // The objects run 1 wrote are still there with the same bytes (rewritten identically, or skipped).
    for (const [k, b] of bytesBefore) expect(((await store.get(k)) as Buffer).equals(b), k).toBe(true);
    const counts = countByOffset(await readBack(store, 'readings/'));
    expect(counts.size).toBe(PARTITIONS.length * PER_PARTITION);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  });

  it('measures archive throughput into MinIO (gzip JSONL)', async () => {
    const store = await bucketSink('archive-bench');
    const total = 200_000;
    const perPartition = total / PARTITIONS.length;
    const recs = Array.from({ length: perPartition }, (_, i) => reading(i, { stepMs: 250 }));
    const batches = PARTITIONS.flatMap((p) => Array.from({ length: perPartition / 1000 }, (_, j) => batch(TOPICS.readings, p, j * 1000, recs.slice(j * 1000, (j + 1) * 1000))));
    const a = new Archiver({ sink: store, logger, maxRecords: 25_000 });
    const t0 = performance.now();
    let returned = 0;
    for (const b of batches) {
      a.add(b);
      returned += (await a.flushDue()).length;
    }
    returned += (await a.flushAll()).length;
    const seconds = (performance.now() - t0) / 1000;
    const keys = await store.list('readings/');
    let bytes = 0;
    for (const k of keys.slice(0, 20)) bytes += ((await store.get(k)) as Buffer).length;
    const rate = Math.round(total / seconds);
    process.stderr.write(`[archive bench] ${total} readings, ${PARTITIONS.length} partitions, ${keys.length} objects, ${seconds.toFixed(2)} s: ${rate} records/s into MinIO (gzip JSONL); ~${Math.round(bytes / 20 / 1024)} KiB per object sampled\n`);
    expect(returned).toBe(PARTITIONS.length * (perPartition / 25_000));
    expect(rate).toBeGreaterThan(5_000);
  });
});
