// The workflow's routes against the real API server: every refusal with its reason (schema, bounds,
// unknown event, unknown device, reused idempotency key, Kafka not taking the record), a retry
// stored once, and the event shown with its workflow. The writer is in memory here (what it must
// do against Kafka: kill.int.test.ts); it records what would be written, and can fail.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import type { KeyedRecord } from '../../../central/publish/producer.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { Workflow } from '../../../central/workflow/service.ts';
import { ManualClock, Metrics, Topology, silentLogger, type EventAction, type GridEvent } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { T0, gridEvent } from '../api/fixtures.ts';
import { METERS } from './helpers.ts';

const written: { topic: string; records: KeyedRecord[] }[] = [];
let failing = false;
const writer = {
  connect: async () => undefined,
  disconnect: async () => undefined,
  send: async (topic: string, records: KeyedRecord[]) => {
    if (failing) throw new Error('broker gone');
    written.push({ topic, records });
  },
};
const { auth, tokens } = testAuth();
const events = new EventStore(10);
const sse = new SseHub({ maxClients: 10, heartbeatMs: 60_000 });
const registry = new TopologyRegistry({ logger: silentLogger(), topology: new Topology(METERS) });
const wf = new Workflow({ writer, topics: { actions: 'grid.event-actions', maintenance: 'grid.maintenance' }, events, topology: registry.topology, clock: new ManualClock(T0), logger: silentLogger() });
events.decorateWith((e) => wf.decorate(e));
let base = '';
let close = async () => undefined as unknown;

