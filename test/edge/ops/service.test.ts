import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import { statusAssignment, watchdogPingMs, type SystemdNotifier } from '../../../shared/systemd.ts';
import { CommitWatch, ServiceNotify, type CommitProgress } from '../../../edge/ops/service.ts';

/** A notifier that records what would be sent (the port systemdNotifier implements with systemd-notify). */
function fakeNotifier(pingMs: number | null): SystemdNotifier & { sent: string[][] } {
  const sent: string[][] = [];
  const notify = (a: string[]) => void sent.push(a);
  return {
    sent,
    enabled: true,
    watchdogPingMs: pingMs,
    notify,
    ready: () => notify(['READY=1']),
    stopping: () => notify(['STOPPING=1']),
    status: (t) => notify([statusAssignment(t)]),
    watchdog: () => notify(['WATCHDOG=1']),
    startWatchdog: () => () => {},
  };
}

const S = 15_000;

describe('CommitWatch', () => {
  it('stays healthy while commits progress, also with a failure among them', () => {
    const w = new CommitWatch(S);
    expect(w.check(0, { committed: 0, failed: 0, pending: 0 }).healthy).toBe(true);
    expect(w.check(S, { committed: 5, failed: 1, pending: 2 }).healthy).toBe(true);
    expect(w.check(2 * S, { committed: 9, failed: 3, pending: 0 }).healthy).toBe(true);
  });

  it('stays healthy when idle (nothing pending, nothing attempted)', () => {
    const w = new CommitWatch(S);
    for (let i = 0; i < 10; i++) expect(w.check(i * S, { committed: 3, failed: 0, pending: 0 }).healthy).toBe(true);
  });

  it('a single failed commit followed by a good one is not a reason', () => {
    const w = new CommitWatch(S);
    w.check(0, { committed: 3, failed: 0, pending: 0 });
    expect(w.check(S, { committed: 3, failed: 1, pending: 0 }).healthy).toBe(true); // failing since now: within the grace
    expect(w.check(2 * S, { committed: 4, failed: 1, pending: 0 }).healthy).toBe(true);
    expect(w.check(3 * S, { committed: 4, failed: 1, pending: 0 }).healthy).toBe(true);
  });

  it('turns unhealthy once every commit has failed for the grace, and healthy with the next success', () => {
    const w = new CommitWatch(S);
    w.check(0, { committed: 3, failed: 0, pending: 0 });
    expect(w.check(S, { committed: 3, failed: 2, pending: 1 }).healthy).toBe(true);
    const v = w.check(2 * S, { committed: 3, failed: 4, pending: 1 });
    expect(v).toEqual({ healthy: false, reason: 'every commit failed for 15 s' });
    // No further attempt (idle) does not clear it: nothing has committed since.
    expect(w.check(3 * S, { committed: 3, failed: 4, pending: 0 }).healthy).toBe(false);
    expect(w.check(4 * S, { committed: 4, failed: 4, pending: 0 }).healthy).toBe(true);
  });

  it('turns unhealthy when units stay pending and nothing is attempted', () => {
    const w = new CommitWatch(S);
    w.check(0, { committed: 3, failed: 0, pending: 0 });
    expect(w.check(S, { committed: 3, failed: 0, pending: 4 }).healthy).toBe(true); // just submitted
    // Pending at S and still at 2S with no attempt in between: stalled since S.
    expect(w.check(2 * S, { committed: 3, failed: 0, pending: 9 })).toEqual({ healthy: false, reason: '9 units waiting, no commit for 15 s' });
    const w2 = new CommitWatch(S);
    w2.check(0, { committed: 3, failed: 0, pending: 1 });
    expect(w2.check(S - 1, { committed: 3, failed: 0, pending: 1 }).healthy).toBe(true);
    expect(w2.check(S, { committed: 3, failed: 0, pending: 1 })).toEqual({ healthy: false, reason: '1 units waiting, no commit for 15 s' });
    expect(w2.check(S + 1, { committed: 4, failed: 0, pending: 1 }).healthy).toBe(true);
  });
});

