// Webhook signatures: HMAC-SHA256 over "<unix seconds>.<raw body>", sent as
// `X-Gridwatch-Signature: t=<unix seconds>,v1=<hex>` (the scheme Stripe and others use, so that
// receivers have known code for it). The timestamp inside the MAC lets a receiver refuse a
// captured delivery replayed later: verifyWebhookSignature rejects one older than five minutes.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-gridwatch-signature';
/** How old (or how far ahead, for clock skew) a signed delivery may be and still be accepted. */
export const DEFAULT_TOLERANCE_S = 300;

export function signWebhook(secret: string, body: string | Buffer, unixSeconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/** For receivers (and the tests): checks the header against the raw body, in constant time. */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  opts: { toleranceS?: number; nowS?: number } = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing' };
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, reason: 'malformed' };
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, reason: 'stale' };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex')) ? { ok: true, timestamp: t } : { ok: false, reason: 'mismatch' };
}
