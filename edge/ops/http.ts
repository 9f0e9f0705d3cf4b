import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, Metrics } from '../../shared/index.ts';

/** What /readyz reports. `ready` decides the status code; the rest is for the operator. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string | number | null>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  readiness: () => Readiness;
  /** Runs before each scrape: counters kept as plain numbers on the hot path are published here. */
  beforeScrape?: () => void;
  logger: Logger;
}

/** /metrics (Prometheus text), /healthz (the process answers), /readyz (can take readings). node:http only. */
export class OpsServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(o: OpsServerOptions): Promise<OpsServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
      if (path === '/readyz') {
        const r = o.readiness();
        return void res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
      }
      if (path === '/metrics') {
        o.beforeScrape?.();
        o.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': o.metrics.contentType }).end(text),
          (err: Error) => {
            o.logger.error({ err: err.message }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
    });
    server.keepAliveTimeout = 5000;
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve((server.address() as AddressInfo).port));
    });
    o.logger.info({ port, host: o.host }, 'ops http listening');
    return new OpsServer(server, port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
