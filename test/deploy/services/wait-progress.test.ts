// A server still writing its log is still starting: waitUntilHealthy waits past its timeout while
// the log grows (a broker loading ten thousand partitions), and gives up once the log is quiet.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paths } from '../../../deploy/services/layout.ts';
import { tailOfFile, waitUntilHealthy } from '../../../deploy/services/process.ts';

const savedCache = process.env.GRIDWATCH_CACHE_DIR;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridwatch-wait-'));
  process.env.GRIDWATCH_CACHE_DIR = dir;
  mkdirSync(paths.logs(), { recursive: true });
});
afterEach(() => {
  if (savedCache === undefined) delete process.env.GRIDWATCH_CACHE_DIR;
  else process.env.GRIDWATCH_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

/** Appends a line to the server's log every 100 ms for `forMs`. */
function keepLogging(name: string, forMs: number): () => void {
  const until = Date.now() + forMs;
  const timer = setInterval(() => {
    if (Date.now() < until) appendFileSync(paths.log(name), `loaded partition ${Date.now()}\n`);
  }, 100);
  return () => clearInterval(timer);
}

describe('waitUntilHealthy with progress', () => {
  it('answers when the server answers after its timeout but while it was still logging', async () => {
    const stop = keepLogging('slow', 1500);
    const readyAt = Date.now() + 1200;
    const lines: string[] = [];
    try {
      await waitUntilHealthy('slow', async () => Date.now() >= readyAt, { timeoutMs: 400, command: 'slow-server', progress: { maxMs: 10_000, quietMs: 600 }, log: (l) => lines.push(l) });
    } finally {
      stop();
    }
    expect(Date.now()).toBeGreaterThanOrEqual(readyAt);
    expect(lines.join('\n')).toMatch(/slow: not answering after 0.4s but still writing its log/);
  });

  it('gives up once the log has been quiet for quietMs, and says how long it waited', async () => {
    const stop = keepLogging('stuck', 800);
    const t = Date.now();
    try {
      await expect(waitUntilHealthy('stuck', async () => false, { timeoutMs: 300, command: 'stuck-server', progress: { maxMs: 10_000, quietMs: 500 } }))
        .rejects.toThrow(/stuck did not answer within \d+s/);
    } finally {
      stop();
    }
    const waited = Date.now() - t;
    expect(waited).toBeGreaterThanOrEqual(800 + 400); // logged for 0.8 s, then 0.5 s of quiet
    expect(waited).toBeLessThan(8000); // far short of maxMs
  });

  it('without progress it keeps to its timeout even while the log grows', async () => {
    const stop = keepLogging('plain', 3000);
    const t = Date.now();
    try {
      await expect(waitUntilHealthy('plain', async () => false, { timeoutMs: 400, command: 'plain-server' })).rejects.toThrow(/did not answer/);
    } finally {
      stop();
    }
    expect(Date.now() - t).toBeLessThan(2500);
  });
});

describe('tailOfFile', () => {
  it('returns the last lines of a large log without reading all of it', () => {
    const file = paths.log('big');
    const line = `${'x'.repeat(99)}\n`;
    appendFileSync(file, line.repeat(20_000)); // 2 MB
    appendFileSync(file, 'second to last\nthe last line\n');
    expect(tailOfFile(file, 2)).toBe('second to last\nthe last line');
    expect(tailOfFile(join(dir, 'none.log'))).toMatch(/no log at/);
  });
});
