// One contract for every archive sink (directory, S3): run by sink-dir.test.ts and sink-s3.int.test.ts.
import { describe, expect, it } from 'vitest';
import type { ArchiveSink } from '../../../central/archive/index.ts';

export function archiveSinkContract(name: string, make: () => Promise<ArchiveSink>): void {
  describe(`ArchiveSink contract: ${name}`, () => {
    it('gets back exactly the bytes it put, and null for a missing key', async () => {
      const sink = await make();
      const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
      await sink.put('readings/date=2026-11-23/hour=06/substation=S01/0-1-2.jsonl.gz', body);
      expect((await sink.get('readings/date=2026-11-23/hour=06/substation=S01/0-1-2.jsonl.gz'))?.equals(body)).toBe(true);
      expect(await sink.get('readings/date=2026-11-23/hour=06/substation=S01/0-3-4.jsonl.gz')).toBeNull();
    });

    it('lists every key under a prefix, sorted, including prefixes that end inside a name', async () => {
      const sink = await make();
      const keys = ['a/x/2.gz', 'a/x/1.gz', 'a/y/1.gz', 'ab/1.gz', 'b/1.gz'];
      for (const k of keys) await sink.put(k, Buffer.from(k));
      expect(await sink.list('a/')).toEqual(['a/x/1.gz', 'a/x/2.gz', 'a/y/1.gz']);
      expect(await sink.list('a')).toEqual(['a/x/1.gz', 'a/x/2.gz', 'a/y/1.gz', 'ab/1.gz']);
      expect(await sink.list('a/x/1')).toEqual(['a/x/1.gz']);
      expect(await sink.list('a/x/1.gz')).toEqual(['a/x/1.gz']);
      expect(await sink.list('nothing/')).toEqual([]);
    });

    it('overwrites a key idempotently: same key, same bytes, one object', async () => {
      const sink = await make();
      const body = Buffer.from('{"readingId":"m-1:1"}\n');
      await sink.put('events/k.jsonl.gz', body);
      await sink.put('events/k.jsonl.gz', body);
      await sink.put('events/k.jsonl.gz', body, { 'x-amz-meta-gridwatch-first-offset': '1' });
      expect(await sink.list('events/')).toEqual(['events/k.jsonl.gz']);
      expect((await sink.get('events/k.jsonl.gz'))?.equals(body)).toBe(true);
      const other = Buffer.from('replaced');
      await sink.put('events/k.jsonl.gz', other);
      expect((await sink.get('events/k.jsonl.gz'))?.equals(other)).toBe(true);
    });

    it('describes itself', async () => {
      expect((await make()).describe()).toMatch(/^(dir|s3):/);
    });
  });
}
