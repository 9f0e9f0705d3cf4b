// The authorisation matrix, against the real API server: every route x every kind of caller gets
// exactly the expected status. The OIDC tokens are real JWTs signed by a key whose JWKS (and
// discovery document) a real local HTTP server serves, as an identity provider would.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth, AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, SseHub, createApiHandler, listen, newToken, readTokensFile, writeTokensFile, type ApiDeps } from '../../../central/api/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { Workflow } from '../../../central/workflow/service.ts';
import { ManualClock, Metrics, silentLogger, Topology } from '../../../shared/index.ts';
import { makeTokensFile } from '../../harness/api-tokens.ts';
import { T0, gridEvent } from './fixtures.ts';

const AUDIENCE = 'gridwatch-central';
const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

/** A minimal identity provider: discovery and JWKS over real HTTP. */
async function startIdentityProvider(): Promise<{ issuer: string; sign: (claims: Record<string, unknown>, o?: { issuer?: string; audience?: string; expiresIn?: string | number; key?: CryptoKey }) => Promise<string>; otherKey: CryptoKey; close: () => Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let issuer = '';
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') return void res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }));
    if (req.url === '/jwks.json') return void res.end(JSON.stringify({ keys: [jwk] }));
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    otherKey: other.privateKey,
    sign: (claims, o = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setSubject('alice@utility.example')
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? '5m')
        .sign(o.key ?? privateKey),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The workflow over an in-memory writer (the Kafka side is tested in test/central/workflow). */
function workflow(events: EventStore, registry: TopologyRegistry): Workflow {
  const writer = { connect: async () => undefined, disconnect: async () => undefined, send: async () => undefined };
  const wf = new Workflow({ writer, topics: { actions: 'a', maintenance: 'm' }, events, topology: registry.topology, clock: { now: () => T0 }, logger: silentLogger() });
  events.decorateWith((e) => wf.decorate(e));
  const by = { kind: 'api-key', id: 'k', name: 'k', role: 'operator' };
  wf.maintenance.apply('mw-1', { windowId: 'mw-1', device: { level: 'feeder', id: 'F1' }, from: T0, to: T0 + 60_000, reason: 'works', createdBy: by, createdAt: T0 });
  return wf;
}

function deps(auth: ApiAuth, metrics: Metrics): ApiDeps {
  const events = new EventStore(10);
  events.upsert(gridEvent());
  const registry = new TopologyRegistry({ logger: silentLogger(), topology: new Topology([{ meterId: 'M1', transformerId: 'T1', feederId: 'F1', substationId: 'S01', phase: 'A', nominalVoltage: 230, nominalFrequency: 50 }]) });
  return {
    workflow: workflow(events, registry),
    events,
    anomalies: new AnomalyStore(10),
    readings: new ReadingStore(2, 10),
    edges: new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 }),
    registry,
    sse: new SseHub({ maxClients: 100, heartbeatMs: 60_000 }),
    metrics,
    clock: new ManualClock(T0),
    logger: silentLogger(),
    health: () => ({ live: true, ready: true, details: {} }),
    auth,
  };
}

async function serve(d: ApiDeps): Promise<{ base: string; server: Server }> {
  const server = await listen(createApiHandler(d), 0, '127.0.0.1');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Status of one request; an event stream is closed as soon as its status is known. */
async function status(url: string, token?: string): Promise<number> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: ctl.signal });
  ctl.abort();
  return res.status;
}

const close = (s: Server) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));

