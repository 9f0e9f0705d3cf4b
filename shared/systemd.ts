import { execFile } from 'node:child_process';

/**
 * systemd readiness and watchdog notifications. Node cannot send datagrams on a unix socket, so
 * this calls `systemd-notify` (the unit sets NotifyAccess=all). Outside systemd (no NOTIFY_SOCKET)
 * every call is a no-op, so programs call it unconditionally.
 */
export interface SystemdNotifier {
  ready(): void;
  stopping(): void;
  /** Starts pinging the watchdog at half of WATCHDOG_USEC from the event loop; returns a stop function. */
  startWatchdog(): () => void;
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, onError?: (err: Error) => void): SystemdNotifier {
  const socket = env.NOTIFY_SOCKET;
  const send = (state: string): void => {
    if (!socket) return;
    execFile('systemd-notify', [`--pid=${process.pid}`, state], { env: { ...env } }, (err) => {
      if (err && onError) onError(err);
    });
  };
  return {
    ready: () => send('READY=1'),
    stopping: () => send('STOPPING=1'),
    startWatchdog: () => {
      const usec = Number(env.WATCHDOG_USEC);
      if (!socket || !Number.isFinite(usec) || usec <= 0) return () => {};
      // A timer on the event loop: if the loop stalls, the pings stop and systemd restarts us.
      const timer = setInterval(() => send('WATCHDOG=1'), Math.max(1000, usec / 2000));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
