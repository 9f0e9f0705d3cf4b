// Central's real HTTP API (central/api) over a small in-memory state, serving the console. The
// test reaches into the stores the way central's consumers do: an event goes into the EventStore,
// whose change listener broadcasts it on the SSE hub, as central's composition root wires it.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AnomalyStore, createApiHandler, EdgeStatusStore, EventStore, ReadingStore, SseHub } from '../../../central/api/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { Metrics, silentLogger, systemClock, Topology, type EdgeStatus, type GridEvent, type TopologyEntry } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';

const CONSOLE_DIR = fileURLToPath(new URL('../../../central/console/', import.meta.url));

export interface ConsoleServer {
  url: string;
  /** A viewer's API key, to sign in with. */
  token: string;
  /** Hands a grid event to central's event store (and so to the stream, when it is news). */
  publish(event: GridEvent): void;
  /** Writes an event straight onto the stream, bypassing the store: a re-delivered stale copy. */
  broadcast(event: GridEvent): void;
  /** Ends every open stream and refuses new ones (503) until resumeStreams(): central restarting. */
  dropStreams(): void;
  resumeStreams(): void;
  close(): Promise<void>;
}

export async function startConsoleServer(opts: {
  topology: TopologyEntry[];
  events: GridEvent[];
  /** Each gateway's last heartbeat and how long ago central received it. */
  edges: { status: EdgeStatus; ageMs: number }[];
}): Promise<ConsoleServer> {
  const now = Date.now();
  const events = new EventStore(500);
  const sse = new SseHub({ maxClients: 10, heartbeatMs: 5_000 });
  events.onChange((e) => sse.broadcast(e));
  for (const e of opts.events) events.upsert(e);
  // The thresholds central/aggregator.ts uses.
  const edges = new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 100 });
  for (const { status, ageMs } of opts.edges) edges.update(status, now - ageMs);
  const logger = silentLogger();
  const { auth, tokens } = testAuth();
  const handler = createApiHandler({
    events,
    anomalies: new AnomalyStore(100),
    readings: new ReadingStore(4, 100),
    edges,
    registry: new TopologyRegistry({ logger, topology: new Topology(opts.topology) }),
    sse,
    metrics: new Metrics('central-console-test', { defaultMetrics: false }),
    clock: systemClock,
    logger,
    health: () => ({ live: true, ready: true, details: {} }),
    consoleDir: CONSOLE_DIR,
    auth,
  });

  // In front of the real handler only to cut the stream on demand.
  const streams = new Set<ServerResponse>();
  let refusing = false;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/stream')) {
      if (refusing) return void res.writeHead(503).end();
      streams.add(res);
      res.on('close', () => streams.delete(res));
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    token: tokens.viewer,
    publish: (event) => void events.upsert(event),
    broadcast: (event) => sse.broadcast(event),
    dropStreams() {
      refusing = true;
      for (const s of streams) s.destroy();
    },
    resumeStreams() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        sse.close();
        auth.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
