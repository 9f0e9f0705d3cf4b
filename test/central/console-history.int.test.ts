// The history views and the maintenance calendar in real Chromium against a live central (the
// in-process aggregator with a real MinIO archive and a real InfluxDB), fed through the real
// Kafka: a meter's reading history (more readings than memory holds: from the archive), a
// feeder's voltage profile (InfluxDB feeder_1m written by the archiver), the IEEE 1366 table of a
// closed outage, and a window planned, edited and cancelled on the calendar grid. Then the
// operators' trail is in the archive: the action and the window (with the tombstone of its
// cancel) under their topics' key roots, and an API that holds nothing of them reads the event's
// trail back from there.
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { createApiHandler, EventStore, listen } from '../../central/api/index.ts';
import { S3Sink } from '../../central/archive/index.ts';
import { topicPrefix } from '../../central/archive/layout.ts';
import { TopologyRegistry } from '../../central/registry/index.ts';
import { Workflow } from '../../central/workflow/service.ts';
import { createInfluxDatabase } from '../../deploy/services/influxdb.ts';
import { Metrics, silentLogger, Topology, type EventAction, type ForwardedReading } from '../../shared/index.ts';
import { makeTokensFile, testAuth } from '../harness/api-tokens.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';
import { apiDeps } from './api/fixtures.ts';
import { launchChromium, openConsole } from './workflow/console-rig.ts';
import { centralConfig, kafka, METERS, outage, producer, publishEvents, until, workflowSettings } from './workflow/helpers.ts';

const tokens = makeTokensFile();
const e = testEndpoints();
const MIN = 60_000;
const minute = (t: number) => Math.floor(t / MIN) * MIN;
const NOW = Date.now();
const R0 = minute(NOW - 50 * MIN); // readings: 20 minutes from here, every 10 s, every meter
const PER_METER = 120;
const START = minute(NOW - 30 * MIN); // a 10-minute outage of WF-T1 (M1, M2) on WF-F1 (4 meters)
const event = outage(`transformer:WF-T1:outage:${NOW}`, START);
const closed = { ...event, state: 'closed' as const, endTs: START + 10 * MIN, updatedAt: START + 10 * MIN, version: 2 };
const utcInput = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const pageErrors: string[] = [];
let aggregator: Aggregator;
let browser: Browser;
let sink: S3Sink;
let base = '';
let settings: Record<string, string>;
const influxDb = uniqueName('console-history').replace(/-/g, '_');

function reading(meterId: string, seq: number): ForwardedReading {
  const m = METERS.find((x) => x.meterId === meterId)!;
  const ts = R0 + seq * 10_000;
  return { meterId, seq, ts, voltage: 225 + (seq % 10), readingId: `${meterId}:${seq}`, edgeId: 'edge-WF', substationId: m.substationId, feederId: m.feederId, transformerId: m.transformerId, receivedAt: ts + 30 };
}

beforeAll(async () => {
  browser = await launchChromium();
  const bucket = uniqueName('console-history');
  sink = new S3Sink({ endPoint: e.s3.endPoint, port: e.s3.port, useSSL: e.s3.useSSL, accessKey: e.s3.accessKey, secretKey: e.s3.secretKey, bucket });
  await createInfluxDatabase(e.influx.url, influxDb);
  settings = {
    ...workflowSettings('console-history', tokens.file),
    GRIDWATCH_S3_ENDPOINT: e.s3.url,
    GRIDWATCH_S3_ACCESS_KEY: e.s3.accessKey,
    GRIDWATCH_S3_SECRET_KEY: e.s3.secretKey,
    GRIDWATCH_S3_BUCKET: bucket,
    GRIDWATCH_INFLUX_URL: e.influx.url,
    GRIDWATCH_INFLUX_TOKEN: e.influx.token,
    GRIDWATCH_INFLUX_ORG: e.influx.org,
    GRIDWATCH_INFLUX_BUCKET: influxDb,
    GRIDWATCH_ARCHIVE_MAX_AGE_MS: '500',
  };
  aggregator = new Aggregator({ config: centralConfig(settings), logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), topicPartitions: 3 });
  await aggregator.start();
  base = `http://127.0.0.1:${aggregator.httpPort}`;
  const p = await producer(kafka());
  const values = METERS.flatMap((m) => Array.from({ length: PER_METER }, (_, s) => reading(m.meterId, s)));
  await p.send({ topic: aggregator.topics.readings, acks: -1, messages: values.map((r) => ({ key: r.meterId, value: JSON.stringify(r) })) });
  await publishEvents(p, aggregator.topics.events, [event, closed]);
  await p.disconnect();
  const auth = tokens.headers('viewer');
  // Archived and folded into InfluxDB: the feeder's profile counts every reading of its 4 meters.
  await until('the readings in InfluxDB', async () => {
    const r = (await (await fetch(`${base}/api/feeders/WF-F1/profile?from=${R0}&to=${R0 + 30 * MIN}&every=1m`, { headers: auth })).json()) as { buckets?: { readings: number }[] };
    return r.buckets?.reduce((n, b) => n + b.readings, 0) === 4 * PER_METER;
  }, 60_000);
  await until('the closed event in the API', async () => ((await (await fetch(`${base}/api/events/${encodeURIComponent(event.eventId)}`, { headers: auth })).json()) as { version?: number }).version === 2, 20_000);
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await aggregator?.stop();
  await fetch(`${e.influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${influxDb}"` }) }).catch(() => undefined);
});

