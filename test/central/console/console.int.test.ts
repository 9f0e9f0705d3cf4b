// The live console in a real headless Chromium (Debian's package, driven by playwright-core):
// checks what the page shows (tree, severities, open events, live updates from the stream), not
// only that it loads.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../../deploy/services/chromium.ts';
import { edgeStatus, gridEvent, initialEvents, topologyEntries } from './fixtures.ts';
import { startConsoleServer, type ConsoleServer } from './api-server.ts';

const SCREENSHOT = '/tmp/gridwatch-console.png';
const LIVE_WITHIN_MS = 5_000;

let server: ConsoleServer;
let browser: Browser;
let page: Page;
let serverStartedAt = 0;
const pageErrors: string[] = [];

const attrs = (selector: string, name: string) => page.locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

beforeAll(async () => {
  const executablePath = await ensureChromium();
  // The browser first: the heartbeat ages below start counting when the server starts.
  browser = await chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const now = Date.now();
  serverStartedAt = now;
  server = await startConsoleServer({
    topology: topologyEntries(),
    events: initialEvents(now),
    edges: [
      { status: edgeStatus(now, 'edge-north', 'SUB-NORTH', 2_000, 0), ageMs: 2_000 },
      { status: edgeStatus(now, 'edge-south', 'SUB-SOUTH', 45_000, 412), ageMs: 45_000 },
    ],
  });
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // Network failures are the browser's own reports (the test drops the stream on purpose);
    // script errors and the console's own reports are what must not happen.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });
  await page.goto(server.url);
  // The console asks for a token before it shows anything (a wrong one: the last test).
  await page.locator('#login').waitFor({ timeout: LIVE_WITHIN_MS });
  expect(await page.locator('#app').isHidden()).toBe(true);
  await page.fill('#token-input', server.token);
  await page.click('#login-form button[type="submit"]');
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: LIVE_WITHIN_MS });
  await page.locator('#events-body tr[data-event-id]').first().waitFor({ timeout: LIVE_WITHIN_MS });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('live console', () => {
  it('lists the substations, feeders and transformers with their meter counts', async () => {
    expect(await attrs('#tree [data-level="substation"]', 'data-id')).toEqual(['SUB-NORTH', 'SUB-SOUTH']);
    expect(await attrs('#tree [data-level="feeder"]', 'data-id')).toEqual(['SUB-NORTH-F1', 'SUB-NORTH-F2', 'SUB-SOUTH-F1']);
    expect(await attrs('#tree [data-level="transformer"]', 'data-id')).toEqual(['SUB-NORTH-F1-T1', 'SUB-NORTH-F1-T2', 'SUB-NORTH-F2-T1', 'SUB-SOUTH-F1-T1']);
    expect(await page.locator('[data-key="feeder:SUB-NORTH-F1"] .node-label').first().textContent()).toContain('10 meters');
    expect(await page.locator('[data-key="substation:SUB-SOUTH"] .node-label').first().textContent()).toContain('7 meters');
  });

  it('marks the feeder with the outage critical, in colour and in words, and rolls it up to its substation', async () => {
    const feeder = page.locator('[data-key="feeder:SUB-NORTH-F1"]');
    expect(await feeder.getAttribute('data-severity')).toBe('critical');
    expect(await feeder.getAttribute('class')).toContain('sev-critical');
    expect(await feeder.locator('.node-label').first().textContent()).toContain('CRITICAL');
    expect(await page.locator('[data-key="substation:SUB-NORTH"]').getAttribute('data-severity')).toBe('critical');
    // The closed sag leaves its feeder clear; the minor undervoltage marks its transformer and feeder.
    expect(await page.locator('[data-key="feeder:SUB-NORTH-F2"]').getAttribute('data-severity')).toBe('ok');
    expect(await page.locator('[data-key="feeder:SUB-NORTH-F2"] .node-label').first().textContent()).toContain('OK');
    expect(await page.locator('[data-key="transformer:SUB-SOUTH-F1-T1"]').getAttribute('data-severity')).toBe('minor');
    expect(await page.locator('[data-key="feeder:SUB-SOUTH-F1"]').getAttribute('data-severity')).toBe('minor');
  });

  it('shows the open grid events, most severe first, and counts them in the header', async () => {
    expect(await attrs('#events-body tr', 'data-event-id')).toEqual(['ev-outage-north-f1', 'ev-uv-south-t1']);
    const cells = await page.locator('#events-body tr').first().locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual(['feeder', 'SUB-NORTH-F1', 'outage', 'CRITICAL', '10']);
    expect(cells[6]).toMatch(/^1[12]m \d\ds$/);
    expect(await page.locator('#counts [data-severity="critical"]').textContent()).toBe('1 critical');
    expect(await page.locator('#counts [data-severity="minor"]').textContent()).toBe('1 minor');
    // The closed sag is on the timeline, not in the table.
    expect(await attrs('#timeline .bar', 'data-event-id')).toContain('ev-sag-north-f2');
    expect(await page.locator('#timeline .bar[data-event-id="ev-sag-north-f2"]').getAttribute('class')).toContain('state-closed');
  });

  it("shows the edge gateways' heartbeat age, outbox depth and comms state", async () => {
    expect(await attrs('#edges-body tr', 'data-edge-id')).toEqual(['edge-north', 'edge-south']);
    expect(await attrs('#edges-body tr', 'data-comms')).toEqual(['ok', 'late']);
    const south = await page.locator('#edges-body tr[data-edge-id="edge-south"] td').allTextContents();
    expect(south[1]).toBe('SUB-SOUTH');
    // The age keeps counting from the 45 s it had when the server started (re-rendered every second).
    expect(south[2]).toMatch(/^\d+s$/);
    const real = Math.floor((45_000 + Date.now() - serverStartedAt) / 1000);
    expect(Number.parseInt(south[2]!, 10)).toBeGreaterThanOrEqual(Math.max(45, real - 2));
    expect(Number.parseInt(south[2]!, 10)).toBeLessThanOrEqual(real);
    expect(south[3]).toBe('412');
    expect(south[4]).toBe('LATE');
  });

  it('adds an event pushed on the stream, and removes it from the open table when its closed version arrives', async () => {
    const now = Date.now();
    const overload = gridEvent(now, {
      eventId: 'ev-overload-south-t1',
      scope: 'transformer',
      rootId: 'SUB-SOUTH-F1-T1',
      substationId: 'SUB-SOUTH',
      type: 'overload',
      severity: 'major',
      affectedCount: 7,
      startTs: now - 5_000,
    });
    server.publish(overload);
    const row = page.locator('#events-body tr[data-event-id="ev-overload-south-t1"]');
    await row.waitFor({ timeout: LIVE_WITHIN_MS });
    expect((await row.locator('td').allTextContents()).slice(0, 5)).toEqual(['transformer', 'SUB-SOUTH-F1-T1', 'overload', 'MAJOR', '7']);
    expect(await page.locator('[data-key="substation:SUB-SOUTH"]').getAttribute('data-severity')).toBe('major');
    expect(await page.locator('#counts [data-severity="major"]').textContent()).toBe('1 major');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    server.publish({ ...overload, state: 'closed', endTs: Date.now(), updatedAt: Date.now(), version: 2 });
    await row.waitFor({ state: 'detached', timeout: LIVE_WITHIN_MS });
    expect(await attrs('#events-body tr', 'data-event-id')).toEqual(['ev-outage-north-f1', 'ev-uv-south-t1']);
    expect(await page.locator('#timeline .bar[data-event-id="ev-overload-south-t1"]').getAttribute('class')).toContain('state-closed');
    await expect.poll(() => page.locator('[data-key="substation:SUB-SOUTH"]').getAttribute('data-severity')).toBe('minor');

    // A late copy of an older version (at-least-once delivery) does not reopen it.
    server.broadcast(overload);
    await page.waitForTimeout(500);
    expect(await page.locator('#events-body tr[data-event-id="ev-overload-south-t1"]').count()).toBe(0);
  });

  it('shows a lost stream, reconnects with backoff and catches up on what it missed', async () => {
    server.dropStreams();
    await expect.poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: LIVE_WITHIN_MS }).toBe('reconnecting');
    expect(await page.locator('#connection').textContent()).toMatch(/Disconnected, retry \d in \d+s|Reconnecting \(attempt \d\)/);
    // While the console is away, one event opens and one closes. The stream's snapshot on
    // reconnection holds only open events, so the close shows only because the console reloads
    // the recent closed events too.
    const now = Date.now();
    server.publish(
      gridEvent(now, { eventId: 'ev-freq-grid', scope: 'grid', rootId: 'grid', type: 'frequency_deviation', severity: 'major', affectedCount: 22, startTs: now - 2_000 }),
    );
    const uv = initialEvents(now - 1_000).find((e) => e.eventId === 'ev-uv-south-t1')!;
    server.publish({ ...uv, state: 'closed', endTs: now, updatedAt: now, version: 2 });
    server.resumeStreams();
    await expect.poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 10_000 }).toBe('live');
    expect(await page.locator('#connection').textContent()).toBe('Live');
    await page.locator('#events-body tr[data-event-id="ev-freq-grid"]').waitFor({ timeout: LIVE_WITHIN_MS });
    await expect.poll(() => attrs('#events-body tr', 'data-event-id'), { timeout: LIVE_WITHIN_MS }).toEqual(['ev-outage-north-f1', 'ev-freq-grid']);
    // A grid-wide event sits at the tree's root: it counts there, and does not colour the substations.
    expect(await page.locator('[data-key="grid:grid"] .node-label').first().textContent()).toContain('2 open');
    expect(await page.locator('[data-key="substation:SUB-SOUTH"]').getAttribute('data-severity')).toBe('ok');
    expect(await page.locator('#timeline .bar[data-event-id="ev-uv-south-t1"]').getAttribute('class')).toContain('state-closed');
    await page.screenshot({ path: '/tmp/gridwatch-console-after-reconnect.png', fullPage: true });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  });
  it('keeps the token in this tab only, sends strict security headers, and signs out', async () => {
    const h = (await page.request.get(server.url)).headers();
    expect(h['content-security-policy']).toMatch(/script-src 'self'/);
    expect(h['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(h['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('gridwatch.token')")).toBe(server.token);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.locator('#session-name').textContent()).toBe('test-viewer (viewer)');
    expect(await page.locator('#auth-none').isHidden()).toBe(true);
    await page.reload();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.locator('#login').isHidden()).toBe(true);
    await page.click('#sign-out');
    await page.locator('#login').waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.evaluate("sessionStorage.getItem('gridwatch.token')")).toBeNull();
    expect(await page.locator('#app').isHidden()).toBe(true);
    await page.fill('#token-input', 'gw_0123456789ab_' + 'A'.repeat(43));
    await page.click('#login-form button[type="submit"]');
    await page.locator('#login-error', { hasText: 'This token is not accepted.' }).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  });
});
