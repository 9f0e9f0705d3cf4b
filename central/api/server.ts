// The HTTP API (node:http, JSON). Routes only read the stores; nothing here talks to Kafka.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Clock, Logger, Metrics } from '../../shared/index.ts';
import type { TopologyRegistry } from '../registry/index.ts';
import { parseAnomalyQuery, parseEventQuery, parsePathId, parseTopologyQuery } from './query.ts';
import type { SseHub } from './sse.ts';
import type { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore } from './store.ts';

export interface Health {
  live: boolean;
  ready: boolean;
  details: Record<string, unknown>;
}

export interface ApiDeps {
  events: EventStore;
  anomalies: AnomalyStore;
  readings: ReadingStore;
  edges: EdgeStatusStore;
  registry: TopologyRegistry;
  sse: SseHub;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  health: () => Health;
  /** Served at `/` when the directory exists (the live console). */
  consoleDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const bad = (res: ServerResponse, reason: string): void => json(res, 400, { error: 'bad request', reason });
const notFound = (res: ServerResponse, what: string): void => json(res, 404, { error: 'not found', reason: what });

export function createApiHandler(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const consoleRoot = d.consoleDir && existsSync(d.consoleDir) ? resolve(d.consoleDir) : null;

  const routes = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const p = url.pathname;
    const q = url.searchParams;
    if (p === '/healthz') {
      const h = d.health();
      return json(res, h.live ? 200 : 503, { status: h.live ? 'ok' : 'failing', ...h.details });
    }
    if (p === '/readyz') {
      const h = d.health();
      return json(res, h.ready ? 200 : 503, { status: h.ready ? 'ready' : 'not ready', ...h.details });
    }
    if (p === '/metrics') {
      const text = await d.metrics.text();
      res.writeHead(200, { 'content-type': d.metrics.contentType });
      res.end(text);
      return;
    }
    if (p === '/api/events') {
      const f = parseEventQuery(q);
      if (!f.ok) return bad(res, f.reason);
      const events = d.events.query(f.value);
      return json(res, 200, { count: events.length, events, ...d.events.counts() });
    }
    if (p.startsWith('/api/events/')) {
      const id = parsePathId(p.slice('/api/events/'.length), 'event id', 200, /^[^\s/]+$/);
      if (!id.ok) return bad(res, id.reason);
      const e = d.events.get(id.value);
      return e ? json(res, 200, e) : notFound(res, `no event ${id.value} (closed events are kept only while recent)`);
    }
    if (p === '/api/anomalies') {
      const f = parseAnomalyQuery(q);
      if (!f.ok) return bad(res, f.reason);
      const anomalies = d.anomalies.query(f.value);
      return json(res, 200, { count: anomalies.length, anomalies });
    }
    if (p.startsWith('/api/meters/')) {
      const id = parsePathId(p.slice('/api/meters/'.length), 'meter id');
      if (!id.ok) return bad(res, id.reason);
      if ([...q.keys()].length > 0) return bad(res, 'this route takes no parameters');
      const topology = d.registry.topology.meter(id.value) ?? null;
      const recent = d.readings.recent(id.value);
      const openAnomalies = d.anomalies.openForMeter(id.value);
      if (!topology && !recent && openAnomalies.length === 0) return notFound(res, `meter ${id.value} is neither in the topology nor among recent readings`);
      const now = d.clock.now();
      const interval = topology?.readingIntervalMs ?? 15_000;
      const status = recent === null ? 'no recent readings' : now - recent.lastReceivedAt > 3 * interval ? 'quiet' : openAnomalies.length > 0 ? 'abnormal' : 'normal';
      return json(res, 200, {
        meterId: id.value,
        status,
        topology,
        openAnomalies,
        lastReceivedAt: recent?.lastReceivedAt ?? null,
        received: recent?.received ?? 0,
        readings: recent?.readings ?? [],
        note: 'readings are those consumed by this instance (partitions of grid.readings it owns)',
      });
    }
    if (p === '/api/topology') {
      const f = parseTopologyQuery(q);
      if (!f.ok) return bad(res, f.reason);
      if (f.value.substation !== undefined) {
        const s = d.registry.substation(f.value.substation);
        return s ? json(res, 200, s) : notFound(res, `substation ${f.value.substation} has no meters in the topology`);
      }
      const ids = d.registry.topology.substations().sort();
      if (f.value.tree) {
        // The whole tree in one answer (the console's), each substation in the shape of
        // ?substation=; one pass over the meters in all, each meter being under one substation.
        const substations = ids.map((id) => d.registry.substation(id)).filter((s) => s !== null);
        return json(res, 200, { ...d.registry.summary(), substations });
      }
      return json(res, 200, { ...d.registry.summary(), substations: ids });
    }
    if (p === '/api/edges') {
      if ([...q.keys()].length > 0) return bad(res, 'this route takes no parameters');
      const edges = d.edges.list(d.clock.now());
      return json(res, 200, { count: edges.length, edges });
    }
    if (p === '/api/stream') {
      d.sse.add(req, res, d.events.query({ state: 'open', limit: 1000 }));
      return;
    }
    if (p.startsWith('/api/')) return notFound(res, `no route ${p}`);
    if (consoleRoot && serveStatic(consoleRoot, p, res)) return;
    return notFound(res, `no route ${p}`);
  };

  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return bad(res, 'unparseable URL');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method not allowed', reason: 'the API is read-only' });
    }
    routes(req, res, url).catch((err: unknown) => {
      d.logger.error({ err, path: url.pathname }, 'API request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error', reason: (err as Error).message });
      else res.destroy();
    });
  };
}

/** Static files under root; `..` cannot escape it. Returns false when there is no such file. */
function serveStatic(root: string, pathname: string, res: ServerResponse): boolean {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (rel.includes('\0')) return false;
  let file = normalize(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) return false;
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!statSync(file).isFile()) return false;
  } catch {
    return false;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
  return true;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number, host: string): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  return server;
}
