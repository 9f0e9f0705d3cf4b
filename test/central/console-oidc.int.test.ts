// The console's OIDC redirect login in a real headless Chromium: the console follows the
// authorization-code flow with PKCE (S256) to a real local authorization server
// (test/central/api/oidc-issuer.ts), comes back to callback.html, exchanges the code, and central's
// API verifies the access token with jose against that issuer's JWKS. An operator gets the action
// buttons, a viewer does not, and an answer this tab did not ask for (wrong state) is refused
// before any code is exchanged.
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnomalyStore, ApiAuth, EdgeStatusStore, EventStore, ReadingStore, SseHub, createApiHandler, listen } from '../../central/api/index.ts';
import { TopologyRegistry } from '../../central/registry/index.ts';
import { Workflow } from '../../central/workflow/service.ts';
import { ensureChromium } from '../../deploy/services/chromium.ts';
import { Metrics, silentLogger, systemClock, Topology } from '../../shared/index.ts';
import { makeTokensFile } from '../harness/api-tokens.ts';
import { startLocalIssuer, type LocalIssuer } from './api/oidc-issuer.ts';
import { edgeStatus, initialEvents, topologyEntries } from './console/fixtures.ts';

const CONSOLE_DIR = fileURLToPath(new URL('../../central/console/', import.meta.url));
const AUDIENCE = 'gridwatch-central';
const CLIENT_ID = 'gridwatch-console';
const WITHIN_MS = 10_000;

let issuer: LocalIssuer;
let browser: Browser;
let server: Server;
let consoleUrl: string;
let auth: ApiAuth;
let sse: SseHub;
const contexts: BrowserContext[] = [];

async function startCentral(): Promise<void> {
  const now = Date.now();
  const logger = silentLogger();
  const events = new EventStore(500);
  sse = new SseHub({ maxClients: 10, heartbeatMs: 5_000 });
  events.onChange((e) => sse.broadcast(e));
  const registry = new TopologyRegistry({ logger, topology: new Topology(topologyEntries()) });
  // The operators' workflow over an in-memory writer (its Kafka side is tested in test/central/workflow).
  const writer = { connect: async () => undefined, disconnect: async () => undefined, send: async () => undefined };
  const workflow = new Workflow({ writer, topics: { actions: 'a', maintenance: 'm' }, events, topology: registry.topology, clock: systemClock, logger });
  events.decorateWith((e) => workflow.decorate(e));
  for (const e of initialEvents(now)) events.upsert(e);
  const edges = new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 });
  edges.update(edgeStatus(now, 'edge-north', 'SUB-NORTH', 2_000, 0), now - 2_000);
  const metrics = new Metrics('central-console-oidc-test', { defaultMetrics: false });
  auth = new ApiAuth({ mode: 'on', tokensFile: makeTokensFile().file, oidc: { issuer: issuer.issuer, audience: AUDIENCE, clockSkewSec: 30, roleClaim: 'gridwatch_role' }, logger, metrics });
  auth.start();
  const handler = createApiHandler({
    events,
    anomalies: new AnomalyStore(10),
    readings: new ReadingStore(2, 10),
    edges,
    registry,
    sse,
    metrics,
    clock: systemClock,
    logger,
    health: () => ({ live: true, ready: true, details: {} }),
    auth,
    workflow,
    consoleDir: CONSOLE_DIR,
    consoleLogin: { issuer: issuer.issuer, clientId: CLIENT_ID, scope: 'openid email' },
  });
  server = await listen(handler, 0, '127.0.0.1');
  consoleUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A fresh tab with its own sessionStorage; script errors on the page are collected. */
async function newTab(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  return { page, errors };
}

/** From the console's sign-in page through the provider and the callback, back to a live console. */
async function signInThroughProvider(page: Page): Promise<void> {
  await page.goto(consoleUrl);
  await page.locator('#oidc-login').waitFor({ timeout: WITHIN_MS });
  await page.click('#oidc-sign-in');
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: WITHIN_MS });
  await page.locator('#events-body tr[data-event-id]').first().waitFor({ timeout: WITHIN_MS });
}

beforeAll(async () => {
  const executablePath = await ensureChromium();
  browser = await chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  issuer = await startLocalIssuer({ audience: AUDIENCE });
  await startCentral();
  issuer.registerClient({ clientId: CLIENT_ID, redirectUri: `${consoleUrl}callback.html`, origin: new URL(consoleUrl).origin });
}, 600_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  sse?.close();
  auth?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await issuer?.close();
});

