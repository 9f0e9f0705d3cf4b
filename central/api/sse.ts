// Server-Sent Events of grid events. Bounded: at most `maxClients` streams; a client that does not
// read (its socket buffer over `maxBufferedBytes`) is disconnected rather than buffered without end.
// A comment line every `heartbeatMs` keeps proxies from closing an idle stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GridEvent } from '../../shared/index.ts';

export interface SseHubOptions {
  maxClients: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;
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
  add(req: IncomingMessage, res: ServerResponse, snapshot: GridEvent[] = []): boolean {
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
    this.clients.add(res);
    const remove = (): void => {
      this.clients.delete(res);
    };
    req.on('close', remove);
    res.on('close', remove);
    res.on('error', remove);
    return true;
  }

  broadcast(e: GridEvent): void {
    this.write(this.frame(e));
  }

  private frame(e: GridEvent): string {
    return `id: ${this.nextId++}\nevent: grid-event\ndata: ${JSON.stringify(e)}\n\n`;
  }

  private write(chunk: string): void {
    const max = this.opts.maxBufferedBytes ?? 1_048_576;
    for (const res of this.clients) {
      if (res.writableLength > max) {
        this.dropped++;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
