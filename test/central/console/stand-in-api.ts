// A stand-in for central's HTTP API, used until central/api lands: the console's static files and
// canned JSON in the shapes the API was asked for, plus an SSE stream the test can push to.
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topology, type EdgeStatus, type GridEvent, type TopologyEntry } from '../../../shared/index.ts';

const CONSOLE_DIR = fileURLToPath(new URL('../../../central/console/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export interface ConsoleServer {
  url: string;
  publish(event: GridEvent): void;
  /** Ends every open stream and refuses new ones (503) until resumeStreams(), as a restart of central would. */
  dropStreams(): void;
  resumeStreams(): void;
  close(): Promise<void>;
}

export async function startStandIn(opts: { topology: TopologyEntry[]; events: GridEvent[]; edges: EdgeStatus[] }): Promise<ConsoleServer> {
  const topology = new Topology(opts.topology);
  const events = new Map(opts.events.map((e) => [e.eventId, e]));
  const streams = new Set<ServerResponse>();
  let refusing = false;

  const substation = (id: string) => {
    const feeders = new Map<string, Map<string, number>>();
    for (const m of topology.metersUnder('substation', id)) {
      const e = topology.meter(m)!;
      const tx = feeders.get(e.feederId) ?? new Map<string, number>();
      feeders.set(e.feederId, tx.set(e.transformerId, (tx.get(e.transformerId) ?? 0) + 1));
    }
    return {
      substationId: id,
      meters: topology.metersUnder('substation', id).size,
      feeders: [...feeders].map(([feederId, tx]) => ({
        feederId,
        meters: [...tx.values()].reduce((a, b) => a + b, 0),
        transformers: [...tx].map(([transformerId, meters]) => ({ transformerId, meters })),
      })),
    };
  };

  const routes: Record<string, (q: URLSearchParams) => unknown> = {
    '/api/topology': (q) => {
      const id = q.get('substation');
      if (id) return substation(id);
      return { meters: topology.size, substations: topology.substations().map((s) => ({ substationId: s, meters: topology.metersUnder('substation', s).size })) };
    },
    '/api/events': (q) => ({ events: [...events.values()].filter((e) => !q.get('state') || e.state === q.get('state')) }),
    '/api/edges': () => ({
      edges: opts.edges.map((s) => {
        const ageMs = Date.now() - s.ts;
        return { edgeId: s.edgeId, substationId: s.substationId, ageMs, comms: ageMs < 15_000 ? 'ok' : ageMs < 60_000 ? 'late' : 'lost', status: s };
      }),
    }),
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/stream') {
      if (refusing) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': hello\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    const route = routes[url.pathname];
    if (route) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(route(url.searchParams)));
      return;
    }
    const file = normalize(join(CONSOLE_DIR, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(CONSOLE_DIR)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    publish(event) {
      const held = events.get(event.eventId);
      if (!held || held.version < event.version) events.set(event.eventId, event);
      for (const s of streams) s.write(`data: ${JSON.stringify(event)}\n\n`);
    },
    dropStreams() {
      refusing = true;
      for (const s of streams) s.destroy();
      streams.clear();
    },
    resumeStreams() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