describe('console OIDC login', () => {
  it('allows the issuer, and only it, beyond self in connect-src', async () => {
    const res = await fetch(consoleUrl);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(/connect-src ([^;]*)/.exec(csp)?.[1]).toBe(`'self' ${issuer.issuer}`);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const login = (await (await fetch(`${consoleUrl}login.json`)).json()) as unknown;
    expect(login).toEqual({ oidc: { issuer: issuer.issuer, clientId: CLIENT_ID, scope: 'openid email' } });
    // The OAuth library is served from node_modules, that one file only.
    const lib = await fetch(`${consoleUrl}vendor/oauth4webapi/index.js`);
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect((await fetch(`${consoleUrl}vendor/oauth4webapi/index.d.ts`)).status).toBe(404);
    expect((await fetch(`${consoleUrl}vendor/oauth4webapi/%2e%2e/package.json`)).status).toBe(404);
  });

  it('signs an operator in through the provider with PKCE, shows who it is, the events and the operator\'s buttons, and signs out', async () => {
    const { page, errors } = await newTab();
    issuer.signInAs({ sub: 'olga', email: 'olga@utility.example', role: 'operator' });
    const tokensBefore = issuer.tokenRequests.length;
    await signInThroughProvider(page);

    const asked = issuer.authorizeRequests.at(-1)!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(asked.get('redirect_uri')).toBe(`${consoleUrl}callback.html`);
    expect(issuer.tokenRequests.slice(tokensBefore)).toEqual([{ grantType: 'authorization_code', ok: true }]);

    expect(await page.locator('#session-name').textContent()).toBe('olga@utility.example (operator)');
    expect(new URL(page.url()).pathname).toBe('/');
    // The access token (a JWT for central's audience) is in this tab's storage, nothing else is left.
    const stored = await page.evaluate<{ token: string | null; pending: string | null; local: number }>("({ token: sessionStorage.getItem('gridwatch.token'), pending: sessionStorage.getItem('gridwatch.oidc.pending'), local: localStorage.length })");
    expect(stored.token?.split('.')).toHaveLength(3);
    expect(stored.pending).toBeNull();
    expect(stored.local).toBe(0);
    expect(await page.locator('#events-body tr[data-event-id="ev-outage-north-f1"] button[data-action="acknowledge"]').count()).toBe(1);
    expect(await page.locator('#maintenance-form').isVisible()).toBe(true);

    await page.click('#sign-out');
    await page.locator('#login').waitFor({ timeout: WITHIN_MS });
    expect(await page.evaluate("sessionStorage.getItem('gridwatch.token')")).toBeNull();
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  it('gives a viewer signed in through the provider the events but none of the operator\'s buttons', async () => {
    const { page, errors } = await newTab();
    issuer.signInAs({ sub: 'vic', email: 'vic@utility.example', role: 'viewer' });
    await signInThroughProvider(page);
    expect(await page.locator('#session-name').textContent()).toBe('vic@utility.example (viewer)');
    expect(await page.locator('#events-body tr[data-event-id]').count()).toBeGreaterThan(0);
    expect(await page.locator('#events-body button').count()).toBe(0);
    expect(await page.locator('#maintenance-form').isVisible()).toBe(false);
    expect(await page.locator('#action-form').isVisible()).toBe(false);
    // The token really is a viewer's at the API: an operator's action is refused.
    const status = await page.evaluate<number>(`fetch('/api/events/ev-outage-north-f1/actions', { method: 'POST', headers: { authorization: 'Bearer ' + sessionStorage.getItem('gridwatch.token'), 'content-type': 'application/json' }, body: '{"action":"acknowledge"}' }).then((r) => r.status)`);
    expect(status).toBe(403);
    expect(errors, errors.join('\n')).toEqual([]);
  });

  it('refuses an answer with a state this tab did not send, and exchanges no code', async () => {
    // An attacker's own valid code (their PKCE pair), slipped into the victim's tab with a forged state.
    issuer.signInAs({ sub: 'mallory', email: 'mallory@utility.example', role: 'admin' });
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${issuer.issuer}/authorize`);
    for (const [k, v] of Object.entries({ client_id: CLIENT_ID, redirect_uri: `${consoleUrl}callback.html`, response_type: 'code', scope: 'openid', state: 'mallory-state', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' })) authorize.searchParams.set(k, v);
    const location = (await fetch(authorize, { redirect: 'manual' })).headers.get('location')!;
    const attackerCode = new URL(location).searchParams.get('code')!;
    expect(attackerCode).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const { page, errors } = await newTab();
    // The victim starts a sign-in; the answer that comes back is the attacker's.
    await page.route(`${issuer.issuer}/authorize?**`, (route) => route.fulfill({ status: 302, headers: { location: `${consoleUrl}callback.html?code=${attackerCode}&state=forged-state` } }));
    const tokensBefore = issuer.tokenRequests.length;
    await page.goto(consoleUrl);
    await page.locator('#oidc-login').waitFor({ timeout: WITHIN_MS });
    await page.click('#oidc-sign-in');
    await page.locator('#callback-error', { hasText: 'Sign-in refused' }).waitFor({ timeout: WITHIN_MS });
    expect(await page.locator('#callback-error').textContent()).toMatch(/state/i);
    expect(await page.evaluate("sessionStorage.getItem('gridwatch.token')")).toBeNull();
    expect(issuer.tokenRequests.length).toBe(tokensBefore);
    // Neither code nor state stays in the address bar.
    expect(page.url()).toBe(`${consoleUrl}callback.html`);
    // Back at the console: still signed out.
    await page.click('#callback-back a');
    await page.locator('#login').waitFor({ timeout: WITHIN_MS });
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
