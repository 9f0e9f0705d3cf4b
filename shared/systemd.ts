import { execFile } from 'node:child_process';

/**
 * systemd readiness, status and watchdog notifications (sd_notify). Node cannot send datagrams on
 * a unix socket, so this calls `systemd-notify` (the unit sets NotifyAccess=all: the message comes
 * from the child's pid; systemd-notify waits for systemd to take it, so the child is still in the
 * unit's cgroup when systemd looks it up). Outside systemd (no NOTIFY_SOCKET) every call is a
 * no-op, so programs call it unconditionally.
 */
export interface SystemdNotifier {
  /** NOTIFY_SOCKET is set: notifications go somewhere. */
  readonly enabled: boolean;
  /**
   * Half of WATCHDOG_USEC in ms (the interval systemd recommends) when the unit has a watchdog for
   * this process, else null.
   */
  readonly watchdogPingMs: number | null;
  /** Sends `KEY=value` assignments as one datagram, in one call (so they cannot be reordered). */
  notify(assignments: string[]): void;
  ready(): void;
  stopping(): void;
  /** STATUS=: one line shown by `systemctl status`. */
  status(text: string): void;
  /** One WATCHDOG=1 ping (a no-op without a watchdog). */
  watchdog(): void;
  /** Starts pinging the watchdog at half of WATCHDOG_USEC from the event loop, unconditionally; returns a stop function. */
  startWatchdog(): () => void;
}

/** One line for STATUS=: a newline would start a new assignment in the datagram. */
export function statusAssignment(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ').slice(0, 512)}`;
}

/**
 * The watchdog interval for this process: half of WATCHDOG_USEC, or null when there is none,
 * or when WATCHDOG_PID names another process (the variables were inherited by a child of the
 * service, which must not ping on the service's behalf). As sd_watchdog_enabled(3).
 */
export function watchdogPingMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | null {
  if (!env.NOTIFY_SOCKET) return null;
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return null;
  // Floor for a timer that makes sense; never above half the timeout, or one late ping is a restart.
  return Math.max(50, Math.floor(usec / 2000));
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, onError?: (err: Error) => void): SystemdNotifier {
  const socket = env.NOTIFY_SOCKET;
  const pingMs = watchdogPingMs(env);
  const notify = (assignments: string[]): void => {
    if (!socket || assignments.length === 0) return;
    execFile('systemd-notify', [`--pid=${process.pid}`, ...assignments], { env: { ...env } }, (err) => {
      if (err && onError) onError(err);
    });
  };
  return {
    enabled: Boolean(socket),
    watchdogPingMs: pingMs,
    notify,
    ready: () => notify(['READY=1']),
    stopping: () => notify(['STOPPING=1']),
    status: (text) => notify([statusAssignment(text)]),
    watchdog: () => {
      if (pingMs !== null) notify(['WATCHDOG=1']);
    },
    startWatchdog: () => {
      if (pingMs === null) return () => {};
      // A timer on the event loop: if the loop stalls, the pings stop and systemd restarts us.
      const timer = setInterval(() => notify(['WATCHDOG=1']), pingMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
