// Who may start and stop a shared server: a run that missed a slow health probe must neither start
// a second server over a running one nor stop, at its teardown, a server another run started.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paths } from '../../../deploy/services/layout.ts';
import {
  ensureServer, isAlive, runningRecord, spawnedToken, startDecision, startDetached, stopByPidFile, stopDecision, withSpawnLock, type PidRecord,
} from '../../../deploy/services/process.ts';

const savedCache = process.env.GRIDWATCH_CACHE_DIR;
let dir: string;
const spawned: number[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridwatch-ownership-'));
  process.env.GRIDWATCH_CACHE_DIR = dir;
});
afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (savedCache === undefined) delete process.env.GRIDWATCH_CACHE_DIR;
  else process.env.GRIDWATCH_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer((s) => s.end());
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
const closedPort = async (): Promise<number> => {
  const { server, port } = await listen();
  await new Promise((r) => server.close(r));
  return port;
};
const sleeper = (name: string): PidRecord => {
  const r = startDetached(name, 'sleep', ['30']);
  spawned.push(r.pid);
  return r;
};

describe('startDecision', () => {
  it('reuses what answers, waits for what is there but slow, spawns only when nothing is there', () => {
    expect(startDecision({ answers: true, recordAlive: false, portOpen: false })).toBe('reuse');
    expect(startDecision({ answers: true, recordAlive: true, portOpen: true })).toBe('reuse');
    expect(startDecision({ answers: false, recordAlive: true, portOpen: false })).toBe('wait');
    expect(startDecision({ answers: false, recordAlive: false, portOpen: true })).toBe('wait');
    expect(startDecision({ answers: false, recordAlive: false, portOpen: false })).toBe('spawn');
  });
});

describe('stopDecision', () => {
  const record: PidRecord = { pid: 1, command: 'x', startedAt: '', spawnedBy: 1, token: 'mine' };
  it('stops on a token only the pid file it wrote, and anything recorded without one', () => {
    expect(stopDecision(undefined, 'mine')).toBe('not running');
    expect(stopDecision(record, 'mine')).toBe('stop');
    expect(stopDecision(record, 'theirs')).toBe('not ours');
    expect(stopDecision({ pid: 1, command: 'x', startedAt: '' }, 'mine')).toBe('not ours');
    expect(stopDecision(record, undefined)).toBe('stop');
  });
});

describe('ensureServer', () => {
  it('waits for a server whose port is open but that misses its first probes, and starts nothing', async () => {
    const { server, port } = await listen();
    let probes = 0;
    let starts = 0;
    const started = await ensureServer({
      name: 'slow', host: '127.0.0.1', port, at: 'here', log: () => undefined, waitMs: 10_000,
      answers: async () => ++probes > 3,
      start: async () => void starts++,
    });
    server.close();
    expect(started).toBe(false);
    expect(starts).toBe(0);
    expect(probes).toBeGreaterThan(3);
  });

  it('waits for a server with a live pid record (another run started it), and does not claim it', async () => {
    // A live server whose pid file another run wrote (its token, not ours).
    const theirs = sleeper('recorded');
    writeFileSync(paths.pid('recorded'), JSON.stringify({ ...theirs, token: 'another-run' }));
    let probes = 0;
    const started = await ensureServer({
      name: 'recorded', host: '127.0.0.1', port: await closedPort(), at: 'here', log: () => undefined, waitMs: 10_000,
      answers: async () => ++probes > 2,
      start: async () => {
        throw new Error('must not start');
      },
    });
    expect(started).toBe(false);
    expect(spawnedToken('recorded')).toBeUndefined();
  });

  it('spawns when nothing is there, reports it as started, and its teardown leaves a pid file another run rewrote', async () => {
    let up = false;
    const started = await ensureServer({
      name: 'fresh', host: '127.0.0.1', port: await closedPort(), at: 'here', log: () => undefined,
      answers: async () => up,
      start: async () => {
        sleeper('fresh');
        up = true;
      },
    });
    expect(started).toBe(true);
    const mine = spawnedToken('fresh');
    expect(mine).toBeDefined();
    // Another run replaced the server and its pid file: this run's teardown must leave it alone.
    const mineRecord = runningRecord('fresh')!;
    const other = startDetached('other', 'sleep', ['30']);
    spawned.push(other.pid);
    writeFileSync(paths.pid('fresh'), JSON.stringify({ ...other, token: 'another-run' }));
    expect(spawnedToken('fresh')).toBeUndefined();
    expect(await stopByPidFile('fresh', 1000, { token: mine! })).toBe(false);
    expect(isAlive(other.pid)).toBe(true);
    // Its own pid file back: then it stops its server.
    writeFileSync(paths.pid('fresh'), JSON.stringify(mineRecord));
    expect(await stopByPidFile('fresh', 1000, { token: mine! })).toBe(true);
    expect(isAlive(mineRecord.pid)).toBe(false);
  });
});

describe('withSpawnLock', () => {
  it('runs one holder at a time and takes over a lock whose holder died', async () => {
    const order: string[] = [];
    const hold = (n: string) => withSpawnLock('locked', async () => {
      order.push(`${n}+`);
      await new Promise((r) => setTimeout(r, 300));
      order.push(`${n}-`);
    });
    await Promise.all([hold('a'), hold('b')]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-']);
    const dead = startDetached('dead', 'true', []);
    while (isAlive(dead.pid)) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(paths.run(), 'locked.lock'), `${dead.pid}\n`);
    expect(await withSpawnLock('locked', async () => readFileSync(join(paths.run(), 'locked.lock'), 'utf8').trim(), { timeoutMs: 2000 })).toBe(String(process.pid));
  });
});
