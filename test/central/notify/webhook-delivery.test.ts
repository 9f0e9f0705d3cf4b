// The webhook notifier against a real HTTP receiver (node:http on 127.0.0.1, ephemeral port):
// what is POSTed, retries after 5xx and timeouts, and the bounded queue with its drop metric.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier } from '../../../central/notify/index.ts';
import { Metrics, silentLogger, type GridEvent } from '../../../shared/index.ts';
import { gridEvent } from '../api/fixtures.ts';

interface Hit {
  at: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * What the receiver does with its n-th request (0-based): answer with a status, or hold the
 * response until `release(n, status)` (or until the test ends: a request the client gave up on).
 */
type Behaviour = (n: number) => number | 'hold';

interface Receiver {
  url: string;
  hits: Hit[];
  /** Bodies of the requests answered 2xx, parsed: what the receiver accepted. */
  accepted: GridEvent[];
  release: (n: number, status: number) => void;
}

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];

async function receiver(behaviour: Behaviour = () => 200): Promise<Receiver> {
  const hits: Hit[] = [];
  const accepted: GridEvent[] = [];
  const held = new Map<number, { res: ServerResponse; body: string }>();
  const answer = (res: ServerResponse, body: string, status: number): void => {
    if (res.destroyed) return; // the client timed out and closed the connection
    if (status >= 200 && status < 300) accepted.push(JSON.parse(body) as GridEvent);
    res.writeHead(status).end();
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = hits.length;
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ at: performance.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const what = behaviour(n);
      if (what === 'hold') held.set(n, { res, body });
      else answer(res, body, what);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    accepted,
    release: (n, status) => {
      const h = held.get(n);
      if (!h) throw new Error(`request ${n} is not held`);
      held.delete(n);
      answer(h.res, h.body, status);
    },
  };
}

function notifier(url: string, over: Partial<ConstructorParameters<typeof WebhookNotifier>[0]> = {}): { n: WebhookNotifier; metrics: Metrics } {
  const metrics = new Metrics('central-test', { defaultMetrics: false });
  const n = new WebhookNotifier({ url, minSeverity: 'info', baseDelayMs: 20, maxDelayMs: 200, logger: silentLogger(), metrics, ...over });
  notifiers.push(n);
  return { n, metrics };
}

async function results(metrics: Metrics): Promise<Record<string, number>> {
  const m = await metrics.registry.getSingleMetric('gridwatch_central_webhook_notifications_total')?.get();
  const out: Record<string, number> = {};
  for (const v of m?.values ?? []) out[String(v.labels.result)] = v.value;
  return out;
}

async function depthGauge(metrics: Metrics): Promise<number> {
  const m = await metrics.registry.getSingleMetric('gridwatch_central_webhook_queue_depth')?.get();
  return m?.values[0]?.value ?? NaN;
}

