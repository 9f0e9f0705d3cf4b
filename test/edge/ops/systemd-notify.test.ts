import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemdNotifier } from '../../../shared/systemd.ts';
import { notifyListener, type NotifyListener } from './notify-listener.ts';

// shared/systemd.ts against a real unix datagram socket (systemd-notify and python3 are needed:
// without them this fails, it does not skip).
describe('systemdNotifier over a real NOTIFY_SOCKET', () => {
  let l: NotifyListener;
  beforeAll(async () => {
    l = await notifyListener();
  });
  afterAll(() => l?.close());

  it('sends READY, STATUS, WATCHDOG and STOPPING as sd_notify datagrams, several assignments in one', async () => {
    const errors: Error[] = [];
    const n = systemdNotifier({ ...process.env, NOTIFY_SOCKET: l.socketPath, WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid) }, (e) => errors.push(e));
    expect(n.enabled).toBe(true);
    expect(n.watchdogPingMs).toBe(1000);
    n.notify(['READY=1', 'STATUS=outbox 3 records']);
    const ready = await l.waitFor((m) => m.includes('READY=1'));
    expect(ready).toEqual([`MAINPID=${process.pid}`, 'READY=1', 'STATUS=outbox 3 records']);
    n.watchdog();
    await l.waitFor((m) => m.includes('WATCHDOG=1'));
    n.status('line one\nline two');
    await l.waitFor((m) => m.includes('STATUS=line one line two'));
    n.stopping();
    await l.waitFor((m) => m.includes('STOPPING=1'));
    expect(errors).toEqual([]);
  });

  it('is a no-op without NOTIFY_SOCKET, and sends no pings without a watchdog', async () => {
    const before = l.messages.length;
    const env = { ...process.env };
    delete env.NOTIFY_SOCKET;
    const off = systemdNotifier(env);
    expect(off.enabled).toBe(false);
    off.ready();
    const noWatchdog = systemdNotifier({ ...env, NOTIFY_SOCKET: l.socketPath, WATCHDOG_USEC: undefined });
    expect(noWatchdog.watchdogPingMs).toBeNull();
    noWatchdog.watchdog();
    noWatchdog.notify(['STATUS=marker']);
    await l.waitFor((m) => m.includes('STATUS=marker'));
    expect(l.messages.slice(before)).toEqual([[`MAINPID=${process.pid}`, 'STATUS=marker']]);
  });
});
