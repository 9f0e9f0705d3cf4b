// /api/topology?tree=1: the substation -> feeder -> transformer tree with meter counts in one answer.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseHub, createApiHandler, listen } from '../../../central/api/index.ts';
import { parseTopologyQuery } from '../../../central/api/query.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { silentLogger, Topology, type TopologyEntry } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { apiDeps } from './fixtures.ts';

const meter = (meterId: string, transformerId: string, feederId: string, substationId: string): TopologyEntry => ({ meterId, transformerId, feederId, substationId, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });

// S01: F1 (T1: 3 meters, T2: 1), F2 (T3: 2); S02: F9 (T9: 1).
const topology = new Topology([
  meter('M1', 'T1', 'F1', 'S01'),
  meter('M2', 'T1', 'F1', 'S01'),
  meter('M3', 'T1', 'F1', 'S01'),
  meter('M4', 'T2', 'F1', 'S01'),
  meter('M5', 'T3', 'F2', 'S01'),
  meter('M6', 'T3', 'F2', 'S01'),
  meter('M7', 'T9', 'F9', 'S02'),
]);

describe('/api/topology?tree=1', () => {
  const sse = new SseHub({ maxClients: 1 });
  const { auth, tokens } = testAuth();
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = await listen(
      createApiHandler(apiDeps({
        registry: new TopologyRegistry({ logger: silentLogger(), topology }),
        sse,
        auth,
      })),
      0,
      '127.0.0.1',
    );
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(async () => {
    sse.close();
    auth.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: tokens.headers() });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('gives every substation with its feeders and transformers and their meter counts', async () => {
    const t = await get('/api/topology?tree=1');
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ meters: 7, transformers: 4, feeders: 3 });
    expect(t.body.substations).toEqual([
      {
        substationId: 'S01',
        meters: 6,
        feeders: [
          { feederId: 'F1', meters: 4, transformers: [{ transformerId: 'T1', meters: 3 }, { transformerId: 'T2', meters: 1 }] },
          { feederId: 'F2', meters: 2, transformers: [{ transformerId: 'T3', meters: 2 }] },
        ],
      },
      { substationId: 'S02', meters: 1, feeders: [{ feederId: 'F9', meters: 1, transformers: [{ transformerId: 'T9', meters: 1 }] }] },
    ]);
    // The same as asking substation by substation.
    for (const s of t.body.substations as { substationId: string }[]) expect((await get(`/api/topology?substation=${s.substationId}`)).body).toEqual(s);
  });

  it('without tree=1 (or with tree=0) lists the substation ids only', async () => {
    expect((await get('/api/topology')).body.substations).toEqual(['S01', 'S02']);
    expect((await get('/api/topology?tree=0')).body.substations).toEqual(['S01', 'S02']);
    expect((await get('/api/topology?tree=true')).body.substations).toHaveLength(2);
  });

  it('refuses a bad tree value, a repeated one, and tree with substation', async () => {
    for (const qs of ['tree=yes', 'tree=1&tree=1', 'tree=1&substation=S01', 'trees=1']) {
      const r = await get(`/api/topology?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error).toBe('bad request');
    }
    expect(parseTopologyQuery(new URLSearchParams('tree=1'))).toEqual({ ok: true, value: { tree: true } });
    expect(parseTopologyQuery(new URLSearchParams('tree=false'))).toEqual({ ok: true, value: {} });
  });
});
