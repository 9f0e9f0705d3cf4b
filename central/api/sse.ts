// Server-Sent Events of grid events. Bounded: at most `maxClients` streams; a client that does not
// read (its socket buffer over `maxBufferedBytes`) is disconnected rather than buffered without end.
// A comment line every `heartbeatMs` keeps proxies from closing an idle stream.
//
// A stream lives as long as the credential it was opened with: it is ended when that token's
// expiry passes (`endsAt`) or when the owner finds the principal no longer holds (a revoked API
// key, endWhere). The client is told why in a last `session-end` event, so a console asks for a
// new token instead of reconnecting blindly.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GridEvent } from '../../shared/index.ts';
import type { Principal } from './auth/roles.ts';

export interface SseHubOptions {
  maxClients: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

/** Why the server ended a stream (the `reason` of the last `session-end` event). */
export type SessionEndReason = 'revoked' | 'expired';

/** Who holds a stream and until when (ms since the epoch; none: until revoked or cut). */
export interface StreamSession {
  principal: Principal;
  endsAt?: number;
}

interface Client {
  session: StreamSession | null;
  timer: NodeJS.Timeout | null;
}

/** setTimeout's longest delay (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

export class SseHub {
  private readonly clients = new Map<ServerResponse, Client>();
  private readonly timer: NodeJS.Timeout;
  private readonly endListeners = new Set<(reason: SessionEndReason) => void>();
  private nextId = 1;
  dropped = 0;
  refused = 0;

  constructor(private readonly opts: SseHubOptions) {
    this.timer = setInterval(() => this.write(': heartbeat\n\n'), opts.heartbeatMs ?? 15_000);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the response as an event stream; false (after a 503) when full. */
  add(req: IncomingMessage, res: ServerResponse, snapshot: GridEvent[] = [], session?: StreamSession): boolean {
    if (this.clients.size >= this.opts.maxClients) {
      this.refused++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      res.end(JSON.stringify({ error: `too many event streams (max ${this.opts.maxClients})` }));
      return false;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    // The open events first, so that a live view starts complete.
    for (const e of snapshot) res.write(this.frame(e));
    const client: Client = { session: session ?? null, timer: null };
    this.clients.set(res, client);
    if (session?.endsAt !== undefined) this.armExpiry(res, client, session.endsAt);
    const remove = (): void => this.forget(res);
    req.on('close', remove);
    res.on('close', remove);
    res.on('error', remove);
    return true;
  }

  /** Runs `listener` each time the hub ends a stream for its credential; returns the unsubscribe. */
  onSessionEnd(listener: (reason: SessionEndReason) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Ends every stream whose holder `stale` says no longer holds (e.g. its key was revoked); how many. */
  endWhere(stale: (p: Principal) => boolean, reason: SessionEndReason): number {
    let n = 0;
    for (const [res, c] of [...this.clients]) {
      if (c.session && stale(c.session.principal)) {
        this.end(res, reason);
        n++;
      }
    }
    return n;
  }

  broadcast(e: GridEvent): void {
    this.write(this.frame(e));
  }

  private armExpiry(res: ServerResponse, client: Client, endsAt: number): void {
    const left = endsAt - Date.now();
    if (left <= 0) return this.end(res, 'expired');
    client.timer = setTimeout(() => (Date.now() >= endsAt ? this.end(res, 'expired') : this.armExpiry(res, client, endsAt)), Math.min(left, MAX_TIMER_MS));
    client.timer.unref();
  }

  /** The last event says why, then the stream ends (the client's reconnect then meets a 401). */
  private end(res: ServerResponse, reason: SessionEndReason): void {
    if (!this.clients.has(res)) return;
    this.forget(res);
    res.end(`event: session-end\ndata: ${JSON.stringify({ reason })}\n\n`);
    for (const listener of this.endListeners) listener(reason);
  }

  private forget(res: ServerResponse): void {
    const c = this.clients.get(res);
    if (c?.timer) clearTimeout(c.timer);
    this.clients.delete(res);
  }

  private frame(e: GridEvent): string {
    return `id: ${this.nextId++}\nevent: grid-event\ndata: ${JSON.stringify(e)}\n\n`;
  }

  private write(chunk: string): void {
    const max = this.opts.maxBufferedBytes ?? 1_048_576;
    for (const res of [...this.clients.keys()]) {
      if (res.writableLength > max) {
        this.dropped++;
        this.forget(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of [...this.clients.keys()]) {
      this.forget(res);
      res.end();
    }
  }
}
