// Webhook notifier: POSTs grid events at or above a severity to one URL. Delivery lives here (one
// place that queues and retries) so the pipeline only calls notify(). The queue is bounded: when it
// is full the oldest notification is dropped and counted, never silently.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { GridwatchError, type GridEvent, type Logger, type Metrics } from '../../shared/index.ts';
import type { Counter, Gauge } from 'prom-client';
import { SIGNATURE_HEADER, signWebhook } from './signature.ts';

export type Severity = GridEvent['severity'];
const RANK: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };
const SCOPE_RANK: Record<GridEvent['scope'], number> = { meter: 0, transformer: 1, feeder: 2, substation: 3, grid: 4 };

export interface WebhookNotifierOptions {
  url: string;
  minSeverity: Severity;
  logger: Logger;
  metrics?: Metrics;
  /** Notifications waiting (default 1000). */
  queueSize?: number;
  /** Attempts per notification, first included (default 6). */
  maxAttempts?: number;
  timeoutMs?: number;
  /** Backoff: baseDelayMs * 2^(attempt-1), capped, with +-20 % jitter (default 500 ms .. 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** HMAC-SHA256 key: every delivery carries X-Gridwatch-Signature (signature.ts). */
  secret?: string;
  /** PEM CA bundle file trusted for an https:// receiver instead of the system CAs. */
  caFile?: string;
  /** Replaces the built-in node:http(s) transport (then caFile does not apply). */
  fetchImpl?: typeof fetch;
}

export interface NotifierStats {
  queued: number;
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
  skipped: number;
  /** Events inside a maintenance window (planned: true): never notified. */
  planned: number;
}

interface Item {
  event: GridEvent;
  attempts: number;
}

/** Identities remembered to decide what is news; bounded, oldest forgotten first. */
const MAX_REMEMBERED = 20_000;

export class WebhookNotifier {
  private readonly opts: Required<Omit<WebhookNotifierOptions, 'metrics' | 'fetchImpl' | 'secret' | 'caFile'>> & { fetchImpl?: typeof fetch; secret?: string };
  private readonly agent: http.Agent;
  private readonly logger: Logger;
  private readonly queue: Item[] = [];
  private readonly lastNotified = new Map<string, { state: string; rank: number; scope: number; affected: number }>();
  private readonly counts: NotifierStats = { queued: 0, sent: 0, failed: 0, dropped: 0, retries: 0, skipped: 0, planned: 0 };
  private readonly m: { result: Counter<'result'>; depth: Gauge } | null;
  private worker: Promise<void> | null = null;
  private stopping = false;
  private abort = new AbortController();

