// InfluxDB 1.8 (pure Go) built from its module. It serves the v2 write API and Flux queries that
// @influxdata/influxdb-client speaks; a "bucket" is `<database>/<retention policy>`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridwatchError } from '../../shared/errors.ts';
import { goBinary, goInstall } from './go-build.ts';
import { HOST, PORTS, paths } from './layout.ts';
import { type Log, ensureServer, httpOk, runningRecord, startDetached, stopByPidFile, waitUntilHealthy } from './process.ts';
import { INFLUXD_PACKAGE, INFLUXD_VERSION } from './versions.ts';

export const influxUrl = `http://${HOST}:${PORTS.influxdb.http}`;
export const influxdBinary = (): string => goBinary('influxdb', 'influxd', INFLUXD_VERSION);

/** influxd.conf: loopback only, auth off, Flux on, everything under the cache's data dir. */
export function renderInfluxConfig(dataRoot: string): string {
  const q = (s: string): string => JSON.stringify(s);
  return `# Written by gridwatch deploy/services (rewritten on every start)
reporting-disabled = true
bind-address = ${q(`${HOST}:${PORTS.influxdb.rpc}`)}

[meta]
  dir = ${q(join(dataRoot, 'meta'))}

[data]
  dir = ${q(join(dataRoot, 'data'))}
  wal-dir = ${q(join(dataRoot, 'wal'))}
  query-log-enabled = false

[http]
  enabled = true
  bind-address = ${q(`${HOST}:${PORTS.influxdb.http}`)}
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
