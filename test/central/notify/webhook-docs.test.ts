// The two signature verification examples in docs/security.md, run as a receiver would run them,
// against signatures central's notifier makes: a valid one, an edited body, a stale timestamp.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../../central/notify/index.ts';

const DOC = readFileSync(resolve(import.meta.dirname, '../../../docs/security.md'), 'utf8');
function snippet(marker: string): string {
  const m = new RegExp(`<!-- ${marker} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\`\\s*<!-- /${marker} -->`).exec(DOC);
  if (!m) throw new Error(`docs/security.md has no ${marker} block`);
  return m[1]!;
}

const secret = 'whsec-docs-example-8f3a1c';
const body = '{"eventId":"ev-1","version":2,"state":"open"}';
const now = () => Math.floor(Date.now() / 1000);

describe('docs/security.md webhook verification examples', () => {
  it('the Node example accepts a real signature and refuses an edited body, another key and a stale one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-docs-node-'));
    writeFileSync(join(dir, 'verify.mjs'), snippet('webhook-verify-node'));
    const { verifyGridwatchSignature } = (await import(pathToFileURL(join(dir, 'verify.mjs')).href)) as { verifyGridwatchSignature: (s: string, h: string, b: string | Buffer) => boolean };
    const header = signWebhook(secret, body);
    expect(verifyGridwatchSignature(secret, header, body)).toBe(true);
    expect(verifyGridwatchSignature(secret, header, Buffer.from(body))).toBe(true);
    expect(verifyGridwatchSignature(secret, header, body.replace('open', 'closed'))).toBe(false);
    expect(verifyGridwatchSignature('another-secret-000000', header, body)).toBe(false);
    expect(verifyGridwatchSignature(secret, signWebhook(secret, body, now() - 301), body)).toBe(false);
  });

  it('the shell + openssl example says valid, mismatch and stale where it should', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-docs-sh-'));
    writeFileSync(join(dir, 'verify.sh'), snippet('webhook-verify-sh'));
    writeFileSync(join(dir, 'webhook-secret'), `${secret}\n`);
    const verdict = (sig: string, b: string): string => {
      writeFileSync(join(dir, 'body.json'), b);
      try {
        return execFileSync('sh', ['verify.sh'], { cwd: dir, env: { ...process.env, SIG: sig }, encoding: 'utf8' }).trim();
      } catch (err) {
        return String((err as { stdout: string }).stdout).trim();
      }
    };
    expect(verdict(signWebhook(secret, body), body)).toBe('valid');
    expect(verdict(signWebhook(secret, body), `${body} `)).toBe('mismatch');
    expect(verdict(signWebhook('another-secret-000000', body), body)).toBe('mismatch');
    expect(verdict(signWebhook(secret, body, now() - 400), body)).toBe('stale');
  });
});
