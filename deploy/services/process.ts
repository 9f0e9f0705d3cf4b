// Running provisioning commands and detached servers. A failing command becomes an error that names
// the exact command line and shows the tail of its log, so a broken provisioning step explains itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { paths } from './layout.ts';

export type Log = (line: string) => void;

export function quoteCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The last `lines` lines of `file`, read from its last 64 KiB only (a broker's log reaches hundreds of MB). */
export function tailOfFile(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const size = statSync(file).size;
  const length = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

/** A server's log past this size is moved to `<name>.log.1` (replacing the one before) when the server starts again. */
export const LOG_ROTATE_BYTES = 64 * 1024 * 1024;

function rotateLog(logFile: string): void {
  try {
    if (statSync(logFile).size > LOG_ROTATE_BYTES) renameSync(logFile, `${logFile}.1`);
  } catch {
    // no log yet
  }
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
  /** The process that spawned the server, and a token only that process knows (ownership at teardown). */
  spawnedBy?: number;
  token?: string;
}

/** Servers this process spawned: name -> the token written into their pid records. */
const spawnedHere = new Map<string, string>();

/** The token of `name` if this process spawned the server its pid file names now. */
export function spawnedToken(name: string): string | undefined {
  const token = spawnedHere.get(name);
  return token !== undefined && runningRecord(name)?.token === token ? token : undefined;
}

/** Starts a server that outlives this process: its own process group, output to its log file. */
export function startDetached(name: string, cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): PidRecord {
  const logFile = paths.log(name);
  mkdirSync(dirname(logFile), { recursive: true });
  rotateLog(logFile);
  mkdirSync(paths.run(), { recursive: true });
  const command = quoteCommand(cmd, args);
  writeFileSync(logFile, `\n$ ${command}   # started ${new Date().toISOString()}\n`, { flag: 'a' });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw provisionError(`starting ${name}`, command, logFile);
    child.on('error', () => undefined); // reported through the health wait and the log instead
    child.unref();
    const record: PidRecord = { pid: child.pid, command, startedAt: new Date().toISOString(), spawnedBy: process.pid, token: randomUUID() };
    writeFileSync(paths.pid(name), JSON.stringify(record) + '\n');
    spawnedHere.set(name, record.token!);
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

/** Ends a server a test spawned in-process (a throwaway MinIO or InfluxDB): SIGTERM, SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess | null, graceMs = 10_000): Promise<void> {
  if (c === null || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

/**
 * Whether a teardown may stop the server its pid file names: only while the file is the one the
 * tearing-down process wrote when it spawned it (`token`). Without a token (`services down`, a
 * person asking) any recorded server is stopped.
 */
export function stopDecision(record: PidRecord | undefined, token: string | undefined): 'stop' | 'not running' | 'not ours' {
  if (record === undefined) return 'not running';
  if (token === undefined) return 'stop';
  return record.token === token ? 'stop' : 'not ours';
}

/**
 * SIGTERM the server's process group, then SIGKILL after `graceMs`. Only servers with our pid file;
 * with `token`, only the one the caller spawned (stopDecision).
 */
export async function stopByPidFile(name: string, graceMs = 20_000, opts: { token?: string } = {}): Promise<boolean> {
  const record = runningRecord(name);
  if (stopDecision(record, opts.token) !== 'stop' || !record) return false;
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
  spawnedHere.delete(name);
  return true;
}

/** True when something accepts TCP connections on host:port within timeoutMs. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Before spawning a server: it answers (reuse it); it is there but slow to answer (a live pid
 * record or its port open: wait for it, never start a second one over it, which would fail to bind
 * and could take over the pid file); or nothing is there (spawn).
 */
export function startDecision(s: { answers: boolean; recordAlive: boolean; portOpen: boolean }): 'reuse' | 'wait' | 'spawn' {
  if (s.answers) return 'reuse';
  return s.recordAlive || s.portOpen ? 'wait' : 'spawn';
}

/**
 * Runs `fn` holding `run/<name>.lock` (created exclusively, holding our pid), so two runs that both
 * found nothing do not both spawn: the second waits, then finds the first one's server. A lock
 * whose holder died is taken over.
 */
export async function withSpawnLock<T>(name: string, fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  mkdirSync(paths.run(), { recursive: true });
  const file = `${paths.run()}/${name}.lock`;
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8').trim() || '0', 10);
      if (!(holder > 0) || (holder !== process.pid && !isAlive(holder))) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new GridwatchError('SERVICE_UNAVAILABLE', `${name}: another run (pid ${holder}) holds ${file} and is still starting it`, { retryable: true });
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The one way an ensure step starts a server: reuse what answers or is there (waiting up to
 * `waitMs` for a slow one), else spawn under the lock (checking again once it holds it). True only
 * when this call spawned the server now recorded, so a teardown stops nothing it did not start.
 */
export async function ensureServer(o: {
  name: string; host: string; port: number; answers: () => Promise<boolean>; log: Log; start: () => Promise<void>; waitMs?: number;
  /** Where it serves, for the log line of a reused server. */
  at: string;
}): Promise<boolean> {
  const look = async (): Promise<'reuse' | 'wait' | 'spawn'> =>
    startDecision({ answers: await o.answers(), recordAlive: runningRecord(o.name) !== undefined, portOpen: await portOpen(o.host, o.port) });
  const reuse = async (d: 'reuse' | 'wait'): Promise<false> => {
    if (d === 'wait') {
      o.log(`[services] ${o.name}: running but slow to answer; waiting for it (not starting another)`);
      const record = runningRecord(o.name);
      await waitUntilHealthy(o.name, o.answers, { timeoutMs: o.waitMs ?? 60_000, command: record?.command ?? `the server on ${o.host}:${o.port}` });
    }
    o.log(`[services] ${o.name}: already running at ${o.at}`);
    return false;
  };
  const first = await look();
  if (first !== 'spawn') return reuse(first);
  return withSpawnLock(o.name, async () => {
    const again = await look();
    if (again !== 'spawn') return reuse(again);
    await o.start();
    return spawnedToken(o.name) !== undefined;
  });
}

/**
 * Polls `check` until it returns true. Fails early when the server process died, and on timeout;
 * either way the error carries the tail of the server's log.
 *
 * `progress`: a server that is still writing its log is still starting (a Kafka broker loading
 * ten thousand partitions logs a line per partition and took more than 120 s on two cores). While
 * the log grew within the last `quietMs`, the wait goes on past `timeoutMs`, up to `maxMs` in all.
 */
export async function waitUntilHealthy(
  name: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; pid?: number; command: string; progress?: { maxMs: number; quietMs: number }; log?: Log },
): Promise<void> {
  const started = Date.now();
  const logFile = paths.log(name);
  let lastSize = logSize(logFile);
  let lastGrowth = started;
  let extendedSaid = false;
  const deadline = (): number => {
    const base = started + opts.timeoutMs;
    if (!opts.progress) return base;
    return Math.min(started + opts.progress.maxMs, Math.max(base, lastGrowth + opts.progress.quietMs));
  };
  let lastError: unknown;
  while (Date.now() < deadline()) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new GridwatchError('SERVICE_UNAVAILABLE', `${name} exited during start-up: ${opts.command}\n--- last lines of ${logFile} ---\n${tailOfFile(logFile)}`, { cause: lastError });
    }
    const size = logSize(logFile);
    if (size !== lastSize) {
      lastSize = size;
      lastGrowth = Date.now();
    }
    if (opts.progress && !extendedSaid && Date.now() > started + opts.timeoutMs) {
      extendedSaid = true;
      opts.log?.(`[services] ${name}: not answering after ${opts.timeoutMs / 1000}s but still writing its log (${logFile}); waiting up to ${opts.progress.maxMs / 1000}s in all`);
    }
    await sleep(250);
  }
  const waited = Math.round((Date.now() - started) / 1000);
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new GridwatchError('SERVICE_UNAVAILABLE', `${name} did not answer within ${waited}s${why}: ${opts.command}\n--- last lines of ${logFile} ---\n${tailOfFile(logFile)}`, { cause: lastError, retryable: true });
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
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
