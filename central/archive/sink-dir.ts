// Archive sink on local disk: the same key layout as in S3, one file per key. Writes go to a
// temporary file that is fsynced and renamed into place, so a reader (or a crash) sees either the
// old object or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { GridwatchError } from '../../shared/index.ts';
import type { ArchiveSink } from './types.ts';

const TMP_MARK = '.tmp-';

function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes(TMP_MARK)) {
    throw new GridwatchError('ARCHIVE_FAILED', `invalid archive key ${JSON.stringify(key)}`, { retryable: false });
  }
}

function failed(op: string, key: string, err: unknown): GridwatchError {
  const code = (err as NodeJS.ErrnoException).code;
  // Full disks and I/O errors may clear; permission and path errors will not.
  const retryable = code === 'ENOSPC' || code === 'EIO' || code === 'EMFILE' || code === 'EAGAIN' || code === 'EBUSY';
  return new GridwatchError('ARCHIVE_FAILED', `dir sink ${op} ${key}: ${(err as Error).message}`, { retryable, cause: err });
}

export class DirSink implements ArchiveSink {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  describe(): string {
    return `dir:${this.dir}`;
  }

  private path(key: string): string {
    return join(this.dir, ...key.split('/'));
  }

  async put(key: string, body: Buffer, _meta?: Record<string, string>): Promise<void> {
    checkKey(key);
    const file = this.path(key);
    const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(dirname(file), { recursive: true });
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw failed('put', key, err);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw failed('get', key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only below the deepest directory the prefix names completely.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(rel === '' ? this.dir : this.path(rel), { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw failed('list', prefix, err);
      }
      for (const e of entries) {
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (e.isFile() && !e.name.includes(TMP_MARK) && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    if (base.split(sep).includes('..')) return [];
    await walk(base);
    return out.sort();
  }
}
