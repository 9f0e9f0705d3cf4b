// The InfluxDB writer over TLS with a token, against a real InfluxDB: a second influxd of this
// test's own (the shared one stays plain http without authentication for the other tests), on free
// loopback ports, with a throwaway certificate and authentication on. InfluxDB 1.8's v2 API takes
// the token `<user>:<password>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInfluxWriter } from '../../../central/archive/index.ts';
import { influxdBinary } from '../../../deploy/services/influxdb.ts';
import { GridwatchError, silentLogger } from '../../../shared/index.ts';
import { throwawayTls, type ThrowawayTls } from '../../harness/throwaway-tls.ts';
import { gridEvent } from './fixtures.ts';
import { freePort } from '../../harness/ports.ts';

const USER = 'gw-admin';
const PASSWORD = 'gw-influx-tls-pw-3c9d';
const TOKEN = `${USER}:${PASSWORD}`;
const DB = 'gw_tls';

let influxd: ChildProcess | undefined;
let tls: ThrowawayTls;
let otherCa: ThrowawayTls;
let url = '';
let output = '';

/** InfluxQL over https, trusting the throwaway CA. */
function influxql(q: string, auth = true): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const params = new URLSearchParams({ q });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (auth) headers.authorization = `Basic ${Buffer.from(TOKEN).toString('base64')}`;
    const req = request(`${url}/query`, { method: 'POST', ca: tls.ca, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(params.toString());
  });
}

beforeAll(async () => {
  const bin = influxdBinary();
  if (!existsSync(bin)) throw new Error(`influxd ${bin} is missing: the global setup (gridwatch services up) provisions it`);
  tls = throwawayTls('gw-influx');
  otherCa = throwawayTls('gw-influx-other');
  const root = mkdtempSync(join(tmpdir(), 'gw-influx-tls-'));
  const [http, rpc] = [await freePort(), await freePort()];
  url = `https://127.0.0.1:${http}`;
  const q = (s: string): string => JSON.stringify(s);
  const conf = join(root, 'influxd.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = ${q(`127.0.0.1:${rpc}`)}
[meta]
  dir = ${q(join(root, 'meta'))}
[data]
  dir = ${q(join(root, 'data'))}
  wal-dir = ${q(join(root, 'wal'))}
  query-log-enabled = false
[http]
  enabled = true
  bind-address = ${q(`127.0.0.1:${http}`)}
  auth-enabled = true
  flux-enabled = true
  log-enabled = false
  https-enabled = true
  https-certificate = ${q(tls.certFile)}
  https-private-key = ${q(tls.keyFile)}
[monitor]
  store-enabled = false
`,
  );
  influxd = spawn(bin, ['run', '-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  influxd.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  influxd.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const end = Date.now() + 60_000;
  for (;;) {
    if (influxd.exitCode !== null) throw new Error(`influxd exited ${influxd.exitCode}: ${output}`);
    // With no user yet, InfluxDB lets the first admin be created without credentials.
    const created = await influxql(`CREATE USER "${USER}" WITH PASSWORD '${PASSWORD}' WITH ALL PRIVILEGES`, false).catch(() => null);
    if (created?.status === 200) break;
    if (Date.now() > end) throw new Error(`TLS influxd did not answer in 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  expect((await influxql(`CREATE DATABASE ${DB}`)).status).toBe(200);
}, 90_000);

afterAll(async () => {
  if (influxd && influxd.exitCode === null) {
    const exited = new Promise((r) => influxd!.once('exit', r));
    influxd.kill('SIGTERM');
    await exited;
  }
});

describe('InfluxDB writer over TLS with a token', () => {
  it('writes through TLS trusting the CA file, with the token', async () => {
    const w = createInfluxWriter({ url, token: TOKEN, org: 'gridwatch', bucket: DB, caFile: tls.caFile, logger: silentLogger() });
    w.writeEvents([gridEvent(1, 1, 10)]);
    await w.flush();
    await w.close();
    const r = await influxql(`SELECT count(*) FROM ${DB}.autogen.grid_event`);
    expect(r.status).toBe(200);
    const row = (JSON.parse(r.body) as { results: { series?: { columns: string[]; values: unknown[][] }[] }[] }).results[0]?.series?.[0];
    expect(row?.values[0]?.[row.columns.indexOf('count_eventId')]).toBe(1);
  });

  it('refuses a server its CA file did not sign, and one the system CAs do not know, as retryable failures', async () => {
    for (const caFile of [otherCa.caFile, undefined]) {
      const w = createInfluxWriter({ url, token: TOKEN, org: 'gridwatch', bucket: DB, ...(caFile ? { caFile } : {}), logger: silentLogger() });
      w.writeEvents([gridEvent(2, 1, 4)]);
      const err = await w.flush().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GridwatchError);
      expect(err).toMatchObject({ code: 'ARCHIVE_FAILED', retryable: true });
      expect(String((err as Error).message)).toMatch(/certificate|self.signed|issuer/i);
      await w.close().catch(() => undefined);
    }
  });

  it('a wrong token is refused as a permanent failure, and the message does not hold the token', async () => {
    const wrong = `${USER}:not-the-password-77`;
    const w = createInfluxWriter({ url, token: wrong, org: 'gridwatch', bucket: DB, caFile: tls.caFile, logger: silentLogger() });
    w.writeEvents([gridEvent(3, 1, 4)]);
    const err = await w.flush().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCHIVE_FAILED', retryable: false, details: { status: 401 } });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as { details?: unknown }).details })).not.toContain('not-the-password-77');
    await w.close().catch(() => undefined);
  });

  it('a CA file with an http:// URL, or one that cannot be read, is a configuration error', () => {
    expect(() => createInfluxWriter({ url: url.replace('https:', 'http:'), token: TOKEN, org: 'o', bucket: DB, caFile: tls.caFile, logger: silentLogger() })).toThrow(/GRIDWATCH_INFLUX_CA_FILE is set but GRIDWATCH_INFLUX_URL is not https/);
    expect(() => createInfluxWriter({ url, token: TOKEN, org: 'o', bucket: DB, caFile: '/nonexistent/ca.pem', logger: silentLogger() })).toThrow(/GRIDWATCH_INFLUX_CA_FILE: cannot read/);
  });
});
