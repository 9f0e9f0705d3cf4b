import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier } from '../../../central/notify/index.ts';
import { silentLogger } from '../../../shared/index.ts';
import { gridEvent } from '../api/fixtures.ts';

interface Received {
  eventId: string;
  version: number;
  state: string;
  header: string | undefined;
}

/** A local webhook receiver that answers with the statuses given, then 200. */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[]; hits: () => number; server: Server }> {
  const got: Received[] = [];
  let hits = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits++;
      const status = statuses.shift() ?? 200;
      if (status === 200) {
        const e = JSON.parse(body) as Received;
        got.push({ eventId: e.eventId, version: e.version, state: e.state, header: req.headers['x-gridwatch-event-id'] as string | undefined });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`, got, hits: () => hits, server };
}

const waitFor = async (pred: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('WebhookNotifier', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('posts events at or above the severity, news only (open, escalation, close)', async () => {
    const r = await receiver();
    servers.push(r.server);
    const n = new WebhookNotifier({ url: r.url, minSeverity: 'major', logger: silentLogger() });
    expect(n.notify(gridEvent({ eventId: 'minor-1', severity: 'minor' }))).toBe(false);
    n.notify(gridEvent({ eventId: 'e1', version: 1 }));
    n.notify(gridEvent({ eventId: 'e1', version: 2, affectedCount: 5 })); // growth only: not news
    n.notify(gridEvent({ eventId: 'e1', version: 3, severity: 'critical' }));
    n.notify(gridEvent({ eventId: 'e1', version: 4, state: 'closed', endTs: 1 }));
    // The receiver records a delivery before it answers: wait for the notifier to have the answer too.
    await waitFor(() => r.got.length === 3 && n.stats().sent === 3);
    expect(r.got.map((g) => `${g.eventId}:${g.version}:${g.state}`)).toEqual(['e1:1:open', 'e1:3:open', 'e1:4:closed']);
    expect(r.got[0]?.header).toBe('e1');
    expect(n.stats()).toMatchObject({ sent: 3, skipped: 1, failed: 0, dropped: 0 });
    await n.stop();
  });

  it('retries with backoff on 5xx and network errors, in order, and gives up on 4xx', async () => {
    const r = await receiver([503, 500, 200, 400]);
    servers.push(r.server);
    const n = new WebhookNotifier({ url: r.url, minSeverity: 'info', baseDelayMs: 20, maxAttempts: 5, logger: silentLogger() });
    n.notify(gridEvent({ eventId: 'a' })); // 503, 500, then 200
    n.notify(gridEvent({ eventId: 'b' })); // 400: refused for good
    n.notify(gridEvent({ eventId: 'c' })); // 200
    await waitFor(() => n.stats().sent + n.stats().failed === 3);
    expect(r.got.map((g) => g.eventId)).toEqual(['a', 'c']);
    expect(n.stats()).toMatchObject({ sent: 2, failed: 1, retries: 2 });
    await n.stop();

    const dead = new WebhookNotifier({ url: 'http://127.0.0.1:1/none', minSeverity: 'info', baseDelayMs: 5, maxAttempts: 3, logger: silentLogger() });
    dead.notify(gridEvent({ eventId: 'x' }));
    await waitFor(() => dead.stats().failed === 1);
    expect(dead.stats().retries).toBe(2);
    await dead.stop();
  });

});
