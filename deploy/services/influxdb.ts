// InfluxDB 1.8 (pure Go) built from its module. It serves the v2 write API and Flux queries that
// @influxdata/influxdb-client speaks; a "bucket" is `<database>/<retention policy>`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { goBinary, goInstall } from './go-build.ts';
import { HOST, PORTS, paths } from './layout.ts';
import { type Log, ensureServer, httpOk, runningRecord, startDetached, stopByPidFile, stopChild, waitUntilHealthy } from './process.ts';
import { INFLUXD_PACKAGE, INFLUXD_VERSION } from './versions.ts';

export const influxUrl = `http://${HOST}:${PORTS.influxdb.http}`;
export const influxdBinary = (): string => goBinary('influxdb', 'influxd', INFLUXD_VERSION);

/** influxd.conf: loopback only, auth off, Flux on, everything under the cache's data dir. */
export function renderInfluxConfig(dataRoot: string, ports: { http: number; rpc: number } = PORTS.influxdb): string {
  const q = (s: string): string => JSON.stringify(s);
  return `# Written by gridwatch deploy/services (rewritten on every start)
reporting-disabled = true
bind-address = ${q(`${HOST}:${ports.rpc}`)}

[meta]
  dir = ${q(join(dataRoot, 'meta'))}

[data]
  dir = ${q(join(dataRoot, 'data'))}
  wal-dir = ${q(join(dataRoot, 'wal'))}
  query-log-enabled = false

[http]
  enabled = true
  bind-address = ${q(`${HOST}:${ports.http}`)}
  auth-enabled = false
  flux-enabled = true
  log-enabled = false

[monitor]
  store-enabled = false
`;
}

export async function ensureInfluxdb(log: Log): Promise<boolean> {
  return ensureServer({
    name: 'influxdb',
    host: HOST,
    port: PORTS.influxdb.http,
    at: influxUrl,
    answers: () => httpOk(`${influxUrl}/ping`),
    log,
    start: async () => {
      const bin = await goInstall({ name: 'influxdb', binary: 'influxd', pkg: INFLUXD_PACKAGE, version: INFLUXD_VERSION, log });
      const dataRoot = join(paths.data(), 'influxdb');
      mkdirSync(dataRoot, { recursive: true });
      const etc = join(paths.etc(), 'influxdb');
      mkdirSync(etc, { recursive: true });
      const conf = join(etc, 'influxd.conf');
      writeFileSync(conf, renderInfluxConfig(dataRoot));
      log(`[services] influxdb: starting on ${influxUrl} (log ${paths.log('influxdb')})`);
      const t = Date.now();
      const record = startDetached('influxdb', bin, ['run', '-config', conf]);
      await waitUntilHealthy('influxdb', () => httpOk(`${influxUrl}/ping`), { timeoutMs: 60_000, pid: record.pid, command: record.command });
      log(`[services] influxdb: ready in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    },
  });
}

/** `token`: only the server the caller spawned (stopDecision in process.ts). */
export async function stopInfluxdb(opts: { token?: string } = {}): Promise<boolean> {
  return stopByPidFile('influxdb', 15_000, opts);
}

export const influxRunningByUs = (): boolean => runningRecord('influxdb') !== undefined;
export const influxAnswers = (): Promise<boolean> => httpOk(`${influxUrl}/ping`);

/**
 * Creates database `name` (idempotent in 1.8) and returns the bucket to hand to the v2 client:
 * `name/autogen`, the database's default retention policy.
 */
export async function createInfluxDatabase(url: string, name: string): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new GridwatchError('CONFIG_INVALID', `influx bucket name must match [A-Za-z0-9_-]+, got ${JSON.stringify(name)}`);
  }
  const body = new URLSearchParams({ q: `CREATE DATABASE "${name}"` });
  const res = await fetch(`${url}/query`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok || text.includes('"error"')) {
    throw new GridwatchError('SERVICE_UNAVAILABLE', `influxdb: CREATE DATABASE "${name}" failed at ${url}/query: HTTP ${res.status} ${text}`, { retryable: res.status >= 500 });
  }
  return `${name}/autogen`;
}

/** An InfluxDB of a test's own (never the shared one): its ports and data directory, stoppable and restartable. */
export interface ThrowawayInflux {
  url: string;
  /** Starts (again) on the same ports and data directory; resolves once /ping answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** How the last process ended, for a test's failure message. */
  lastExit(): string | null;
}

/**
 * For fault tests (InfluxDB down under load), beside throwawayMinio: the provisioned influxd
 * (`services up` builds it) run as a child of this process on `http` (and `rpc`, its backup/meta
 * port), with its data and config in `dataDir`. The caller stops it at the end.
 */
export function throwawayInflux(opts: { http: number; rpc: number; dataDir: string }): ThrowawayInflux {
  const bin = influxdBinary();
  if (!existsSync(bin)) throw new Error(`influxd binary not found at ${bin}: run \`gridwatch services up\` first`);
  mkdirSync(opts.dataDir, { recursive: true });
  const conf = join(opts.dataDir, 'influxd.conf');
  writeFileSync(conf, renderInfluxConfig(opts.dataDir, { http: opts.http, rpc: opts.rpc }));
  const url = `http://${HOST}:${opts.http}`;
  const logFile = join(opts.dataDir, 'influxd.log');
  let child: ChildProcess | null = null;
  let exited: string | null = null;
  return {
    url,
    lastExit: () => exited,
    async start() {
      if (child !== null) return;
      // Its log goes to a file beside its data (a pipe nobody reads could block it).
      const c = spawn(bin, ['run', '-config', conf], { env: { ...process.env }, stdio: ['ignore', 'ignore', openSync(logFile, 'a')] });
      child = c;
      c.on('exit', (code, signal) => {
        exited = signal ? `signal ${signal}` : `code ${String(code)}`;
        if (child === c) child = null;
      });
      try {
        // A restart replays its WAL first, which takes a while on a loaded machine.
        await waitUntilHealthy('influxdb (throwaway)', () => httpOk(`${url}/ping`), { timeoutMs: 180_000, pid: c.pid ?? 0, command: bin });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- ${logFile} ---\n${readFileSync(logFile, 'utf8').slice(-2000)}`, { cause: err });
      }
    },
    async stop() {
      await stopChild(child);
    },
  };
}
