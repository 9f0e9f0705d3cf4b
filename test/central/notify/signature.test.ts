import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../../central/notify/index.ts';

const secret = 'whsec-0123456789abcdef';
const body = '{"eventId":"e1"}';

describe('webhook signatures', () => {
  it('is HMAC-SHA256 over "<t>.<body>" as t=<unix>,v1=<hex>', () => {
    const header = signWebhook(secret, body, 1_700_000_000);
    const hex = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${hex}`);
    expect(verifyWebhookSignature(secret, header, body, { nowS: 1_700_000_010 })).toEqual({ ok: true, timestamp: 1_700_000_000 });
  });

  it('refuses a changed body, another key, a replay older than five minutes and junk', () => {
    const t = 1_700_000_000;
    const header = signWebhook(secret, body, t);
    expect(verifyWebhookSignature(secret, header, body + ' ', { nowS: t })).toMatchObject({ reason: 'mismatch' });
    expect(verifyWebhookSignature('another-secret-123456', header, body, { nowS: t })).toMatchObject({ reason: 'mismatch' });
    expect(verifyWebhookSignature(secret, header, body, { nowS: t + 300 })).toMatchObject({ ok: true });
    expect(verifyWebhookSignature(secret, header, body, { nowS: t + 301 })).toMatchObject({ reason: 'stale' });
    expect(verifyWebhookSignature(secret, header, body, { nowS: t - 301 })).toMatchObject({ reason: 'stale' });
    expect(verifyWebhookSignature(secret, undefined, body)).toMatchObject({ reason: 'missing' });
    expect(verifyWebhookSignature(secret, 't=abc,v1=00', body)).toMatchObject({ reason: 'malformed' });
    // The timestamp is inside the MAC: moving it forward to pass the window breaks the signature.
    const moved = header.replace(`t=${t}`, `t=${t + 600}`);
    expect(verifyWebhookSignature(secret, moved, body, { nowS: t + 600 })).toMatchObject({ reason: 'mismatch' });
  });
});