  constructor(opts: WebhookNotifierOptions) {
    this.opts = {
      url: opts.url,
      minSeverity: opts.minSeverity,
      logger: opts.logger,
      queueSize: opts.queueSize ?? 1000,
      maxAttempts: opts.maxAttempts ?? 6,
      timeoutMs: opts.timeoutMs ?? 5000,
      baseDelayMs: opts.baseDelayMs ?? 500,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
      ...(opts.secret ? { secret: opts.secret } : {}),
    };
    this.logger = opts.logger.child({ component: 'webhook', url: redact(opts.url) });
    const tls = opts.url.startsWith('https:');
    if (opts.caFile && !tls) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_WEBHOOK_CA_FILE is set but GRIDWATCH_WEBHOOK_URL is not https://');
    let ca: string | undefined;
    try {
      ca = opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined;
    } catch (err) {
      throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_WEBHOOK_CA_FILE: cannot read ${opts.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    // Certificates are always verified (against the CA file or the system CAs); there is no
    // switch to turn that off, so a wrong CA is a failed, retried, logged delivery.
    this.agent = tls ? new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) }) : new http.Agent({ keepAlive: true });
    if (!tls) this.logger.warn('webhook URL is plain http: grid events cross the network unencrypted');
    if (!opts.secret) this.logger.warn('GRIDWATCH_WEBHOOK_SECRET is not set: webhook deliveries are unsigned and a receiver cannot tell them from forgeries');
    const queue = this.queue;
    this.m = opts.metrics
      ? {
          result: opts.metrics.counter('central_webhook_notifications_total', 'Webhook notifications by result (sent, failed, dropped, retry)', ['result']),
          depth: opts.metrics.gauge('central_webhook_queue_depth', 'Webhook notifications waiting', [], function () {
            this.set(queue.length);
          }),
        }
      : null;
  }

  /**
   * Queues an event when it is news at or above the minimum severity: first seen, a state change
   * (open -> closed), or an escalation (a higher severity, a wider scope). Growth of an open event
   * is re-notified only when its affected meters at least doubled since the last notification,
   * and never once an operator acknowledged it (an escalation still is). A planned event (inside a
   * maintenance window) is not notified at all.
   */
  notify(event: GridEvent): boolean {
    if (event.planned === true) {
      this.counts.planned++;
      return false;
    }
    const rank = RANK[event.severity];
    const scope = SCOPE_RANK[event.scope];
    const prev = this.lastNotified.get(event.eventId);
    if (rank < RANK[this.opts.minSeverity] && !(prev && event.state !== prev.state)) return false;
    if (prev && prev.state === event.state) {
      const escalation = rank > prev.rank || scope > prev.scope;
      const growth = event.acknowledged === undefined && event.state === 'open' && event.affectedCount >= 2 * Math.max(1, prev.affected);
      if (!escalation && !growth) {
        this.counts.skipped++;
        return false;
      }
    }
    this.lastNotified.delete(event.eventId);
    this.lastNotified.set(event.eventId, { state: event.state, rank: Math.max(rank, prev?.rank ?? 0), scope: Math.max(scope, prev?.scope ?? 0), affected: event.affectedCount });
    if (this.lastNotified.size > MAX_REMEMBERED) this.lastNotified.delete(this.lastNotified.keys().next().value as string);
    if (this.queue.length >= this.opts.queueSize) this.dropOldest();
    this.queue.push({ event, attempts: 0 });
    this.counts.queued++;
    this.start();
    return true;
  }

  /** `depth`: notifications waiting (the one being sent is not among them). */
  stats(): NotifierStats & { depth: number } {
    return { ...this.counts, depth: this.queue.length };
  }

  private dropOldest(): void {
    const dropped = this.queue.shift();
    if (!dropped) return;
    this.counts.dropped++;
    this.m?.result.inc({ result: 'dropped' });
    this.logger.warn({ eventId: dropped.event.eventId, dropped: this.counts.dropped, queueSize: this.opts.queueSize }, 'webhook queue full: oldest notification dropped');
  }

  private start(): void {
    if (this.worker || this.stopping) return;
    this.worker = this.run().finally(() => {
      this.worker = null;
      // A notify() between run() returning on an empty queue and this callback found the worker
      // still set and did not start one: start it now, or that notification would wait for the next.
      if (this.queue.length > 0) this.start();
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      // The notification being sent is out of the queue, so that notify() dropping the oldest
      // while a request is in flight drops a waiting one, never the one on the wire (which would
      // count it both dropped and sent, or bring it back past the bound on a retry).
      const item = this.queue.shift();
      if (!item) return;
      item.attempts++;
      const outcome = await this.send(item.event);
      if (this.stopping && outcome === 'retry') {
        this.queue.unshift(item); // undelivered, reported by stop()
        return;
      }
      if (outcome === 'ok') {
        this.counts.sent++;
        this.m?.result.inc({ result: 'sent' });
        continue;
      }
      if (outcome === 'retry' && item.attempts < this.opts.maxAttempts) {
        this.counts.retries++;
        this.m?.result.inc({ result: 'retry' });
        this.queue.unshift(item); // order is kept: a receiver sees an event's open before its close
        // Newer notifications filled the queue meanwhile: the oldest, this one, goes first.
        if (this.queue.length > this.opts.queueSize) this.dropOldest();
        await this.sleep(this.backoff(item.attempts));
        continue;
      }
      this.counts.failed++;
      this.m?.result.inc({ result: 'failed' });
      this.logger.error({ eventId: item.event.eventId, attempts: item.attempts }, 'webhook notification failed; giving up');
    }
  }

  private backoff(attempt: number): number {
    const d = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(d * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done); // stop() cuts a backoff short
    });
  }

  /** 2xx ok; 408, 429, 5xx and network errors retry; any other status will not get better. */
  private async send(event: GridEvent): Promise<'ok' | 'retry' | 'fail'> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gridwatch-event-id': event.eventId, 'x-gridwatch-event-version': String(event.version) };
    // Signed at each attempt, so that a retry after minutes is not refused as a replay.
    if (this.opts.secret) headers[SIGNATURE_HEADER] = signWebhook(this.opts.secret, body);
    try {
      const signal = AbortSignal.any([timeout, this.abort.signal]);
      const status = this.opts.fetchImpl ? await viaFetch(this.opts.fetchImpl, this.opts.url, headers, body, signal) : await post(this.opts.url, headers, body, this.agent, signal);
      if (status >= 200 && status < 300) return 'ok';
      const retry = status === 408 || status === 429 || status >= 500;
      this.logger.warn({ eventId: event.eventId, status, retry }, 'webhook refused notification');
      return retry ? 'retry' : 'fail';
    } catch (err) {
      this.logger.warn({ eventId: event.eventId, err: (err as Error).message }, 'webhook request failed');
      return 'retry';
    }
  }

  /** Tries to deliver what is queued for up to `drainMs`, then stops; what is left is logged. */
  async stop(drainMs = 2000): Promise<void> {
    if (this.worker) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.worker, new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
    }
    this.stopping = true;
    this.abort.abort();
    await this.worker;
    this.agent.destroy();
    if (this.queue.length > 0) this.logger.warn({ undelivered: this.queue.length }, 'webhook notifier stopped with notifications undelivered');
  }
}

async function viaFetch(f: typeof fetch, url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<number> {
  const res = await f(url, { method: 'POST', headers, body, signal });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** One POST over node:http(s) (fetch cannot take a CA without undici's Agent); redirects are not followed. */
function post(url: string, headers: Record<string, string>, body: string, agent: http.Agent, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? https.request : http.request;
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent, signal }, (res) => {
      // The status is the answer; the body is drained (so the socket can be reused) but not awaited.
      res.on('error', () => undefined);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return 'invalid-url';
  }
}
