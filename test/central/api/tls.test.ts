// The API over TLS (GRIDWATCH_HTTP_TLS_CERT_FILE / _KEY_FILE): a client that trusts the
// certificate gets answers (with HSTS), one that does not is refused, and plain HTTP to the TLS
// port gets no answer. The certificate is made for the test by openssl, valid for 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { get } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { apiDeps } from './fixtures.ts';

function httpsGet(url: string, o: { ca?: Buffer; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ...(o.ca ? { ca: o.ca } : {}), headers: o.headers ?? {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

describe('the API over TLS', () => {
  const { auth, tokens } = testAuth();
  const sse = new SseHub({ maxClients: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'api-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  let server: Server;
  let base: string;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    server = await listen(
      createApiHandler(apiDeps({
        sse,
        auth,
        tls: true,
      })),
      0,
      '127.0.0.1',
      { tls: { certFile, keyFile } },
    );
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    auth.stop();
    sse.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers a client that trusts the certificate, with HSTS', async () => {
    const ca = readFileSync(certFile);
    const r = await httpsGet(`${base}/api/events`, { ca, headers: tokens.headers() });
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await httpsGet(`${base}/api/events`, { ca })).status).toBe(401);
  });

  it('is refused by a client that does not trust it, and gives plain HTTP no answer', async () => {
    await expect(httpsGet(`${base}/healthz`, {})).rejects.toThrow(/self[- ]signed|unable to verify/i);
    const plain = await fetch(base.replace('https:', 'http:') + '/healthz').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain === 'refused' || (typeof plain === 'number' && plain >= 400)).toBe(true);
  });
});
