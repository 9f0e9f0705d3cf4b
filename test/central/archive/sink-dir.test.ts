import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirSink, createSink } from '../../../central/archive/index.ts';
import { archiveSinkContract } from './sink-contract.ts';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gw-archive-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

archiveSinkContract('DirSink', async () => new DirSink(await freshDir()));

describe('DirSink', () => {
  it('leaves no temporary files behind and rejects keys that escape the directory', async () => {
    const dir = await freshDir();
    const sink = new DirSink(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => sink.put('x/k.gz', Buffer.from(`v${i % 2}`))));
    expect(await readdir(join(dir, 'x'))).toEqual(['k.gz']);
    await expect(sink.put('../evil', Buffer.from('x'))).rejects.toMatchObject({ code: 'ARCHIVE_FAILED', retryable: false });
    await expect(sink.put('/abs', Buffer.from('x'))).rejects.toMatchObject({ code: 'ARCHIVE_FAILED' });
  });

  it('createSink picks the directory when no S3 is configured, and refuses an empty config', async () => {
    expect(createSink({ dir: await freshDir() }).describe()).toMatch(/^dir:/);
    expect(() => createSink({})).toThrow(/neither/);
  });
});
