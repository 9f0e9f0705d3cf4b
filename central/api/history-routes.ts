// Routes that answer from the archive (MinIO/S3 or a directory) and InfluxDB rather than from
// memory: a meter's reading history, a feeder's voltage profile, the IEEE 1366 reliability
// indices. Each range is bounded and the 400 says the bound. The archive and InfluxDB are
// optional parts of the API: without them these routes answer 503 with what is missing.
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN, parseDuration, type Anomaly, type GridEvent } from '../../shared/index.ts';
import { partitionOf } from '../../shared/kafka/partition.ts';
import type { ArchiveSink, InfluxReader } from '../archive/index.ts';
import type { ArchiveRoots } from '../history/archive-reader.ts';
import { archivedAnomalies, archivedEvents, MAX_ARCHIVE_QUERY_MS } from '../history/archived.ts';
import { MAX_PROFILE_BUCKETS, MAX_PROFILE_RANGE_MS, combineProfile } from '../history/profile.ts';
import { historyKeys, MAX_READINGS_RANGE_MS, meterHistory } from '../history/readings.ts';
import { computeReliability, customersServed, interruptionsFrom, restorationsFrom, toCsv, type Level, type Period } from '../reliability/index.ts';
import { parsePathId, range, Refusal, time } from './query.ts';
import type { ApiDeps } from './server.ts';

/** What the history routes read; absent parts make their routes answer 503. */
export interface HistoryDeps {
  sink?: ArchiveSink;
  influx?: InfluxReader;
  /** Partitions of grid.readings (a meter's readings are on the one its id maps to), when known. */
  readingsPartitions?: () => number | undefined;
  /** Where the archive files each kind when not under its own name (topics with a kafkaTopicPrefix). */
  roots?: ArchiveRoots;
}

const TIME = Type.String({ minLength: 1, maxLength: 64, description: 'epoch milliseconds or an ISO-8601 date-time' });
const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)), { description: `one of ${values.join(', ')}` });
export const ReadingsQuery = Type.Object({ from: TIME, to: TIME, format: Type.Optional(oneOf(['jsonl', 'csv'] as const)) }, { additionalProperties: false });
export const ProfileQuery = Type.Object({ from: TIME, to: TIME, every: Type.Optional(Type.String({ maxLength: 16, description: 'a duration of at least 1m, like 1m, 15m, 1h (default 1m)' })) }, { additionalProperties: false });
export const ReliabilityQuery = Type.Object(
  { from: TIME, to: TIME, by: Type.Optional(oneOf(['feeder', 'substation', 'system'] as const)), per: Type.Optional(oneOf(['day', 'month', 'range'] as const)), format: Type.Optional(oneOf(['json', 'csv'] as const)) },
  { additionalProperties: false },
);

const bad = (reason: string) => ({ error: 'bad request', reason });
const unavailable = (reason: string) => ({ error: 'unavailable', reason });
const days = (ms: number) => `${ms / 86_400_000} days`;

/** from and to, both given, from before to, at most `maxMs` apart (throws a Refusal). */
export function boundedRange(q: { from: string; to: string }, maxMs: number): { from: number; to: number } {
  const from = time('from', q.from)!;
  const to = time('to', q.to)!;
  range(from, to);
  if (to - from > maxMs) throw new Refusal(`from..to spans ${Math.ceil((to - from) / 3_600_000)} h; the bound is ${days(maxMs)} (${maxMs} ms): ask for a shorter range`);
  return { from, to };
}

const wantsCsv = (req: FastifyRequest, format: string | undefined) => format === 'csv' || (format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));

async function withRange<T>(reply: FastifyReply, q: { from: string; to: string }, maxMs: number, run: (r: { from: number; to: number }) => Promise<T>): Promise<T | FastifyReply> {
  let r: { from: number; to: number };
  try {
    r = boundedRange(q, maxMs);
  } catch (err) {
    return reply.code(400).send(bad((err as Error).message));
  }
  return run(r);
}

/** Grid events of [from, to]: memory, and the archive when there is one (with what it could not read). */
export async function eventsOfRange(d: ApiDeps, from: number, to: number, substation?: string): Promise<{ events: GridEvent[]; archive: { objects: number; gaps: { key: string; reason: string }[] } | null }> {
  const memory = d.events.query({ from, to, limit: Number.MAX_SAFE_INTEGER, ...(substation ? { substation } : {}) });
  if (!d.history?.sink) return { events: memory, archive: null };
  const a = await archivedEvents(d.history.sink, from, to + 1, substation, d.history.roots?.events);
  const byId = new Map<string, GridEvent>();
  for (const e of [...a.items, ...memory]) {
    const prev = byId.get(e.eventId);
    if (!prev || prev.version <= e.version) byId.set(e.eventId, e);
  }
  return { events: [...byId.values()], archive: { objects: a.objects, gaps: a.gaps } };
}

