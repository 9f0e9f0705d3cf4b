import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, silentLogger } from '../../../shared/index.ts';
import { EdgeStore, GroupCommitter } from '../../../edge/store/index.ts';
import { ADAPTIVE_DELAY_CAP_MS } from '../../../edge/store/group-committer.ts';
import { openStore, reading, tempDir } from './helpers.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('GroupCommitter', () => {
  it('commits after maxDelayMs and calls done only after the commit', () => {
    vi.useFakeTimers();
    const s = openStore(tempDir());
    const commits: number[] = [];
    const g = new GroupCommitter(s, { maxDelayMs: 5, maxRecords: 100, onCommitted: (_ms, n) => commits.push(n) });
    const done = vi.fn((err?: Error) => {
      expect(err).toBeUndefined();
      expect(s.stats().depth).toBe(3); // committed before done
    });
    g.submit({ records: [reading('m1', 1)] }, done);
    g.submit({ records: [reading('m1', 2), reading('m2', 1)] }, done);
    expect(done).not.toHaveBeenCalled();
    expect(s.stats().depth).toBe(0);
    vi.advanceTimersByTime(5);
    expect(done).toHaveBeenCalledTimes(2);
    expect(commits).toEqual([3]);
    s.close();
  });

  it('after a slow commit the next group gathers as long as that commit took (capped); a quick one brings maxDelayMs back', async () => {
    const s = openStore(tempDir());
    let slowMs = 0;
    // The real store, with a commit that takes slowMs longer (a slow fsync).
    const slow = new Proxy(s, {
      get(target, key, receiver) {
        if (key !== 'commitMany') return Reflect.get(target, key, receiver) as unknown;
        return (units: Parameters<EdgeStore['commitMany']>[0]) => {
          const end = performance.now() + slowMs;
          while (performance.now() < end);
          return target.commitMany(units);
        };
      },
    });
    const commits: number[] = [];
    let lastMs = 0;
    const g = new GroupCommitter(slow, {
      maxDelayMs: 2,
      maxRecords: 1000,
      onCommitted: (ms, n) => {
        commits.push(n);
        lastMs = ms;
      },
    });
    expect(g.delayMs()).toBe(2);
    const commit = (seq: number) => new Promise<void>((res, rej) => g.submit({ records: [reading('m1', seq)] }, (e) => (e ? rej(e) : res())));
    slowMs = 8;
    await commit(1);
    expect(g.delayMs()).toBeGreaterThanOrEqual(8);
    expect(g.delayMs()).toBeLessThanOrEqual(ADAPTIVE_DELAY_CAP_MS);
    slowMs = 50;
    await commit(2);
    expect(g.delayMs()).toBe(ADAPTIVE_DELAY_CAP_MS);
    // The stretched wait is what the timer uses: nothing commits at maxDelayMs, all at the cap.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    slowMs = 0;
    const done = vi.fn();
    g.submit({ records: [reading('m1', 3)] }, done);
    g.submit({ records: [reading('m1', 4)] }, done);
    vi.advanceTimersByTime(2);
    expect(done).not.toHaveBeenCalled();
    vi.advanceTimersByTime(ADAPTIVE_DELAY_CAP_MS - 2);
    expect(done).toHaveBeenCalledTimes(2);
    expect(commits).toEqual([1, 1, 2]);
    // A quick commit (no added time; its own fsync may take a few ms on a busy machine).
    expect(lastMs).toBeLessThan(50);
    expect(g.delayMs()).toBe(Math.max(2, Math.min(ADAPTIVE_DELAY_CAP_MS, Math.round(lastMs))));
    expect(s.stats().depth).toBe(4);
    s.close();
  });

  it('commits at once when maxRecords is reached', async () => {
    const s = openStore(tempDir());
    const commits: number[] = [];
    const g = new GroupCommitter(s, { maxDelayMs: 60_000, maxRecords: 10, onCommitted: (_ms, n) => commits.push(n) });
    const dones: Promise<void>[] = [];
    for (let i = 0; i < 25; i++) dones.push(new Promise((res, rej) => g.submit({ records: [reading('m1', i)] }, (e) => (e ? rej(e) : res()))));
    await Promise.all(dones.slice(0, 20));
    expect(commits[0]).toBeGreaterThanOrEqual(10);
    await g.close();
    await Promise.all(dones);
    expect(s.stats().depth).toBe(25);
    s.close();
  });

  it('fails only the bad unit of a group, and fails every unit on a full disk (no PUBACK)', async () => {
    const s = openStore(tempDir());
    const g = new GroupCommitter(s, { maxDelayMs: 1, maxRecords: 1000 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const results: (Error | undefined)[] = [];
    g.submit({ records: [reading('m1', 1)] }, (e) => results.push(e));
    g.submit({ records: [reading('m1', 2)], meterStates: [['m1', cyclic]] }, (e) => results.push(e));
    g.submit({ records: [reading('m1', 3)] }, (e) => results.push(e));
    await g.flush();
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(Error);
    expect(results[2]).toBeUndefined();
    expect(s.peek('readings', 10).map((r) => r.seq)).toEqual([1, 3]);
    // The watchdog's evidence (edge/ops/service.ts): the group failed, then two of three units committed alone.
    expect(g.progress).toEqual({ committed: 2, failed: 2 });
    expect(g.pendingUnits).toBe(0);
    s.close();

    const full = EdgeStore.open({ dir: tempDir(), edgeId: 'e', budgetBytes: 1e9, clock: new ManualClock(), logger: silentLogger(), maxPageCount: 30 });
    const errors: Error[] = [];
    const g2 = new GroupCommitter(full, { maxDelayMs: 1, maxRecords: 1_000_000, onError: (e) => errors.push(e) });
    const outcome: (Error | undefined)[] = [];
    for (let i = 0; i < 5000; i++) g2.submit({ records: [reading('m1', i)] }, (e) => outcome.push(e));
    await g2.flush();
    expect(outcome).toHaveLength(5000);
    expect(outcome.every((e) => (e as { code?: string } | undefined)?.code === 'STORAGE_FULL')).toBe(true);
    expect(full.stats().depth).toBe(0);
    expect(g2.progress).toEqual({ committed: 0, failed: 1 });
    full.close();
  });
});
