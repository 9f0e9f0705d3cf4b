import type { Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { ManualClock, Metrics, silentLogger, Topology } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { T0, anomaly, edgeStatus, gridEvent } from './fixtures.ts';

const topology = new Topology(
  ['M1', 'M2', 'M3'].map((meterId) => ({ meterId, transformerId: 'T1', feederId: 'F1', substationId: 'S01', phase: 'A' as const, nominalVoltage: 230, nominalFrequency: 50 as const })),
);

describe('central HTTP API', () => {
  const clock = new ManualClock(T0 + 5000);
  const events = new EventStore(10);
  const anomalies = new AnomalyStore(100);
  const readings = new ReadingStore(3, 10);
  const edges = new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 });
  const sse = new SseHub({ maxClients: 1, heartbeatMs: 50 });
  const registry = new TopologyRegistry({ logger: silentLogger(), topology });
  const metrics = new Metrics('central-test', { defaultMetrics: false });
  metrics.counter('test_total', 'a test counter').inc();
  const { auth, tokens } = testAuth({ metrics });
  const bearer = tokens.headers('viewer');
  let ready = false;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const consoleDir = mkdtempSync(join(tmpdir(), 'console-'));
    writeFileSync(join(consoleDir, 'index.html'), '<h1>console</h1>');
    events.onChange((e) => sse.broadcast(e));
    server = await listen(
      createApiHandler({ events, anomalies, readings, edges, registry, sse, metrics, clock, logger: silentLogger(), health: () => ({ live: true, ready, details: {} }), consoleDir, auth }),
      0,
      '127.0.0.1',
    );
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    events.upsert(gridEvent());
    events.upsert(gridEvent({ eventId: 'ev-2', scope: 'feeder', rootId: 'F1', state: 'closed', endTs: T0 + 1000, updatedAt: T0 + 1000 }));
    anomalies.add(anomaly());
    anomalies.add(anomaly()); // duplicate
    for (let seq = 1; seq <= 5; seq++) readings.add('M1', JSON.stringify({ meterId: 'M1', readingId: `M1:${seq}`, ts: T0 + seq * 1000, voltage: 230 }), T0 + seq * 1000);
    readings.add('M1', JSON.stringify({ meterId: 'M1', readingId: 'M1:5', ts: T0 + 5000, voltage: 230 }), T0 + 5000);
    edges.update(edgeStatus(), T0);
  });
  afterAll(async () => {
    sse.close();
    auth.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: bearer });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('lists and filters events', async () => {
    expect((await get('/api/events')).body.count).toBe(2);
    const open = await get('/api/events?state=open');
    expect((open.body.events as { eventId: string }[]).map((e) => e.eventId)).toEqual(['ev-1']);
    expect((await get('/api/events?scope=feeder')).body.count).toBe(1);
    expect((await get(`/api/events?from=${T0 + 2000}`)).body.count).toBe(1); // the closed one ended before
    expect((await get('/api/events/ev-2')).body.state).toBe('closed');
    expect((await get('/api/events/nope')).status).toBe(404);
  });

  it('answers bad queries with 400 and a reason', async () => {
    const r = await get('/api/events?limit=-1');
    expect(r.status).toBe(400);
    expect(r.body.reason).toMatch(/limit/);
    expect((await get('/api/anomalies?bogus=1')).status).toBe(400);
    expect((await get('/api/meters/bad%20id')).status).toBe(400);
    expect((await get('/api/edges?x=1')).status).toBe(400);
  });

  it('shows anomalies once, a meter with its bounded, de-duplicated readings', async () => {
    expect((await get('/api/anomalies?meter=M1')).body.count).toBe(1);
    const m = await get('/api/meters/M1');
    expect(m.status).toBe(200);
    expect((m.body.readings as { readingId: string }[]).map((r) => r.readingId)).toEqual(['M1:3', 'M1:4', 'M1:5']);
    expect(m.body.received).toBe(5);
    expect(m.body.status).toBe('abnormal');
    expect((m.body.topology as { transformerId: string }).transformerId).toBe('T1');
    expect((await get('/api/meters/M9')).status).toBe(404);
  });

  it('shows topology and edges', async () => {
    const t = await get('/api/topology');
    expect(t.body.meters).toBe(3);
    expect(t.body.substations).toEqual(['S01']);
    const s = await get('/api/topology?substation=S01');
    expect((s.body.feeders as unknown[]).length).toBe(1);
    expect((await get('/api/topology?substation=S99')).status).toBe(404);
    const e = await get('/api/edges');
    expect((e.body.edges as { comms: string }[])[0]?.comms).toBe('ok');
  });

  it('serves health, readiness, metrics and the console', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
    const m = await fetch(base + '/metrics', { headers: bearer });
    expect(await m.text()).toContain('# HELP');
    const c = await fetch(base + '/');
    expect(await c.text()).toContain('console');
    expect((await fetch(base + '/../../etc/passwd')).status).toBe(404);
    expect((await fetch(base + '/api/events', { method: 'POST', headers: bearer })).status).toBe(405);
  });

  it('streams grid events over SSE with heartbeats, and refuses clients beyond the bound', async () => {
    const ctl = new AbortController();
    const res = await fetch(base + '/api/stream', { signal: ctl.signal, headers: bearer });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect((await fetch(base + '/api/stream', { headers: bearer })).status).toBe(503);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let text = '';
    const until = async (pred: () => boolean) => {
      while (!pred()) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += dec.decode(value);
      }
    };
    await until(() => text.includes('"ev-1"')); // the open events first
    expect(text).not.toContain('"ev-2"');
    events.upsert(gridEvent({ eventId: 'ev-3', version: 1 }));
    await until(() => text.includes('"ev-3"'));
    await until(() => text.includes(': heartbeat'));
    expect(text).toMatch(/event: grid-event\ndata: \{/);
    ctl.abort();
    await reader.cancel().catch(() => undefined);
  });
});
