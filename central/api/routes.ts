// The API's routes: each one reads the stores, nothing here talks to Kafka. Every route declares
// the role it needs (`config.role`) and its query string as a TypeBox schema, which fastify
// validates and @fastify/swagger publishes in /api/openapi.json.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ArchiveSink } from '../archive/index.ts';
import type { ApiDeps } from './server.ts';
import { archivedAnomalies, archivedEvents, mergeAnomalies, mergeEvents, MAX_ARCHIVE_QUERY_MS } from '../history/archived.ts';
import { AnomalyQuery, EventQuery, NoQuery, TopologyQuery, anomalyFilter, eventFilter, parsePathId, topologyFilter } from './query.ts';

const notFound = (what: string) => ({ error: 'not found', reason: what });
const bad = (reason: string) => ({ error: 'bad request', reason });

export const gridRoutes = (d: ApiDeps): FastifyPluginAsyncTypebox =>
  async function routes(app) {
    // With `from`, the archive is read too (when there is one): memory holds only the recent events.
    const archiveRange = (f: { from?: number; to?: number }): { refused: string } | { from: number; to: number; sink: ArchiveSink } | null => {
      if (f.from === undefined || !d.history?.sink) return null;
      const to = f.to ?? d.clock.now();
      if (to - f.from > MAX_ARCHIVE_QUERY_MS) return { refused: `from..to reaches into the archive and spans more than ${MAX_ARCHIVE_QUERY_MS / 86_400_000} days, the bound of an archive query: ask for a shorter range` };
      return { from: f.from, to: to + 1, sink: d.history.sink };
    };

    app.get('/api/events', { config: { role: 'viewer' }, schema: { summary: 'Grid events, highest version of each, newest first; with from, also from the archive', tags: ['grid'], querystring: EventQuery } }, async (req, reply) => {
      const f = eventFilter(req.query);
      const r = archiveRange(f);
      if (r && 'refused' in r) return reply.code(400).send(bad(r.refused));
      if (!r) {
        const events = d.events.query(f);
        return { count: events.length, events, ...d.events.counts() };
      }
      const a = await archivedEvents(r.sink, r.from, r.to, f.substation);
      const events = mergeEvents(d.events.query({ ...f, limit: Number.MAX_SAFE_INTEGER }), a.items, f);
      return { count: events.length, events, ...d.events.counts(), archive: { objects: a.objects, gaps: a.gaps } };
    });

    app.get(
      '/api/events/:eventId',
      { config: { role: 'viewer' }, schema: { summary: 'One grid event (closed ones only while recent)', tags: ['grid'], params: Type.Object({ eventId: Type.String({ maxLength: 200 }) }) } },
      async (req, reply) => {
        const id = parsePathId(req.params.eventId, 'event id', 200, /^[^\s/]+$/);
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        const e = d.events.get(id.value);
        return e ?? reply.code(404).send(notFound(`no event ${id.value} (closed events are kept only while recent)`));
      },
    );

    app.get('/api/anomalies', { config: { role: 'viewer' }, schema: { summary: 'Recent meter anomalies, most recently received first; with from, also from the archive', tags: ['grid'], querystring: AnomalyQuery } }, async (req, reply) => {
      const f = anomalyFilter(req.query);
      const r = archiveRange(f);
      if (r && 'refused' in r) return reply.code(400).send(bad(r.refused));
      if (!r) {
        const anomalies = d.anomalies.query(f);
        return { count: anomalies.length, anomalies };
      }
      const a = await archivedAnomalies(r.sink, r.from, r.to, f.substation);
      const anomalies = mergeAnomalies(d.anomalies.query({ ...f, limit: Number.MAX_SAFE_INTEGER }), a.items, f);
      return { count: anomalies.length, anomalies, archive: { objects: a.objects, gaps: a.gaps } };
    });

    app.get(
      '/api/meters/:meterId',
      { config: { role: 'viewer' }, schema: { summary: 'A meter: topology, open anomalies, recent readings, status', tags: ['grid'], querystring: NoQuery, params: Type.Object({ meterId: Type.String({ maxLength: 64 }) }) } },
      async (req, reply) => {
        const id = parsePathId(req.params.meterId, 'meter id');
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        const topology = d.registry.topology.meter(id.value) ?? null;
        const recent = d.readings.recent(id.value);
        const openAnomalies = d.anomalies.openForMeter(id.value);
        if (!topology && !recent && openAnomalies.length === 0) return reply.code(404).send(notFound(`meter ${id.value} is neither in the topology nor among recent readings`));
        const now = d.clock.now();
        const interval = topology?.readingIntervalMs ?? 15_000;
        const status = recent === null ? 'no recent readings' : now - recent.lastReceivedAt > 3 * interval ? 'quiet' : openAnomalies.length > 0 ? 'abnormal' : 'normal';
        return {
          meterId: id.value,
          status,
          topology,
          openAnomalies,
          lastReceivedAt: recent?.lastReceivedAt ?? null,
          received: recent?.received ?? 0,
          readings: recent?.readings ?? [],
          note: 'readings are those consumed by this instance (partitions of grid.readings it owns)',
        };
      },
    );

    app.get('/api/topology', { config: { role: 'viewer' }, schema: { summary: 'Topology summary, one substation, or the whole tree (tree=1)', tags: ['grid'], querystring: TopologyQuery } }, async (req, reply) => {
      const f = topologyFilter(req.query);
      if (f.substation !== undefined) {
        const s = d.registry.substation(f.substation);
        return s ?? reply.code(404).send(notFound(`substation ${f.substation} has no meters in the topology`));
      }
      const ids = d.registry.topology.substations().sort();
      // The whole tree in one answer (the console's), each substation in the shape of
      // ?substation=; one pass over the meters in all, each meter being under one substation.
      if (f.tree) return { ...d.registry.summary(), substations: ids.map((id) => d.registry.substation(id)).filter((s) => s !== null) };
      return { ...d.registry.summary(), substations: ids };
    });

    app.get('/api/edges', { config: { role: 'viewer' }, schema: { summary: "Edge gateways' last heartbeats and comms state", tags: ['grid'], querystring: NoQuery } }, async () => {
      const edges = d.edges.list(d.clock.now());
      return { count: edges.length, edges };
    });

    app.get('/api/stream', { config: { role: 'viewer' }, schema: { summary: 'Server-Sent Events: the open events, then every new event version', tags: ['grid'] } }, (req, reply) => {
      if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
      // The hub writes the response itself; the security headers fastify would add are set here.
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) reply.raw.setHeader(k, v);
      reply.hijack();
      // The stream ends with its credential: at the token's expiry, or when its key is revoked (server.ts).
      const p = req.principal;
      const endsAt = p ? d.auth.sessionEndsAt(p) : undefined;
      d.sse.add(req.raw, reply.raw, d.events.query({ state: 'open', limit: 1000 }), p ? { principal: p, ...(endsAt !== undefined ? { endsAt } : {}) } : undefined);
    });
  };
