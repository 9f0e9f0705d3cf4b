// MQTT connections against the process's open-files limit. Every connection is a descriptor, and
// so are the SQLite outbox, its WAL, the Kafka sockets and the listeners: with
// GRIDWATCH_MQTT_MAX_CONNECTIONS at or above the limit, the 19,970th meter of 20,000 took the last
// descriptor and the gateway died (docs/scaling.md). The broker is therefore held to the limit
// minus a reserve for the gateway's own files, and says so at start.
import { readFileSync } from 'node:fs';

/** Descriptors kept for the gateway's own files and sockets (it uses about 30; the rest is headroom for reloads and HTTP). */
export const FD_RESERVE = 256;

/** The soft "Max open files" of this process from /proc/self/limits; undefined where there is none (not Linux) or it is unlimited. */
export function openFilesLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The connections the broker may hold: what was asked, or the limit minus the reserve when that is lower. */
export function connectionsWithinFdLimit(asked: number, fdLimit: number | undefined, reserve = FD_RESERVE): { maxConnections: number; clamped: boolean } {
  if (fdLimit === undefined) return { maxConnections: asked, clamped: false };
  const allowed = Math.max(1, fdLimit - reserve);
  return asked > allowed ? { maxConnections: allowed, clamped: true } : { maxConnections: asked, clamped: false };
}
