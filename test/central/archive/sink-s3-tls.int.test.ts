// S3Sink over TLS against a real MinIO: a second MinIO process of this test's own (the shared
// one stays plain http for the other tests), on a free loopback port, serving a throwaway
// certificate from its certs dir (MinIO turns TLS on when certs/public.crt + private.key exist).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Sink } from '../../../central/archive/index.ts';
import { minioBinary } from '../../../deploy/services/minio.ts';
import { silentLogger } from '../../../shared/index.ts';
import { uniqueName } from '../../harness/env.ts';
import { throwawayTls, type ThrowawayTls } from '../../harness/throwaway-tls.ts';
import { archiveSinkContract } from './sink-contract.ts';
import { freePort } from '../../harness/ports.ts';

const ACCESS = 'gw-tls-access';
const SECRET = 'gw-tls-secret-6b1f0e';

let minio: ChildProcess | undefined;
let tls: ThrowawayTls;
let otherCa: ThrowawayTls;
let endpoint = '';
let output = '';

async function startTlsMinio(): Promise<void> {
  const bin = minioBinary();
  if (!existsSync(bin)) throw new Error(`MinIO binary ${bin} is missing: the global setup (gridwatch services up) provisions it`);
  tls = throwawayTls('gw-minio');
  otherCa = throwawayTls('gw-minio-other');
  const certs = join(tls.dir, 'certs');
  mkdirSync(certs);
  copyFileSync(tls.certFile, join(certs, 'public.crt'));
  copyFileSync(tls.keyFile, join(certs, 'private.key'));
  const data = mkdtempSync(join(tmpdir(), 'gw-minio-data-'));
  const [api, consolePort] = [await freePort(), await freePort()];
  endpoint = `https://127.0.0.1:${api}`;
  minio = spawn(bin, ['server', data, '--address', `127.0.0.1:${api}`, '--console-address', `127.0.0.1:${consolePort}`, '--certs-dir', certs, '--quiet'], {
    env: { ...process.env, MINIO_ROOT_USER: ACCESS, MINIO_ROOT_PASSWORD: SECRET, MINIO_UPDATE: 'off', MINIO_BROWSER: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  minio.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  minio.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const probe = sink('gw-probe');
  const end = Date.now() + 60_000;
  for (;;) {
    if (minio.exitCode !== null) throw new Error(`TLS MinIO exited ${minio.exitCode}: ${output}`);
    try {
      await probe.list(''); // the bucket does not exist: an S3 answer (NoSuchBucket) means TLS and S3 are up
      return;
    } catch (err) {
      if ((err as { details?: { s3Code?: string } }).details?.s3Code === 'NoSuchBucket') return;
      if (Date.now() > end) throw new Error(`TLS MinIO did not answer in 60 s: ${(err as Error).message}\n${output}`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function sink(bucket: string, over: Partial<Parameters<typeof S3Sink.fromSettings>[0]> = {}): S3Sink {
  return S3Sink.fromSettings({ s3Endpoint: endpoint, s3AccessKey: ACCESS, s3SecretKey: SECRET, s3Bucket: bucket, s3CaFile: tls.caFile, ...over }, silentLogger());
}

beforeAll(startTlsMinio, 90_000);
afterAll(async () => {
  if (minio && minio.exitCode === null) {
    const exited = new Promise((r) => minio!.once('exit', r));
    minio.kill('SIGTERM');
    await exited;
  }
});

archiveSinkContract('S3Sink (MinIO over TLS, CA file)', async () => {
  const s = sink(uniqueName('tls-contract'));
  await s.ensureBucket();
  return s;
});

describe('S3Sink over TLS', () => {
  it('describes itself as https', () => {
    expect(sink('gw-describe').describe()).toMatch(/^s3:https:\/\/127\.0\.0\.1:\d+\/gw-describe$/);
  });

  it('refuses a server its CA file did not sign, and one the system CAs do not know: no plaintext fallback', async () => {
    for (const s3CaFile of [otherCa.caFile, undefined]) {
      const s = sink(uniqueName('tls-untrusted'), s3CaFile ? { s3CaFile } : { s3CaFile: undefined });
      const err = await s.put('k', Buffer.from('x')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ARCHIVE_FAILED' });
      expect(String((err as Error).message)).toMatch(/certificate|self.signed|issuer/i);
    }
  });

  it('an http:// endpoint on the TLS port fails, and a CA file with http:// is a configuration error', async () => {
    const plain = sink(uniqueName('tls-plain'), { s3Endpoint: endpoint.replace('https:', 'http:'), s3CaFile: undefined });
    await expect(plain.ensureBucket()).rejects.toMatchObject({ code: 'ARCHIVE_FAILED' });
    expect(() => sink('gw-x', { s3Endpoint: endpoint.replace('https:', 'http:') })).toThrow(/GRIDWATCH_S3_CA_FILE is set but GRIDWATCH_S3_ENDPOINT is not https/);
    expect(() => sink('gw-x', { s3CaFile: '/nonexistent/ca.pem' })).toThrow(/GRIDWATCH_S3_CA_FILE: cannot read/);
  });

  it('a wrong secret key is a permanent (not retried) failure whose message does not contain the key', async () => {
    const s = sink(uniqueName('tls-badkey'), { s3SecretKey: 'wrong-secret-key-4411' });
    const err = await s.ensureBucket().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCHIVE_FAILED', retryable: false });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as { details?: unknown }).details })).not.toContain('wrong-secret-key-4411');
  });
});
