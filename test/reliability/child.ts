/**
 * Child processes of the reliability tests: a gateway (or central) as `bin/gridwatch.js`, with the
 * environment's Kafka security (process.env spread), its RSS and open handles read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export { freePort } from '../harness/ports.ts';

export interface Started {
  child: ChildProcess;
  log: () => string;
}

/** Starts `gridwatch <command>` and resolves when its log has `ready` (a JSON log message). An `undefined` in `env` removes that variable of the environment. */
export function startProgram(command: string, env: Record<string, string | undefined>, ready: string, timeoutMs = 60_000): Promise<Started> {
  const child = spawn(process.execPath, ['bin/gridwatch.js', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Only the tail is kept and only new text searched: a busy child logs a lot, and a slow reader
  // would block it on a full pipe.
  let log = '';
  let isReady = false;
  const keep = (d: Buffer) => {
    const text = d.toString();
    log += text;
    if (log.length > 400_000) log = log.slice(-200_000);
    return text;
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const text = keep(d);
      if (!isReady && (text.includes(`"${ready}"`) || log.slice(-text.length - 200).includes(`"${ready}"`))) {
        isReady = true;
        resolve({ child, log: () => log });
      }
    });
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => reject(new Error(`${command} exited ${code ?? signal} before it was ready:\n${log.slice(-4000)}`)));
    setTimeout(() => reject(new Error(`${command} not ready in ${timeoutMs} ms:\n${log.slice(-4000)}`)), timeoutMs);
  });
}

/** Resident set size (bytes) of a process, from /proc; 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors (sockets, files, pipes) of a process; 0 once it is gone. */
export function handleCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