async function waitFor(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every notification queued ends exactly one way. */
function accounted(n: WebhookNotifier): void {
  const s = n.stats();
  expect(s.sent + s.failed + s.dropped + s.depth).toBe(s.queued);
}

describe('WebhookNotifier delivery to a real HTTP receiver', () => {
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.stop(0);
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('POSTs each event at or above the minimum severity as its JSON; nothing below it', async () => {
    const r = await receiver();
    const { n, metrics } = notifier(r.url, { minSeverity: 'major' });
    const events = (['info', 'minor', 'major', 'critical'] as const).map((severity, i) => gridEvent({ eventId: `ev-${severity}`, severity, version: i + 1 }));
    expect(events.map((e) => n.notify(e))).toEqual([false, false, true, true]);
    await waitFor(() => n.stats().sent === 2, 'two notifications sent');
    await settle();

    expect(r.hits).toHaveLength(2);
    expect(r.accepted).toEqual([events[2], events[3]]);
    for (const [i, h] of r.hits.entries()) {
      const e = events[i + 2] as GridEvent;
      expect(h.method).toBe('POST');
      expect(h.path).toBe('/hook');
      expect(h.headers['content-type']).toBe('application/json');
      expect(h.headers['x-gridwatch-event-id']).toBe(e.eventId);
      expect(h.headers['x-gridwatch-event-version']).toBe(String(e.version));
      expect(JSON.parse(h.body)).toEqual(e);
    }
    expect(await results(metrics)).toEqual({ sent: 2 });
    accounted(n);
  });

  it('a receiver that fails twice with 500 then accepts gets the notification once, after two backoffs', async () => {
    const r = await receiver((i) => (i < 2 ? 500 : 200));
    const { n, metrics } = notifier(r.url, { baseDelayMs: 40, maxAttempts: 5 });
    const e = gridEvent({ eventId: 'ev-retry', severity: 'critical' });
    n.notify(e);
    await waitFor(() => n.stats().sent === 1, 'the notification sent');
    await settle(300); // nothing more arrives once it was accepted

    expect(r.hits).toHaveLength(3);
    expect(r.hits.map((h) => JSON.parse(h.body) as GridEvent)).toEqual([e, e, e]);
    expect(r.accepted).toEqual([e]);
    // Backoff 40 ms then 80 ms, each +-20 % jitter (timer slack only lengthens them).
    const gaps = [1, 2].map((i) => (r.hits[i] as Hit).at - (r.hits[i - 1] as Hit).at);
    expect(gaps[0]).toBeGreaterThanOrEqual(40 * 0.8 - 2);
    expect(gaps[1]).toBeGreaterThanOrEqual(80 * 0.8 - 2);
    expect(n.stats()).toMatchObject({ queued: 1, sent: 1, retries: 2, failed: 0, dropped: 0, depth: 0 });
    expect(await results(metrics)).toEqual({ retry: 2, sent: 1 });
    accounted(n);
  });

  it('a request that times out is retried', async () => {
    const r = await receiver((i) => (i === 0 ? 'hold' : 200));
    const { n, metrics } = notifier(r.url, { timeoutMs: 150, baseDelayMs: 10 });
    const e = gridEvent({ eventId: 'ev-timeout' });
    const t0 = performance.now();
    n.notify(e);
    await waitFor(() => n.stats().sent === 1, 'the notification sent after the timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    // The held request cannot be answered any more: its client gave up.
    r.release(0, 200);
    await settle();

    expect(r.hits).toHaveLength(2);
    expect(r.accepted).toEqual([e]);
    expect(n.stats()).toMatchObject({ sent: 1, retries: 1, failed: 0 });
    expect(await results(metrics)).toEqual({ retry: 1, sent: 1 });
  });

  it('gives up after maxAttempts timeouts and counts the failure', async () => {
    const r = await receiver(() => 'hold');
    const { n, metrics } = notifier(r.url, { timeoutMs: 100, baseDelayMs: 5, maxAttempts: 3 });
    n.notify(gridEvent({ eventId: 'ev-never' }));
    await waitFor(() => n.stats().failed === 1, 'the notification given up');
    expect(r.hits).toHaveLength(3);
    expect(await results(metrics)).toEqual({ retry: 2, failed: 1 });
    accounted(n);
  });

  it('bounds the queue: when full the oldest waiting notification is dropped and counted in the metric', async () => {
    const r = await receiver((i) => (i === 0 ? 'hold' : 200));
    const { n, metrics } = notifier(r.url, { queueSize: 3 });
    const ev = (i: number) => gridEvent({ eventId: `ev-${i}` });
    n.notify(ev(1));
    await waitFor(() => r.hits.length === 1, 'the first request on the wire');
    for (let i = 2; i <= 6; i++) n.notify(ev(i)); // ev-2 and ev-3 are pushed out by ev-5 and ev-6

    expect(n.stats()).toMatchObject({ queued: 6, dropped: 2, depth: 3, sent: 0 });
    expect(await depthGauge(metrics)).toBe(3);
    expect(await results(metrics)).toEqual({ dropped: 2 });

    r.release(0, 200);
    await waitFor(() => n.stats().depth === 0 && n.stats().sent === 4, 'the queue drained');
    await settle();
    expect(r.accepted.map((e) => e.eventId)).toEqual(['ev-1', 'ev-4', 'ev-5', 'ev-6']);
    expect(await results(metrics)).toEqual({ dropped: 2, sent: 4 });
    accounted(n);
  });

  it('a notification to be retried when newer ones filled the queue is the oldest: it is dropped, the bound holds', async () => {
    const r = await receiver((i) => (i === 0 ? 'hold' : 200));
    const { n, metrics } = notifier(r.url, { queueSize: 3, baseDelayMs: 10 });
    const ev = (i: number) => gridEvent({ eventId: `ev-${i}` });
    n.notify(ev(1));
    await waitFor(() => r.hits.length === 1, 'the first request on the wire');
    for (let i = 2; i <= 5; i++) n.notify(ev(i)); // ev-2 dropped: [ev-3, ev-4, ev-5] wait
    r.release(0, 500); // ev-1 must be retried, but it is now the oldest of four

    let maxDepth = 0;
    await waitFor(() => {
      maxDepth = Math.max(maxDepth, n.stats().depth);
      return n.stats().depth === 0 && n.stats().sent === 3;
    }, 'the queue drained');
    await settle();
    expect(maxDepth).toBeLessThanOrEqual(3);
    expect(r.accepted.map((e) => e.eventId)).toEqual(['ev-3', 'ev-4', 'ev-5']);
    expect(n.stats()).toMatchObject({ queued: 5, sent: 3, dropped: 2, retries: 1, failed: 0 });
    expect(await results(metrics)).toEqual({ dropped: 2, retry: 1, sent: 3 });
    accounted(n);
  });
});