async function submit(page: Page, form: string, fields: Record<string, string>): Promise<void> {
  for (const [id, v] of Object.entries(fields)) {
    if (await page.locator(`#${id}`).evaluate((el) => el.tagName === 'SELECT')) await page.selectOption(`#${id}`, v);
    else await page.fill(`#${id}`, v);
  }
  await page.click(`#${form} button[type="submit"]`);
}

describe('the history views and the maintenance calendar (real Chromium, live central, real Kafka, MinIO, InfluxDB)', () => {
  it('charts a meter from the archive, a feeder profile from InfluxDB, and the reliability of the outage', async () => {
    const page = await openConsole(browser, base, tokens.viewer, pageErrors);
    // The meter: all 120 readings, more than the 32 a meter's memory ring holds.
    await submit(page, 'meter-form', { 'meter-id': 'M3', 'meter-from': utcInput(R0), 'meter-to': utcInput(R0 + 30 * MIN) });
    await page.locator('#meter-status', { hasText: `${PER_METER} readings.` }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#meter-status').getAttribute('data-error')).toBe('false');
    await page.locator('#meter-chart .uplot canvas').waitFor({ timeout: 5000 });
    expect(await page.locator('#meter-chart .u-legend').textContent()).toContain('M3 voltage');

    // The feeder: 20 one-minute buckets holding the 4 meters' 480 readings.
    await submit(page, 'feeder-form', { 'feeder-id': 'WF-F1', 'feeder-from': utcInput(R0), 'feeder-to': utcInput(R0 + 30 * MIN), 'feeder-every': '1m' });
    await page.locator('#feeder-status', { hasText: `20 buckets of 1m, ${4 * PER_METER} readings.` }).waitFor({ timeout: 10_000 });
    await page.locator('#feeder-chart .uplot canvas').waitFor({ timeout: 5000 });

    // Reliability of WF-F1 over the range: 2 of its 4 customers out 10 minutes.
    await submit(page, 'rel-form', { 'rel-from': utcInput(START - 60 * MIN), 'rel-to': utcInput(NOW + 2 * MIN), 'rel-by': 'feeder', 'rel-per': 'range' });
    const row = page.locator('#rel-body tr', { hasText: 'WF-F1' });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allTextContents();
    // Period, area, customers, SAIFI, SAIDI, CAIDI, MAIFI-E, planned SAIFI, planned SAIDI.
    expect(cells.slice(1, 7)).toEqual(['WF-F1', '4', '0.5', '5', '10', '0']);
    expect(await page.locator('#rel-status').textContent()).toMatch(/^\d+ rows; 0 outage\(s\) still open/);
    await page.screenshot({ path: '/tmp/gridwatch-console-history.png', fullPage: true });
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  }, 90_000);

  it('plans a window by clicking a day of the calendar grid, edits it, sees it in the month view, and cancels it', async () => {
    const page = await openConsole(browser, base, tokens.operator, pageErrors);
    const today = new Date();
    const key = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    const cell = page.locator(`#maintenance-list .mw-week .mw-cell[data-date="${key}"]`);
    await cell.waitFor({ timeout: 5000 });
    expect(await page.locator('#maintenance-list .mw-week .mw-cell').count()).toBe(7);
    await cell.locator('.mw-date').click();
    // The form starts at 08:00 of the clicked day.
    expect(await page.inputValue('#mw-from')).toBe(`${key}T08:00`);
    await page.selectOption('#mw-level', 'transformer');
    await page.fill('#mw-device', 'WF-T3');
    await page.fill('#mw-reason', 'bushing inspection');
    await page.click('#mw-save');
    const item = cell.locator('li.mw-item', { hasText: 'bushing inspection' });
    await item.waitFor({ timeout: 5000 });
    expect(await item.textContent()).toContain('08:00');

    await item.locator('button[data-mw="edit"]').click();
    expect(await page.inputValue('#mw-device')).toBe('WF-T3');
    await page.fill('#mw-reason', 'bushing replacement');
    await page.click('#mw-save');
    await cell.locator('li.mw-item', { hasText: 'bushing replacement' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#maintenance-list li.mw-item').count()).toBe(1);

    await page.selectOption('#mw-view', 'month');
    const monthCell = page.locator(`#maintenance-list .mw-month .mw-cell[data-date="${key}"]`);
    await monthCell.locator('li.mw-item', { hasText: 'bushing replacement' }).waitFor({ timeout: 5000 });
    expect((await page.locator('#maintenance-list .mw-month .mw-cell').count()) % 7).toBe(0);
    const windowId = await monthCell.locator('li.mw-item').getAttribute('data-window-id');
    const api = (await (await fetch(`${base}/api/maintenance/${windowId}`, { headers: tokens.headers('viewer') })).json()) as { reason: string; device: { id: string } };
    expect(api).toMatchObject({ reason: 'bushing replacement', device: { id: 'WF-T3' } });

    await monthCell.locator('li.mw-item button[data-mw="cancel"]').click();
    await page.locator('#maintenance-list li.mw-item').first().waitFor({ state: 'detached', timeout: 5000 });
    expect((await fetch(`${base}/api/maintenance/${windowId}`, { headers: tokens.headers('viewer') })).status).toBe(404);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);

    // The action trail and the window are archived with the rest, under their topics' key roots.
    const res = await fetch(`${base}/api/events/${encodeURIComponent(event.eventId)}/actions`, { method: 'POST', headers: { ...tokens.headers('operator'), 'content-type': 'application/json' }, body: JSON.stringify({ action: 'note', text: 'archived, please' }) });
    expect(res.status).toBe(201);
    const action = (await res.json()) as EventAction;
    const lines = async (root: string) => {
      const out: Record<string, unknown>[] = [];
      for (const k of await sink.list(`${root}/`)) for (const l of gunzipSync((await sink.get(k))!).toString().trim().split('\n')) out.push(JSON.parse(l) as Record<string, unknown>);
      return out;
    };
    const prefix = settings.GRIDWATCH_KAFKA_TOPIC_PREFIX!;
    const actionsRoot = topicPrefix(`${prefix}grid.event-actions`);
    const windowsRoot = topicPrefix(`${prefix}grid.maintenance`);
    await until('the action in the archive', async () => (await lines(actionsRoot)).some((l) => l.actionId === action.actionId), 20_000);
    await until('the window and its cancel in the archive', async () => {
      const w = await lines(windowsRoot);
      return w.some((l) => l.windowId === windowId && l.reason === 'bushing replacement') && w.some((l) => l._tombstone === true && l._key === windowId);
    }, 20_000);

    // An API that holds neither the event nor its actions reads the trail from the archive.
    const { auth, tokens: t2 } = testAuth();
    const events = new EventStore(10);
    const registry = new TopologyRegistry({ logger: silentLogger(), topology: new Topology(METERS) });
    const readOnly = { connect: async () => undefined, disconnect: async () => undefined, send: async () => Promise.reject(new Error('this API only reads')) };
    const wf = new Workflow({ writer: readOnly, topics: { actions: 'unused.actions', maintenance: 'unused.maintenance' }, events, topology: registry.topology, clock: { now: () => Date.now() }, logger: silentLogger() });
    const server = await listen(createApiHandler(apiDeps({ auth, events, registry, workflow: wf, history: { sink, roots: { 'event-actions': actionsRoot } } })), 0, '127.0.0.1');
    try {
      const other = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events/${encodeURIComponent(event.eventId)}/actions`;
      const none = await fetch(other, { headers: t2.headers('viewer') });
      expect(none.status).toBe(404);
      expect(((await none.json()) as { reason: string }).reason).toMatch(/give from and to to search the archived audit trail/);
      const trail = (await (await fetch(`${other}?from=${NOW - 60 * MIN}&to=${Date.now() + MIN}`, { headers: t2.headers('viewer') })).json()) as { actions: EventAction[]; archive: { objects: number; gaps: unknown[] } };
      const live = (await (await fetch(`${base}/api/events/${encodeURIComponent(event.eventId)}/actions`, { headers: tokens.headers('viewer') })).json()) as { actions: EventAction[] };
      expect(trail.actions).toEqual(live.actions);
      expect(trail.actions.map((a) => a.text)).toContain('archived, please');
      expect(trail.archive.objects).toBeGreaterThan(0);
      expect(trail.archive.gaps).toEqual([]);
      const wide = await fetch(`${other}?from=0&to=${Date.now()}`, { headers: t2.headers('viewer') });
      expect(wide.status).toBe(400);
    } finally {
      auth.stop();
      await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
    }
  }, 120_000);
});