describe('ServiceNotify', () => {
  afterEach(() => vi.useRealTimers());

  function setup(pingMs: number | null) {
    const clock = new ManualClock(0);
    const notifier = fakeNotifier(pingMs);
    const progress: CommitProgress = { committed: 0, failed: 0, pending: 0 };
    let depth = 0;
    const svc = new ServiceNotify({ notifier, clock, sample: () => ({ progress: { ...progress }, status: `outbox ${depth} records` }) });
    return { clock, notifier, progress, svc, setDepth: (d: number) => (depth = d) };
  }

  it('sends READY=1 with a status, then a watchdog ping and the outbox depth every half WatchdogSec', () => {
    const { clock, notifier, progress, svc, setDepth } = setup(S);
    expect(svc.intervalMs).toBe(S);
    svc.ready();
    expect(notifier.sent).toEqual([['READY=1', 'STATUS=outbox 0 records']]);
    progress.committed = 2;
    setDepth(1234);
    clock.advance(S);
    expect(svc.tick()).toEqual(['WATCHDOG=1', 'STATUS=outbox 1234 records']);
  });

  it('withholds the ping (and says why) while the store fails, resumes when it commits', () => {
    const { clock, progress, svc } = setup(S);
    const verdicts: (string | null)[] = [];
    const svc2 = new ServiceNotify({ notifier: fakeNotifier(S), clock, sample: () => ({ progress: { ...progress }, status: 'ok' }), onVerdict: (v) => verdicts.push(v.reason) });
    for (const s of [svc, svc2]) s.ready();
    progress.failed = 1;
    clock.advance(S);
    expect(svc2.tick()).toEqual(['WATCHDOG=1', 'STATUS=ok']);
    progress.failed = 3;
    clock.advance(S);
    expect(svc2.tick()).toEqual(['STATUS=unhealthy, watchdog pings withheld: every commit failed for 15 s']);
    clock.advance(S);
    expect(svc2.tick()).toEqual(['STATUS=unhealthy, watchdog pings withheld: every commit failed for 30 s']);
    progress.committed = 1;
    clock.advance(S);
    expect(svc2.tick()).toEqual(['WATCHDOG=1', 'STATUS=ok']);
    expect(verdicts).toEqual(['every commit failed for 15 s', null]);
  });

  it('without a watchdog sends status lines only', () => {
    const { svc } = setup(null);
    expect(svc.intervalMs).toBe(10_000);
    svc.ready();
    expect(svc.tick()).toEqual(['STATUS=outbox 0 records']);
  });

  it('STOPPING=1 on SIGTERM; pings continue during the drain while the store is healthy', () => {
    const { clock, notifier, svc } = setup(S);
    svc.ready();
    svc.notifyStopping();
    expect(notifier.sent.at(-1)).toEqual(['STOPPING=1', 'STATUS=stopping: closing intake, draining the outbox']);
    clock.advance(S);
    expect(svc.tick()).toEqual(['WATCHDOG=1', 'STATUS=stopping: outbox 0 records']);
  });

  it('start() ticks on a timer at the ping interval; stop() ends it; nothing runs when not under systemd', () => {
    vi.useFakeTimers();
    const { notifier, svc } = setup(S);
    svc.start();
    vi.advanceTimersByTime(3 * S);
    expect(notifier.sent.filter((a) => a.includes('WATCHDOG=1'))).toHaveLength(3);
    svc.stop();
    vi.advanceTimersByTime(3 * S);
    expect(notifier.sent).toHaveLength(3);

    const off = { ...fakeNotifier(S), enabled: false };
    const idle = new ServiceNotify({ notifier: off, clock: new ManualClock(0), sample: () => ({ progress: { committed: 0, failed: 0, pending: 0 }, status: '' }) }).start();
    vi.advanceTimersByTime(3 * S);
    expect(off.sent).toEqual([]);
    idle.stop();
  });
});

describe('watchdogPingMs', () => {
  it('is half of WATCHDOG_USEC, only with NOTIFY_SOCKET and for the process WATCHDOG_PID names', () => {
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000' }, 7)).toBe(15_000);
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 7)).toBe(15_000);
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7)).toBeNull();
    expect(watchdogPingMs({ WATCHDOG_USEC: '30000000' }, 7)).toBeNull();
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x' }, 7)).toBeNull();
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '0' }, 7)).toBeNull();
    expect(watchdogPingMs({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: 'soon' }, 7)).toBeNull();
  });

  it('keeps a status on one line', () => {
    expect(statusAssignment('a\nb\r\nc')).toBe('STATUS=a b c');
  });
});
