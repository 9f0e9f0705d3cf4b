// Shared by the console tests in real Chromium (console-workflow, console-history): the browser,
// a console page logged in with a token, the page's errors, and a second client's event stream.
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../../../deploy/services/chromium.ts';
import type { GridEvent } from '../../../shared/index.ts';

export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

/** Opens the console at `base`, logs in with `token`, waits for the live stream (and `waitFor`, when given). */
export async function openConsole(browser: Browser, base: string, token: string, pageErrors: string[], waitFor?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });
  await page.goto(base);
  await page.locator('#login').waitFor({ timeout: 10_000 });
  await page.fill('#token-input', token);
  await page.click('#login-form button[type="submit"]');
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  if (waitFor) await page.locator(waitFor).waitFor({ timeout: 10_000 });
  return page;
}

/** A second client's event stream: resolves each waiter when a frame of the event satisfies it. */
export async function streamClient(base: string, headers: Record<string, string>, eventId: string): Promise<{ next: (pred: (e: GridEvent) => boolean) => Promise<void>; close: () => void }> {
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/stream`, { headers, signal: ctl.signal });
  const waiters: { pred: (e: GridEvent) => boolean; done: () => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const e = JSON.parse(data.slice(6)) as GridEvent;
          for (const w of [...waiters]) {
            if (e.eventId !== eventId || !w.pred(e)) continue;
            waiters.splice(waiters.indexOf(w), 1);
            w.done();
          }
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return { next: (pred) => new Promise<void>((done) => waiters.push({ pred, done })), close: () => ctl.abort() };
}
