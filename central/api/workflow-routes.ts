// The operators' routes: actions on grid events (acknowledge, assign, note, unacknowledge) and
// maintenance windows (planned outages). Every write needs the operator role, is validated against
// its schema (400 with the reason), and is on Kafka (acks=all) before the answer (central/workflow).
// A retry carries the same idempotency key (header Idempotency-Key or body field) and is stored once.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DeviceLevel, EventActionType, ID_PATTERN, MAX_ASSIGNEE_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS, TimestampIn, toEpochMs } from '../../shared/index.ts';
import type { ArchiveSink } from '../archive/index.ts';
import { archivedActions, MAX_ARCHIVE_QUERY_MS, sortTrail } from '../history/archived.ts';
import type { Outcome, Workflow } from '../workflow/service.ts';
import { parsePathId, range, Refusal, time as queryTime } from './query.ts';
import type { Principal } from './auth/roles.ts';

/** The bodies are small; the global limit (1 KB) would cut a long note. */
const BODY_LIMIT = 16 * 1024;
const IdempotencyKey = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$', description: 'The same key on a retry: the action is stored once' });

export const ActionBody = Type.Object(
  {
    action: EventActionType,
    assignee: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ASSIGNEE_CHARS, description: 'assign: a crew or person' })),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NOTE_CHARS, description: `note: the text (at most ${MAX_NOTE_CHARS} characters)` })),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);

export const WindowBody = Type.Object(
  {
    device: Type.Object({ level: DeviceLevel, id: Type.String({ pattern: ID_PATTERN }) }, { additionalProperties: false }),
    from: TimestampIn,
    to: TimestampIn,
    reason: Type.String({ minLength: 1, maxLength: MAX_REASON_CHARS }),
    idempotencyKey: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);

const MaintenanceQuery = Type.Object(
  { from: Type.Optional(Type.String({ maxLength: 64, description: 'epoch milliseconds or an ISO-8601 date-time' })), to: Type.Optional(Type.String({ maxLength: 64, description: 'epoch milliseconds or an ISO-8601 date-time' })) },
  { additionalProperties: false },
);
const EventParams = Type.Object({ eventId: Type.String({ maxLength: 200 }) });
const TrailQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 64, description: 'with to: also search the archive from this time (epoch milliseconds or ISO-8601)' })),
    to: Type.Optional(Type.String({ maxLength: 64, description: 'with from: the end of the archive search' })),
  },
  { additionalProperties: false },
);

/** Where the archived audit trail is read (absent: the trail is what the topic gave this instance). */
export interface TrailArchive {
  sink: ArchiveSink;
  /** The key root of grid.event-actions in the archive (default `event-actions`). */
  root?: string;
}
const WindowParams = Type.Object({ windowId: Type.String({ maxLength: 64 }) });
const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) });

const bad = (reason: string) => ({ error: 'bad request', reason });
const principal = (req: FastifyRequest): Principal => req.principal ?? { kind: 'none', id: 'anonymous', name: 'anonymous', role: 'admin' };

function idempotencyKey(req: FastifyRequest, body: { idempotencyKey?: string }): string | undefined {
  const header = req.headers['idempotency-key'];
  const h = typeof header === 'string' ? header : undefined;
  if (h !== undefined && body.idempotencyKey !== undefined && h !== body.idempotencyKey) throw new Refusal('Idempotency-Key header and body idempotencyKey differ');
  return h ?? body.idempotencyKey;
}

function time(name: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : toEpochMs(v);
  if (!Number.isSafeInteger(t) || t < 0) throw new Refusal(`${name}: expected epoch milliseconds or an ISO-8601 date-time`);
  return t;
}

function windowRequest(req: FastifyRequest, b: Static<typeof WindowBody>) {
  const key = idempotencyKey(req, b);
  return { device: b.device, from: time('from', b.from)!, to: time('to', b.to)!, reason: b.reason, ...(key ? { idempotencyKey: key } : {}) };
}

function send<T>(reply: FastifyReply, o: Outcome<T>): FastifyReply {
  if ('value' in o) return reply.code(o.status).send(o.value);
  if (o.status === 503) reply.header('retry-after', '5');
  return reply.code(o.status).send({ error: o.error, reason: o.reason });
}

