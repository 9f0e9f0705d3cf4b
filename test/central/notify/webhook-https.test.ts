// Webhook deliveries to a real HTTPS receiver with a private CA, verified the way a receiver
// would: the signature over the raw body, and replays older than five minutes refused.
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, WebhookNotifier, verifyWebhookSignature } from '../../../central/notify/index.ts';
import { GridwatchError, silentLogger } from '../../../shared/index.ts';
import { throwawayTls, type ThrowawayTls } from '../../harness/throwaway-tls.ts';
import { gridEvent } from '../api/fixtures.ts';

const SECRET = 'whsec-test-5f0c2a9e8d7b6a41';

interface Delivery {
  body: string;
  signature: string | undefined;
  verdict: string;
}

const waitFor = async (pred: () => boolean, ms = 8000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('webhook over HTTPS, signed', () => {
  let tls: ThrowawayTls;
  let other: ThrowawayTls;
  let server: Server;
  let url = '';
  const got: Delivery[] = [];
  const notifiers: WebhookNotifier[] = [];

  beforeAll(async () => {
    tls = throwawayTls('gw-webhook');
    other = throwawayTls('gw-webhook-other');
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers[SIGNATURE_HEADER] as string | undefined;
        const check = verifyWebhookSignature(SECRET, signature, body);
        got.push({ body, signature, verdict: check.ok ? 'ok' : check.reason });
        res.writeHead(check.ok ? 204 : 401).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    url = `https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  });
  afterAll(async () => {
    for (const n of notifiers) await n.stop(100);
    await new Promise((r) => server.close(r));
  });

  const notifier = (over: Partial<ConstructorParameters<typeof WebhookNotifier>[0]>): WebhookNotifier => {
    const n = new WebhookNotifier({ url, minSeverity: 'info', baseDelayMs: 20, maxDelayMs: 50, maxAttempts: 2, logger: silentLogger(), ...over });
    notifiers.push(n);
    return n;
  };

  it('delivers over TLS trusting the CA file, with a signature the receiver verifies', async () => {
    const n = notifier({ secret: SECRET, caFile: tls.caFile });
    n.notify(gridEvent({ eventId: 'tls-1' }));
    await waitFor(() => n.stats().sent === 1);
    const d = got.find((g) => g.body.includes('tls-1'));
    expect(d?.verdict).toBe('ok');
    expect(d?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // What the receiver does with a capture replayed six minutes later, and with an edited body.
    const t = Number(/t=(\d+)/.exec(d!.signature!)![1]);
    expect(verifyWebhookSignature(SECRET, d!.signature, d!.body, { nowS: t + 360 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhookSignature(SECRET, d!.signature, d!.body.replace('tls-1', 'tls-2'))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('an unsigned or wrongly keyed delivery is refused by the receiver and not counted sent', async () => {
    const n = notifier({ secret: 'not-the-receivers-secret-000', caFile: tls.caFile });
    n.notify(gridEvent({ eventId: 'tls-wrong-key' }));
    await waitFor(() => n.stats().failed === 1);
    expect(n.stats().sent).toBe(0);
    expect(got.find((g) => g.body.includes('tls-wrong-key'))?.verdict).toBe('mismatch');
  });

  it('refuses a receiver whose certificate the CA file did not sign, and one the system CAs do not know', async () => {
    const before = got.length;
    for (const caFile of [other.caFile, undefined]) {
      const n = notifier({ secret: SECRET, ...(caFile ? { caFile } : {}) });
      n.notify(gridEvent({ eventId: `untrusted-${caFile ? 'other' : 'system'}` }));
      await waitFor(() => n.stats().failed === 1);
      expect(n.stats()).toMatchObject({ sent: 0, retries: 1 });
    }
    expect(got.length).toBe(before); // no request reached the handler: TLS stopped them
  });

  it('a CA file with an http URL, or a missing CA file, is a configuration error', () => {
    expect(() => notifier({ url: 'http://127.0.0.1:1/h', caFile: tls.caFile })).toThrow(GridwatchError);
    expect(() => notifier({ caFile: '/nonexistent/ca.pem' })).toThrow(/GRIDWATCH_WEBHOOK_CA_FILE: cannot read \/nonexistent\/ca.pem: ENOENT/);
  });
});