beforeAll(async () => {
  events.upsert(gridEvent({ eventId: 'ev-1', rootId: 'WF-T1', substationId: 'WF-S1' }));
  const server = await listen(
    createApiHandler({ workflow: wf, events, anomalies: new AnomalyStore(10), readings: new ReadingStore(2, 10), edges: new EdgeStatusStore({ lateMs: 1, lostMs: 2, maxEdges: 1 }), registry, sse, metrics: new Metrics('t', { defaultMetrics: false }), clock: new ManualClock(T0), logger: silentLogger(), health: () => ({ live: true, ready: true, details: {} }), auth }),
    0,
    '127.0.0.1',
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((r) => (server.closeAllConnections(), server.close(r)));
});
afterAll(async () => {
  auth.stop();
  sse.close();
  await close();
});

const call = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
  const res = await fetch(base + path, { method, headers: { ...tokens.headers('operator'), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('POST /api/events/{eventId}/actions', () => {
  it('refuses what the schema, the bounds or the meaning do not allow, each with its reason', async () => {
    const cases: [unknown, RegExp][] = [
      [{ action: 'approve' }, /body \/action/],
      [{ action: 'note', text: 'x'.repeat(2001) }, /body \/text: Expected string length less or equal to 2000/],
      [{ action: 'assign', assignee: 'x'.repeat(101) }, /body \/assignee/],
      [{ action: 'note' }, /note needs `text`/],
      [{ action: 'assign' }, /assign needs `assignee`/],
      [{ action: 'acknowledge', assignee: 'Crew' }, /`assignee` belongs to assign/],
      [{ action: 'acknowledge', by: 'someone-else' }, /body/], // who is the principal, never the body
      ['{not json', /body|JSON/i],
    ];
    for (const [body, reason] of cases) {
      const r = await call('POST', '/api/events/ev-1/actions', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.reason, JSON.stringify(body)).toMatch(reason);
    }
    const unknown = await call('POST', '/api/events/ev-gone/actions', { action: 'acknowledge' });
    expect(unknown).toEqual({ status: 404, body: { error: 'not found', reason: expect.stringMatching(/no event ev-gone: it is unknown, or closed and no longer kept/) } });
    expect(written).toEqual([]);
  });

  it('stores a retry once (header or body key), refuses the key reused for another action, and shows the event with its workflow', async () => {
    const first = await call('POST', '/api/events/ev-1/actions', { action: 'acknowledge' }, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ eventId: 'ev-1', action: 'acknowledge', by: { kind: 'api-key', name: 'test-operator', role: 'operator' }, at: T0 });
    const retry = await call('POST', '/api/events/ev-1/actions', { action: 'acknowledge', idempotencyKey: 'k-1' });
    expect(retry).toEqual({ status: 200, body: first.body });
    const concurrent = await Promise.all([1, 2, 3].map(() => call('POST', '/api/events/ev-1/actions', { action: 'assign', assignee: 'Crew 7' }, { 'idempotency-key': 'k-2' })));
    expect(concurrent.map((c) => c.status).sort()).toEqual([200, 200, 201]);
    expect((await call('POST', '/api/events/ev-1/actions', { action: 'note', text: 'other' }, { 'idempotency-key': 'k-1' })).status).toBe(422);
    expect((await call('POST', '/api/events/ev-1/actions', { action: 'note', text: 'x', idempotencyKey: 'a' }, { 'idempotency-key': 'b' })).body.reason).toMatch(/differ/);
    expect(written.map((w) => [w.topic, w.records[0]!.key])).toEqual([['grid.event-actions', 'ev-1'], ['grid.event-actions', 'ev-1']]);
    const shown = (await call('GET', '/api/events/ev-1')).body as unknown as GridEvent;
    expect(shown).toMatchObject({ acknowledged: { by: 'test-operator', at: T0 }, assignee: 'Crew 7' });
    const trail = (await call('GET', '/api/events/ev-1/actions')).body as { count: number; actions: EventAction[] };
    expect(trail.actions.map((a) => a.action)).toEqual(['acknowledge', 'assign']);
    expect((await call('GET', '/api/events/ev-gone/actions')).status).toBe(404);
  });

  it('answers 503 with the reason when Kafka does not take the record, and changes nothing', async () => {
    failing = true;
    try {
      const r = await call('POST', '/api/events/ev-1/actions', { action: 'note', text: 'lost?' });
      expect(r.status).toBe(503);
      expect(r.body.reason).toMatch(/not recorded: Kafka did not take the record.*broker gone/);
    } finally {
      failing = false;
    }
    expect(wf.actions.trail('ev-1').some((a) => a.text === 'lost?')).toBe(false);
  });
});

describe('/api/maintenance', () => {
  const body = { device: { level: 'feeder', id: 'WF-F1' }, from: T0, to: '2026-11-23T08:00:00Z', reason: 'recloser replacement' };

  it('plans, lists, edits and cancels a window; the tombstone goes to the compacted topic', async () => {
    written.length = 0;
    const made = await call('POST', '/api/maintenance', body);
    expect(made.status).toBe(201);
    const id = made.body.windowId as string;
    expect(made.body).toMatchObject({ device: { level: 'feeder', id: 'WF-F1' }, from: T0, to: Date.UTC(2026, 10, 23, 8), createdBy: { name: 'test-operator' } });
    expect(((await call('GET', '/api/maintenance')).body.windows as unknown[]).length).toBe(1);
    const edited = await call('PUT', `/api/maintenance/${id}`, { ...body, reason: 'moved' });
    expect(edited.body).toMatchObject({ reason: 'moved', updatedBy: { name: 'test-operator' } });
    expect((await call('GET', `/api/maintenance/${id}`)).body.reason).toBe('moved');
    // An event of a transformer under the feeder, starting inside the window: planned.
    expect(wf.mark(gridEvent({ rootId: 'WF-T1', affectedMeters: ['M1'], startTs: T0 + 1000 })).planned).toBe(true);
    expect((await call('DELETE', `/api/maintenance/${id}`)).status).toBe(200);
    expect((await call('GET', `/api/maintenance/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/maintenance/${id}`)).status).toBe(404);
    expect(written.map((w) => [w.topic, w.records[0]!.key, w.records[0]!.value === null ? 'tombstone' : 'window'])).toEqual([
      ['grid.maintenance', id, 'window'],
      ['grid.maintenance', id, 'window'],
      ['grid.maintenance', id, 'tombstone'],
    ]);
  });

  it('refuses a device not in the topology, a reversed or endless range, an unknown level, with the reason', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...body, device: { level: 'feeder', id: 'NOPE' } }, /^feeder NOPE is not in the topology$/],
      [{ ...body, device: { level: 'meter', id: 'M1' }, to: T0 - 1 }, /`to` must be after `from`/],
      [{ ...body, to: T0 + 400 * 86_400_000 }, /at most 366 days/],
      [{ ...body, device: { level: 'grid', id: 'grid' } }, /body \/device\/level/],
      [{ ...body, reason: '' }, /body \/reason/],
      [{ ...body, from: 'yesterday' }, /body \/from/],
    ];
    for (const [b, reason] of cases) {
      const r = await call('POST', '/api/maintenance', b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.body.reason, JSON.stringify(b)).toMatch(reason);
    }
    expect((await call('GET', '/api/maintenance?from=2&to=1')).status).toBe(400);
    expect((await call('PUT', '/api/maintenance/mw-none', body)).status).toBe(404);
  });
});