export const historyRoutes = (d: ApiDeps): FastifyPluginAsyncTypebox =>
  async function routes(app) {
    app.get(
      '/api/meters/:meterId/readings',
      {
        config: { role: 'viewer' },
        schema: {
          summary: `A meter's readings from the archive (at most ${days(MAX_READINGS_RANGE_MS)}), as JSON lines or CSV (Accept: text/csv); unreadable objects are listed at the end as gaps`,
          tags: ['history'],
          querystring: ReadingsQuery,
          params: Type.Object({ meterId: Type.String({ maxLength: 64 }) }),
        },
      },
      async (req, reply) => {
        const id = parsePathId(req.params.meterId, 'meter id');
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        const sink = d.history?.sink;
        if (!sink) return reply.code(503).send(unavailable('no archive is configured (GRIDWATCH_S3_ENDPOINT or GRIDWATCH_ARCHIVE_DIR)'));
        return withRange(reply, req.query, MAX_READINGS_RANGE_MS, async ({ from, to }) => {
          const partitions = d.history?.readingsPartitions?.();
          const root = d.history?.roots?.readings;
          const where = { from, to, substationId: d.registry.topology.meter(id.value)?.substationId ?? null, ...(partitions ? { partition: partitionOf(id.value, partitions) } : {}), ...(root ? { root } : {}) };
          let keys: string[];
          try {
            keys = await historyKeys(sink, where);
          } catch (err) {
            d.logger.warn({ err, meterId: id.value }, 'the archive could not be listed for a reading history');
            return reply.code(503).send(unavailable(`the archive cannot be listed: ${(err as Error).message.slice(0, 200)}`));
          }
          const format = wantsCsv(req, req.query.format) ? 'csv' : 'jsonl';
          reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
          reply.header('x-gridwatch-archive-objects', String(keys.length));
          return reply.send(Readable.from(meterHistory(sink, keys, { meterId: id.value, from, to, format })));
        });
      },
    );

    app.get(
      '/api/feeders/:feederId/profile',
      {
        config: { role: 'viewer' },
        schema: { summary: `A feeder's voltage profile (min, mean, max per bucket) from InfluxDB's feeder_1m aggregates (at most ${days(MAX_PROFILE_RANGE_MS)})`, tags: ['history'], querystring: ProfileQuery, params: Type.Object({ feederId: Type.String({ maxLength: 64 }) }) },
      },
      async (req, reply) => {
        const id = parsePathId(req.params.feederId, 'feeder id');
        if (!id.ok || !new RegExp(ID_PATTERN).test(id.value)) return reply.code(400).send(bad(id.ok ? 'feeder id: expected an id' : id.reason));
        const influx = d.history?.influx;
        if (!influx) return reply.code(503).send(unavailable('no InfluxDB is configured (GRIDWATCH_INFLUX_URL)'));
        let everyMs = 60_000;
        if (req.query.every !== undefined) {
          try {
            everyMs = parseDuration(req.query.every, 'every');
          } catch (err) {
            return reply.code(400).send(bad((err as Error).message));
          }
          if (everyMs < 60_000 || everyMs % 60_000 !== 0) return reply.code(400).send(bad(`every=${JSON.stringify(req.query.every)}: expected whole minutes, at least 1m (the aggregates are per minute)`));
        }
        return withRange(reply, req.query, MAX_PROFILE_RANGE_MS, async ({ from, to }) => {
          if ((to - from) / everyMs > MAX_PROFILE_BUCKETS) return reply.code(400).send(bad(`from..to / every gives ${Math.ceil((to - from) / everyMs)} buckets; the bound is ${MAX_PROFILE_BUCKETS}: ask for a larger every or a shorter range`));
          try {
            const buckets = combineProfile(await influx.feederMinutes(id.value, from, to), from, to, everyMs);
            return { feederId: id.value, from, to, everyMs, count: buckets.length, buckets };
          } catch (err) {
            d.logger.warn({ err, feederId: id.value }, 'InfluxDB could not answer a feeder profile');
            return reply.code(503).send(unavailable(`InfluxDB cannot answer: ${(err as Error).message.slice(0, 200)}`));
          }
        });
      },
    );

    app.get(
      '/api/reliability',
      {
        config: { role: 'viewer' },
        schema: { summary: `IEEE 1366 SAIFI, SAIDI, CAIDI, MAIFI-E per feeder, substation or system, per day, month or the range; planned apart (at most ${days(MAX_ARCHIVE_QUERY_MS * 13)}); CSV with Accept: text/csv`, tags: ['history'], querystring: ReliabilityQuery },
      },
      async (req, reply) => {
        // A year and a month: a regulator's year of monthly figures.
        return withRange(reply, req.query, MAX_ARCHIVE_QUERY_MS * 13, async ({ from, to }) => {
          const level: Level = req.query.by ?? 'feeder';
          const period: Period = req.query.per ?? 'day';
          let read: Awaited<ReturnType<typeof eventsOfRange>>;
          let anomalies: Anomaly[] = [];
          try {
            // Events that started in the range; an event is filed at each update, so its last
            // version may lie a little after `to`: an hour of slack finds it.
            read = await eventsOfRange(d, from, Math.min(to + 3_600_000, d.clock.now() + 3_600_000));
            if (d.history?.sink) {
              const a = await archivedAnomalies(d.history.sink, from, to + 3_600_000, undefined, d.history.roots?.anomalies);
              anomalies = a.items.filter((x) => x.type === 'outage' || x.type === 'interruption');
              read.archive?.gaps.push(...a.gaps);
            }
          } catch (err) {
            d.logger.warn({ err }, 'the archive could not be read for reliability indices');
            return reply.code(503).send(unavailable(`the archive cannot be read: ${(err as Error).message.slice(0, 200)}`));
          }
          const topology = d.registry.topology;
          const { interruptions, openOutages } = interruptionsFrom(read.events, topology, restorationsFrom([...anomalies, ...d.anomalies.query({ limit: Number.MAX_SAFE_INTEGER, state: 'closed' })]));
          const rows = computeReliability(interruptions, { level, period, from, to, placeOf: (m) => topology.meter(m), served: customersServed(topology, level) });
          if (wantsCsv(req, req.query.format)) return reply.type('text/csv; charset=utf-8').send(toCsv(rows));
          return {
            from,
            to,
            by: level,
            per: period,
            momentaryLimitMinutes: 5,
            count: rows.length,
            rows,
            openOutagesNotCounted: openOutages,
            archive: read.archive ?? 'none (memory only)',
          };
        });
      },
    );
  };