export const workflowRoutes = (wf: Workflow, archive?: TrailArchive): FastifyPluginAsyncTypebox =>
  async function routes(app) {
    const operator = { role: 'operator' as const, write: true };
    const eventId = (raw: string) => parsePathId(raw, 'event id', 200, /^[^\s/]+$/);
    const windowId = (raw: string) => parsePathId(raw, 'maintenance window id');

    app.post(
      '/api/events/:eventId/actions',
      { bodyLimit: BODY_LIMIT, config: operator, schema: { summary: 'Acknowledge, assign, annotate or unacknowledge a grid event (stored on grid.event-actions before the answer)', tags: ['workflow'], params: EventParams, headers: IdempotencyHeaders, body: ActionBody } },
      async (req, reply) => {
        const id = eventId(req.params.eventId);
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        const key = idempotencyKey(req, req.body);
        const { idempotencyKey: _k, ...rest } = req.body;
        return send(reply, await wf.act(id.value, principal(req), { ...rest, ...(key ? { idempotencyKey: key } : {}) }));
      },
    );

    app.get(
      '/api/events/:eventId/actions',
      {
        config: { role: 'viewer' },
        schema: {
          summary: `The audit trail of a grid event: every action, who and when, oldest first; with from and to (at most ${MAX_ARCHIVE_QUERY_MS / 86_400_000} days) also from the archive`,
          tags: ['workflow'],
          params: EventParams,
          querystring: TrailQuery,
        },
      },
      async (req, reply) => {
        const id = eventId(req.params.eventId);
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        const held = wf.actions.trail(id.value);
        const { from: f, to: t } = req.query;
        if (f === undefined && t === undefined) {
          if (held.length === 0 && !wf.knowsEvent(id.value)) {
            const hint = archive ? '; give from and to to search the archived audit trail' : '';
            return reply.code(404).send({ error: 'not found', reason: `no event ${id.value}: it is unknown, or closed and no longer kept${hint}` });
          }
          return { eventId: id.value, count: held.length, actions: held };
        }
        if (f === undefined || t === undefined) return reply.code(400).send(bad('from and to go together (the archive is searched over from..to)'));
        const from = queryTime('from', f)!;
        const to = queryTime('to', t)!;
        range(from, to);
        if (to - from > MAX_ARCHIVE_QUERY_MS) return reply.code(400).send(bad(`from..to spans more than ${MAX_ARCHIVE_QUERY_MS / 86_400_000} days, the bound of an archive query: ask for a shorter range`));
        if (!archive) return reply.code(503).send({ error: 'unavailable', reason: 'no archive is configured (GRIDWATCH_S3_ENDPOINT or GRIDWATCH_ARCHIVE_DIR): the trail is only what the topic holds' });
        let read: Awaited<ReturnType<typeof archivedActions>>;
        try {
          read = await archivedActions(archive.sink, id.value, from, to + 1, archive.root);
        } catch (err) {
          req.log.warn({ err, eventId: id.value }, 'the archive could not be read for an audit trail');
          return reply.code(503).send({ error: 'unavailable', reason: `the archive cannot be read: ${(err as Error).message.slice(0, 200)}` });
        }
        // The archive and this instance's memory, each action once (memory's copy wins: the same record).
        const byId = new Map(read.items.map((a) => [a.actionId, a]));
        for (const a of held) byId.set(a.actionId, a);
        const actions = sortTrail([...byId.values()]);
        const archived = { objects: read.objects, gaps: read.gaps };
        if (actions.length === 0 && !wf.knowsEvent(id.value) && read.gaps.length === 0) {
          return reply.code(404).send({ error: 'not found', reason: `no event ${id.value} is held, and the archive holds no action on it from ${from} to ${to}`, archive: archived });
        }
        return { eventId: id.value, count: actions.length, actions, archive: archived };
      },
    );

    app.get('/api/maintenance', { config: { role: 'viewer' }, schema: { summary: 'Maintenance windows (planned outages) overlapping from..to, earliest first', tags: ['workflow'], querystring: MaintenanceQuery } }, async (req) => {
      const from = time('from', req.query.from);
      const to = time('to', req.query.to);
      if (from !== undefined && to !== undefined && from > to) throw new Refusal('from is after to');
      const windows = wf.maintenance.list({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
      return { count: windows.length, windows };
    });

    app.post(
      '/api/maintenance',
      { bodyLimit: BODY_LIMIT, config: operator, schema: { summary: 'Plan a maintenance window on a device (stored on grid.maintenance before the answer)', tags: ['workflow'], headers: IdempotencyHeaders, body: WindowBody } },
      async (req, reply) => send(reply, await wf.createWindow(principal(req), windowRequest(req, req.body))),
    );

    app.get('/api/maintenance/:windowId', { config: { role: 'viewer' }, schema: { summary: 'One maintenance window', tags: ['workflow'], params: WindowParams } }, async (req, reply) => {
      const id = windowId(req.params.windowId);
      if (!id.ok) return reply.code(400).send(bad(id.reason));
      return wf.maintenance.get(id.value) ?? reply.code(404).send({ error: 'not found', reason: `no maintenance window ${id.value} (never created, or cancelled)` });
    });

    app.put(
      '/api/maintenance/:windowId',
      { bodyLimit: BODY_LIMIT, config: operator, schema: { summary: 'Change a maintenance window (device, time range, reason)', tags: ['workflow'], params: WindowParams, body: WindowBody } },
      async (req, reply) => {
        const id = windowId(req.params.windowId);
        if (!id.ok) return reply.code(400).send(bad(id.reason));
        return send(reply, await wf.updateWindow(id.value, principal(req), windowRequest(req, req.body)));
      },
    );

    app.delete('/api/maintenance/:windowId', { config: operator, schema: { summary: 'Cancel a maintenance window (a tombstone on grid.maintenance)', tags: ['workflow'], params: WindowParams } }, async (req, reply) => {
      const id = windowId(req.params.windowId);
      if (!id.ok) return reply.code(400).send(bad(id.reason));
      return send(reply, await wf.cancelWindow(id.value));
    });
  };