describe('authorisation matrix', () => {
  const metrics = new Metrics('central-test', { defaultMetrics: false });
  const tokens = makeTokensFile();
  let idp: Awaited<ReturnType<typeof startIdentityProvider>>;
  let auth: ApiAuth;
  let d: ApiDeps;
  let base: string;
  let server: Server;
  const callers: Record<string, string | undefined> = {};

  beforeAll(async () => {
    idp = await startIdentityProvider();
    // No JWKS address: it is found through the issuer's discovery document.
    auth = new ApiAuth({
      mode: 'on',
      tokensFile: tokens.file,
      metricsToken: METRICS_TOKEN,
      oidc: { issuer: idp.issuer, audience: AUDIENCE, clockSkewSec: 30, roleClaim: 'groups.gridwatch' },
      failures: { maxFailures: 10_000, windowMs: 60_000 },
      logger: silentLogger(),
      metrics,
    });
    auth.start();
    d = deps(auth, metrics);
    ({ base, server } = await serve(d));
    Object.assign(callers, {
      'no token': undefined,
      'bad token': 'gw_0123456789ab_' + 'A'.repeat(43),
      garbage: 'not-a-token',
      'expired JWT': await idp.sign({ groups: { gridwatch: 'admin' } }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
      'wrong issuer': await idp.sign({ groups: { gridwatch: 'admin' } }, { issuer: 'https://evil.example' }),
      'wrong audience': await idp.sign({ groups: { gridwatch: 'admin' } }, { audience: 'another-app' }),
      'JWT of another key': await idp.sign({ groups: { gridwatch: 'admin' } }, { key: idp.otherKey }),
      'JWT without a role': await idp.sign({ groups: { gridwatch: 'janitor' } }),
      'metrics token': METRICS_TOKEN,
      viewer: tokens.viewer,
      operator: tokens.operator,
      admin: tokens.admin,
      'JWT viewer': await idp.sign({ groups: { gridwatch: 'viewer' } }),
      'JWT operator': await idp.sign({ groups: { gridwatch: ['viewer', 'operator'] } }),
      'JWT admin': await idp.sign({ groups: { gridwatch: ['admin'] } }),
    });
  });
  afterAll(async () => {
    auth.stop();
    d.sse.close();
    await close(server);
    await idp.close();
  });

  const refused = { 'no token': 401, 'bad token': 401, garbage: 401, 'expired JWT': 401, 'wrong issuer': 401, 'wrong audience': 401, 'JWT of another key': 401, 'JWT without a role': 403 };
  const readers = { viewer: 200, operator: 200, admin: 200, 'JWT viewer': 200, 'JWT operator': 200, 'JWT admin': 200 };
  const viewerRoute = { ...refused, 'metrics token': 401, ...readers };
  const expected: Record<string, Record<string, number>> = {
    '/healthz': Object.fromEntries(Object.keys({ ...viewerRoute }).map((k) => [k, 200])),
    '/readyz': Object.fromEntries(Object.keys({ ...viewerRoute }).map((k) => [k, 200])),
    '/metrics': { ...viewerRoute, 'metrics token': 200 },
    '/api/openapi.json': viewerRoute,
    '/api/whoami': viewerRoute,
    '/api/events': viewerRoute,
    '/api/events/ev-1': viewerRoute,
    '/api/anomalies': viewerRoute,
    '/api/meters/M1': viewerRoute,
    '/api/topology': viewerRoute,
    '/api/topology?tree=1': viewerRoute,
    '/api/edges': viewerRoute,
    '/api/stream': viewerRoute,
    '/api/events/ev-1/actions': viewerRoute,
    '/api/maintenance': viewerRoute,
    '/api/maintenance/mw-1': viewerRoute,
    '/api/admin/tokens': { ...refused, 'metrics token': 401, viewer: 403, operator: 403, admin: 200, 'JWT viewer': 403, 'JWT operator': 403, 'JWT admin': 200 },
  };

  it('gives every route exactly the expected status for every caller', async () => {
    const got: Record<string, Record<string, number>> = {};
    for (const route of Object.keys(expected)) {
      got[route] = {};
      for (const [caller, token] of Object.entries(callers)) got[route][caller] = await status(base + route, token);
    }
    expect(got).toEqual(expected);
  }, 60_000); // ~300 requests, each JWT verified: slow on a loaded machine

  it('covers every route the server has', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`, { headers: tokens.headers() })).json()) as { paths: Record<string, unknown> };
    const routes = Object.keys(doc.paths).map((p) => p.replace('{eventId}', 'ev-1').replace('{meterId}', 'M1').replace('{windowId}', 'mw-1'));
    expect(routes.sort()).toEqual(Object.keys(expected).filter((r) => !r.includes('?')).sort());
  });

  // The workflow's writes: operator and admin only; a viewer is refused with 403 before the body is looked at.
  const writers = (ok: number) => ({ ...refused, 'metrics token': 401, viewer: 403, operator: ok, admin: ok, 'JWT viewer': 403, 'JWT operator': ok, 'JWT admin': ok });
  const window = { device: { level: 'feeder', id: 'F1' }, from: T0, to: T0 + 60_000, reason: 'works' };
  const writes: [string, string, unknown, Record<string, number>][] = [
    ['POST', '/api/events/ev-1/actions', { action: 'acknowledge' }, writers(201)],
    ['POST', '/api/maintenance', window, writers(201)],
    ['PUT', '/api/maintenance/mw-1', window, writers(200)],
    ['DELETE', '/api/maintenance/mw-none', undefined, writers(404)],
  ];

  it('lets only operators and admins write (actions, maintenance windows)', async () => {
    for (const [method, route, body, want] of writes) {
      const got: Record<string, number> = {};
      for (const [caller, token] of Object.entries(callers)) {
        const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
        if (body !== undefined) headers['content-type'] = 'application/json';
        got[caller] = (await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })).status;
      }
      expect(got, `${method} ${route}`).toEqual(want);
    }
    // The read-only routes stay read-only.
    expect((await fetch(`${base}/api/events`, { method: 'POST', headers: tokens.headers('admin') })).status).toBe(405);
  });

  it('counts refusals by reason, says who a token belongs to, and answers 401 with a Bearer challenge', async () => {
    const text = await metrics.text();
    for (const reason of ['missing', 'unknown_token', 'expired', 'bad_issuer', 'bad_audience', 'bad_signature', 'no_role', 'forbidden']) expect(text, reason).toMatch(new RegExp(`gridwatch_central_api_auth_failures_total\\{reason="${reason}"[^}]*\\} [1-9]`));
    const res = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${callers['expired JWT']!}` } });
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="gridwatch"/);
    expect(await res.json()).toEqual({ error: 'unauthorized', reason: 'expired' });
    const me = (await (await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${callers['JWT operator']!}` } })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ kind: 'oidc', id: 'alice@utility.example', role: 'operator', auth: 'on' });
    const list = (await (await fetch(`${base}/api/admin/tokens`, { headers: tokens.headers('admin') })).json()) as { tokens: Record<string, unknown>[] };
    expect(list.tokens.map((t) => t.role).sort()).toEqual(['admin', 'operator', 'viewer']);
    expect(JSON.stringify(list)).not.toMatch(/sha256|gw_/);
  });

  it('follows the tokens file: a key added works without a restart, a revoked one is refused (on change and on SIGHUP)', async () => {
    const added = newToken('late-comer', 'viewer');
    writeTokensFile(tokens.file, [...readTokensFile(tokens.file), added.record]);
    await expect.poll(() => status(`${base}/api/events`, added.token), { timeout: 5000, interval: 100 }).toBe(200);
    writeTokensFile(tokens.file, readTokensFile(tokens.file).filter((t) => t.id !== added.record.id));
    process.kill(process.pid, 'SIGHUP');
    await expect.poll(() => status(`${base}/api/events`, added.token), { timeout: 5000, interval: 100 }).toBe(401);
    expect(await status(`${base}/api/events`, tokens.viewer)).toBe(200);
  });
});

describe('failed authentication is limited per client address', () => {
  it('answers 429 after the budget of refused credentials, whatever the next request presents, until the window ends', async () => {
    const metrics = new Metrics('central-test', { defaultMetrics: false });
    const tokens = makeTokensFile();
    const auth = new ApiAuth({ mode: 'on', tokensFile: tokens.file, failures: { maxFailures: 3, windowMs: 1500 }, logger: silentLogger(), metrics });
    auth.start();
    const d = deps(auth, metrics);
    const { base, server } = await serve(d);
    try {
      expect(await status(`${base}/api/events`)).toBe(401); // a missing token guesses nothing: not counted
      for (let i = 0; i < 3; i++) expect(await status(`${base}/api/events`, `gw_0123456789ab_${'x'.repeat(43)}`)).toBe(401);
      const res = await fetch(`${base}/api/events`, { headers: tokens.headers() });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await status(`${base}/healthz`)).toBe(200);
      expect(await metrics.text()).toMatch(/gridwatch_central_api_auth_failures_total\{reason="rate_limited"[^}]*\} 1/);
      await expect.poll(() => status(`${base}/api/events`, tokens.viewer), { timeout: 4000, interval: 200 }).toBe(200);
    } finally {
      auth.stop();
      d.sse.close();
      await close(server);
    }
  });
});

describe('GRIDWATCH_API_AUTH=none', () => {
  it('answers without a token and says so', async () => {
    const metrics = new Metrics('central-test', { defaultMetrics: false });
    const auth = new ApiAuth({ mode: 'none', logger: silentLogger(), metrics });
    auth.start();
    const d = deps(auth, metrics);
    const { base, server } = await serve(d);
    try {
      expect(await status(`${base}/api/events`)).toBe(200);
      expect(await status(`${base}/api/admin/tokens`)).toBe(200);
      expect(await (await fetch(`${base}/api/whoami`)).json()).toMatchObject({ kind: 'none', auth: 'none' });
    } finally {
      d.sse.close();
      await close(server);
    }
  });

  it('refuses everything but the probes when authentication is on and no token source is configured', async () => {
    const metrics = new Metrics('central-test', { defaultMetrics: false });
    const auth = new ApiAuth({ mode: 'on', logger: silentLogger(), metrics });
    auth.start();
    const d = deps(auth, metrics);
    const { base, server } = await serve(d);
    try {
      expect(await status(`${base}/api/events`, 'gw_0123456789ab_' + 'A'.repeat(43))).toBe(401);
      expect(await status(`${base}/healthz`)).toBe(200);
    } finally {
      d.sse.close();
      await close(server);
    }
  });
});
