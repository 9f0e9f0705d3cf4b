// A gridwatch program (`gridwatch edge`, `central`, `simulate`) run as a child process, its output
// in a log file. The demo and the end-to-end test supervise their processes through this.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const GRIDWATCH_BIN = fileURLToPath(new URL('../../bin/gridwatch.js', import.meta.url));

export class Program {
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  private exit: number | string | null = null;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = code ?? signal ?? 'unknown';
        resolve(this.exit);
      });
      child.once('error', (err) => {
        this.exit = `spawn failed: ${err.message}`;
        resolve(this.exit);
      });
    });
  }

  /**
   * `gridwatch <args>` with `env` added to this process's environment; stdout and stderr go to
   * `logFile`. When `env` names the Kafka brokers, the program's whole Kafka connection comes from
   * `env`: no GRIDWATCH_KAFKA_* of this process's own (another principal's password, say) leaks in.
   */
  static start(name: string, args: string[], env: Record<string, string>, logFile: string, opts: { stdout?: string } = {}): Program {
    const err = openSync(logFile, 'a');
    const out = opts.stdout ? openSync(opts.stdout, 'w') : err;
    try {
      const inherited = env.GRIDWATCH_KAFKA_BROKERS === undefined ? process.env : Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRIDWATCH_KAFKA_')));
      const child = spawn(process.execPath, [GRIDWATCH_BIN, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', out, err] });
      return new Program(name, child, logFile);
    } finally {
      closeSync(err);
      if (out !== err) closeSync(out);
    }
  }

  get running(): boolean {
    return this.exit === null;
  }

  get exitCode(): number | string | null {
    return this.exit;
  }

  /** kill -9: no shutdown at all, as a power cut or the OOM killer would end it. Resolves with 'SIGKILL'. */
  async kill(): Promise<number | string> {
    if (!this.running) return this.exit!;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not ended within `graceMs`. Returns the exit code. */
  async stop(graceMs = 20_000): Promise<number | string> {
    if (!this.running) return this.exit!;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last `lines` lines of the log, for error messages. */
  tail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a race with other programs is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

/** Polls `url` until it answers 200, the program ends, or `timeoutMs` passes. */
export async function waitReady(p: Program, url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (!p.running) throw new Error(`${p.name} exited (${String(p.exitCode)}) before it was ready; the end of ${p.logFile}:\n${p.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${p.name} not ready at ${url} after ${Math.round(timeoutMs / 1000)} s; the end of ${p.logFile}:\n${p.tail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
