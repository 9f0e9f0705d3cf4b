// An open event stream lives no longer than its credential: against the real API server (fastify,
// ApiAuth over a real tokens file, jose against a real local issuer's JWKS), read by real HTTP
// clients. A revoked API key's stream gets a last `session-end` event and is closed within the
// tokens file's reload; another key's stream stays open; a JWT's stream ends at exp + clock skew,
// not before; each end is counted in /metrics.
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth, SseHub, createApiHandler, listen, readTokensFile, writeTokensFile, type ApiDeps } from '../../../central/api/index.ts';
import { TOKEN_PATTERN } from '../../../central/api/auth/index.ts';
import { Metrics, silentLogger } from '../../../shared/index.ts';
import { makeTokensFile, type TestTokens } from '../../harness/api-tokens.ts';
import { apiDeps, gridEvent } from './fixtures.ts';
import { startLocalIssuer, type LocalIssuer } from './oidc-issuer.ts';

const AUDIENCE = 'gridwatch-central';
const SKEW_SEC = 1;

interface OpenStream {
  status: number;
  /** Everything received so far. */
  text(): string;
  /** Resolves when the server ends the response: what it sent and when (Date.now()). */
  ended: Promise<{ text: string; at: number }>;
  close(): void;
}

/** GET /api/stream with a bearer token, read as it arrives (node:http, no EventSource polyfill). */
function openStream(base: string, token: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/stream`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      const ended = new Promise<{ text: string; at: number }>((ok, fail) => {
        res.on('end', () => ok({ text, at: Date.now() }));
        res.on('error', fail);
      });
      ended.catch(() => undefined);
      resolve({ status: res.statusCode ?? 0, text: () => text, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

const lastEvent = (text: string) => {
  const blocks = text.trim().split(/\n\n/);
  return blocks[blocks.length - 1]!;
};

async function metricValue(base: string, tokens: TestTokens, reason: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: tokens.headers('admin') })).text();
  const m = new RegExp(`^gridwatch_central_sse_sessions_ended_total\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('event streams end with their credential', () => {
  let issuer: LocalIssuer;
  let tokens: TestTokens;
  let auth: ApiAuth;
  let d: ApiDeps;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    issuer = await startLocalIssuer({ audience: AUDIENCE });
    tokens = makeTokensFile();
    const metrics = new Metrics('central-test', { defaultMetrics: false });
    auth = new ApiAuth({ mode: 'on', tokensFile: tokens.file, reloadPollMs: 100, oidc: { issuer: issuer.issuer, audience: AUDIENCE, clockSkewSec: SKEW_SEC, roleClaim: 'gridwatch_role' }, logger: silentLogger(), metrics });
    auth.start();
    d = apiDeps({ auth, metrics, sse: new SseHub({ maxClients: 10, heartbeatMs: 60_000 }) });
    server = await listen(createApiHandler(d), 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    d.sse.close();
    auth.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await issuer.close();
  });

  it('closes the stream of a revoked API key with a last event saying why, and keeps the others open', async () => {
    const before = await metricValue(base, tokens, 'revoked');
    const viewer = await openStream(base, tokens.viewer);
    const operator = await openStream(base, tokens.operator);
    expect([viewer.status, operator.status]).toEqual([200, 200]);
    await until(() => d.sse.size === 2, 2000);

    // `gridwatch credentials revoke` rewrites the file without the key; central polls it every 100 ms here.
    const viewerId = TOKEN_PATTERN.exec(tokens.viewer)![1];
    writeTokensFile(tokens.file, readTokensFile(tokens.file).filter((t) => t.id !== viewerId));
    const revokedAt = Date.now();
    const { text } = await viewer.ended;
    expect(Date.now() - revokedAt).toBeLessThan(3000);
    expect(lastEvent(text)).toBe('event: session-end\ndata: {"reason":"revoked"}');

    // The operator's stream is still live: it gets the next event.
    d.sse.broadcast(gridEvent({ eventId: 'ev-after-revoke' }));
    await until(() => operator.text().includes('ev-after-revoke'), 2000);
    expect(d.sse.size).toBe(1);
    expect(await metricValue(base, tokens, 'revoked')).toBe(before + 1);

    // And the revoked key cannot open a new one.
    const again = await openStream(base, tokens.viewer);
    expect(again.status).toBe(401);
    operator.close();
    await until(() => d.sse.size === 0, 2000);
  });

  it('closes a JWT stream at its exp plus the allowed clock skew, not before', async () => {
    const before = await metricValue(base, tokens, 'expired');
    // exp is whole seconds: 2 to 3 s from now.
    const exp = Math.floor(Date.now() / 1000) + 3;
    const jwt = await issuer.sign({ gridwatch_role: 'viewer', email: 'dana@utility.example' }, { expiresIn: exp, sub: 'dana' });
    const other = await issuer.sign({ gridwatch_role: 'viewer' }, { expiresIn: '5m', sub: 'erin' });
    const s = await openStream(base, jwt);
    const longer = await openStream(base, other);
    expect([s.status, longer.status]).toEqual([200, 200]);
    const { text, at } = await s.ended;
    const deadline = (exp + SKEW_SEC) * 1000;
    expect(at).toBeGreaterThanOrEqual(deadline);
    expect(at - deadline).toBeLessThan(1500);
    expect(lastEvent(text)).toBe('event: session-end\ndata: {"reason":"expired"}');
    expect(d.sse.size).toBe(1);
    expect(await metricValue(base, tokens, 'expired')).toBe(before + 1);
    longer.close();
  });
});
