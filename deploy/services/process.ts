// Running provisioning commands and detached servers. A failing command becomes an error that names
// the exact command line and shows the tail of its log, so a broken provisioning step explains itself.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { paths } from './layout.ts';

export type Log = (line: string) => void;

export function quoteCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function tailOfFile(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

export function provisionError(what: string, command: string, logFile: string, cause?: unknown): GridwatchError {
  return new GridwatchError(
    'PROVISION_FAILED',
    `${what}: command failed: ${command}\n--- last lines of ${logFile} ---\n${tailOfFile(logFile)}`,
    { cause, details: { command, logFile } },
  );
}

/**
 * Runs a provisioning command to completion, appending its output to `logFile`. `progress` lines
 * (matching lines of output) are forwarded to `log` so a long build shows it is alive.
 */
export async function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; what: string; env?: NodeJS.ProcessEnv; cwd?: string; log?: Log; progress?: (line: string) => string | undefined },
): Promise<void> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const command = quoteCommand(cmd, args);
  writeFileSync(opts.logFile, `$ ${command}\n`, { flag: 'a' });
  const fd = openSync(opts.logFile, 'a');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let partial = '';
      const onData = (chunk: Buffer): void => {
        writeFileSync(fd, chunk);
        if (!opts.progress || !opts.log) return;
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const shown = opts.progress(line);
          if (shown !== undefined) opts.log(shown);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (err) => reject(provisionError(opts.what, command, opts.logFile, err)));
      child.on('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(provisionError(`${opts.what} (exit ${code ?? signal})`, command, opts.logFile));
      });
    });
  } finally {
    closeSync(fd);
  }
}

export interface PidRecord {
  pid: number;
  command: string;
  startedAt: string;
}

/** Starts a server that outlives this process: its own process group, output to its log file. */
export function startDetached(name: string, cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): PidRecord {
  const logFile = paths.log(name);
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(paths.run(), { recursive: true });
  const command = quoteCommand(cmd, args);
  writeFileSync(logFile, `\n$ ${command}   # started ${new Date().toISOString()}\n`, { flag: 'a' });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw provisionError(`starting ${name}`, command, logFile);
    child.on('error', () => undefined); // reported through the health wait and the log instead
    child.unref();
    const record: PidRecord = { pid: child.pid, command, startedAt: new Date().toISOString() };
    writeFileSync(paths.pid(name), JSON.stringify(record) + '\n');
    return record;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0; /proc tells the truth on Linux.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return true;
  }
}

/** The pid record of a server we started, if that process is still alive (stale files are removed). */
export function runningRecord(name: string): PidRecord | undefined {
  const file = paths.pid(name);
  if (!existsSync(file)) return undefined;
  let record: PidRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
  if (isAlive(record.pid)) return record;
  rmSync(file, { force: true });
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM the server's process group, then SIGKILL after `graceMs`. Only servers with our pid file. */
export async function stopByPidFile(name: string, graceMs = 20_000): Promise<boolean> {
  const record = runningRecord(name);
  if (!record) return false;
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-record.pid, sig);
    } catch {
      try {
        process.kill(record.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(record.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(record.pid)) {
    signalGroup('SIGKILL');
    while (isAlive(record.pid)) await sleep(50);
  }
  rmSync(paths.pid(name), { force: true });
  return true;
}

/**
 * Polls `check` until it returns true. Fails early when the server process died, and on timeout;
 * either way the error carries the tail of the server's log.
 */
export async function waitUntilHealthy(
  name: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; pid?: number; command: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new GridwatchError('SERVICE_UNAVAILABLE', `${name} exited during start-up: ${opts.command}\n--- last lines of ${paths.log(name)} ---\n${tailOfFile(paths.log(name))}`, { cause: lastError });
    }
    await sleep(250);
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new GridwatchError('SERVICE_UNAVAILABLE', `${name} did not answer within ${opts.timeoutMs / 1000}s${why}: ${opts.command}\n--- last lines of ${paths.log(name)} ---\n${tailOfFile(paths.log(name))}`, { cause: lastError, retryable: true });
}

/** An HTTP GET that resolves to true on 2xx, false otherwise (never throws on connection refusal). */
export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
