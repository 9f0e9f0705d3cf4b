// The history routes against a real MinIO archive written by the real Archiver: one meter's
// readings as JSON lines and CSV (only its objects read), an unreadable object reported as a gap,
// the range bound, and /api/events reaching past memory into the archive.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler, listen, type ApiDeps } from '../../../central/api/index.ts';
import { Archiver, S3Sink } from '../../../central/archive/index.ts';
import { TopologyRegistry } from '../../../central/registry/index.ts';
import { TOPICS, silentLogger, type GridEvent } from '../../../shared/index.ts';
import { testAuth } from '../../harness/api-tokens.ts';
import { testEndpoints, uniqueName } from '../../harness/env.ts';
import { apiDeps } from '../api/fixtures.ts';
import { partitionOf } from '../../../shared/kafka/partition.ts';
import { PARTITIONS, archiveReadings, smallGrid } from './archive-fixture.ts';

const { s3 } = testEndpoints();
const FROM = Date.UTC(2026, 10, 20, 22, 30, 0);
const SECONDS = 2 * 3600; // 22:30 to 00:30: three hours, two dates
const topology = smallGrid(2);
const { auth, tokens } = testAuth();
let sink: S3Sink;
let server: Server;
let base: string;
let d: ApiDeps;

const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers: { ...tokens.headers('viewer'), ...headers } });

function event(i: number, version: number, updatedAt: number, state: 'open' | 'closed'): GridEvent {
  return { eventId: `ev-old-${i}`, scope: 'feeder', rootId: 'S01-F1', substationId: 'S01', type: 'outage', severity: 'major', state, affectedMeters: ['S01-F1-m0'], affectedCount: 1, startTs: FROM + 60_000, endTs: state === 'closed' ? updatedAt : null, updatedAt, version };
}

beforeAll(async () => {
  sink = new S3Sink({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket: uniqueName('history') });
  await sink.ensureBucket();
  await archiveReadings(sink, { topology, from: FROM, seconds: SECONDS, flushEvery: 1000 });
  const ev = new Archiver({ sink, logger: silentLogger() });
  ev.add({ topic: TOPICS.events, partition: 0, messages: [event(1, 1, FROM + 60_000, 'open'), event(1, 2, FROM + 600_000, 'closed')].map((e, j) => ({ offset: String(j), timestamp: String(FROM), key: null, value: JSON.stringify(e) })) });
  await ev.flushAll();
  d = apiDeps({ auth, registry: new TopologyRegistry({ logger: silentLogger(), topology }), history: { sink, readingsPartitions: () => PARTITIONS } });
  server = await listen(createApiHandler(d), 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  auth.stop();
  await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
});

function jsonLines(text: string): Record<string, unknown>[] {
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('GET /api/meters/{meterId}/readings', () => {
  it('streams one meter across hours and dates as JSON lines in time order, with a closing total', async () => {
    const res = await get(`/api/meters/S02-F2-m1/readings?from=${FROM}&to=${FROM + SECONDS * 1000}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = jsonLines(await res.text());
    const end = lines.pop() as { _end: { readings: number; objects: number; gaps: number } };
    expect(end._end).toMatchObject({ readings: SECONDS, gaps: 0 });
    expect(lines).toHaveLength(SECONDS);
    expect(lines.every((r) => r.meterId === 'S02-F2-m1' && !('_offset' in r))).toBe(true);
    const ts = lines.map((r) => r.ts as number);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(ts[0]).toBe(FROM);
    // Only the meter's substation and partition are read: fewer objects than the archive holds.
    const all = await sink.list('readings/');
    const p = partitionOf('S02-F2-m1', PARTITIONS);
    const its = all.filter((k) => k.includes('/substation=S02/') && k.split('/').at(-1)!.startsWith(`${p}-`));
    expect(end._end.objects).toBe(its.length);
    expect(its.length).toBeLessThan(all.length / 2);
  });

  it('answers CSV for Accept: text/csv, the range half-open', async () => {
    const res = await get(`/api/meters/S01-F1-m0/readings?from=${new Date(FROM + 3_599_000).toISOString()}&to=${FROM + 3_601_000}`, { accept: 'text/csv' });
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('ts,time,readingId,seq,voltage,current,power,reactivePower,powerFactor,frequency,energy,flags');
    expect(lines.slice(1, 3).map((l) => l.split(',')[2])).toEqual(['S01-F1-m0:3599', 'S01-F1-m0:3600']);
    expect(lines[3]).toMatch(/^# end readings=2 objects=\d+ duplicates=0 gaps=0$/);
  });

  it('reports an unreadable object as a gap with its key, and still answers the rest', async () => {
    const keys = (await sink.list('readings/date=2026-11-21/hour=00/substation=S01/'));
    const victim = keys[0]!;
    const good = await sink.get(victim);
    await sink.put(victim, Buffer.from('this is not gzip'));
    const bad = keys[1] ?? victim;
    try {
      if (bad !== victim) await sink.put(bad, gzipSync('{"meterId":"S01-F1-m0","ts":1}\nnot json\n'));
      const from = Date.UTC(2026, 10, 21, 0, 0, 0);
      const meters = ['S01-F1-m0', 'S01-F1-m1', 'S01-F2-m0', 'S01-F2-m1'];
      const gaps: string[] = [];
      let readings = 0;
      for (const m of meters) {
        const text = await (await get(`/api/meters/${m}/readings?from=${from}&to=${from + 1800_000}`)).text();
        const lines = jsonLines(text);
        const end = lines.at(-1) as { _end: { readings: number; gaps: number } };
        for (const l of lines) if ('_gap' in l) gaps.push((l._gap as { key: string; reason: string }).key + ' ' + (l._gap as { reason: string }).reason);
        readings += end._end.readings;
        const csv = await (await get(`/api/meters/${m}/readings?from=${from}&to=${from + 1800_000}&format=csv`)).text();
        expect(csv.match(/^# gap /gm)?.length ?? 0).toBe(end._end.gaps);
      }
      expect(gaps).toContain(`${victim} not gzip: incorrect header check`);
      if (bad !== victim) expect(gaps).toContain(`${bad} line 2 is not JSON`);
      expect(readings).toBeLessThan(4 * 1800);
      expect(readings).toBeGreaterThan(0);
    } finally {
      await sink.put(victim, good!);
    }
  });

  it('refuses a range over the bound, saying the bound, and a missing or inverted range', async () => {
    const long = await get(`/api/meters/S01-F1-m0/readings?from=0&to=${40 * 86_400_000}`);
    expect(long.status).toBe(400);
    expect(((await long.json()) as { reason: string }).reason).toMatch(/the bound is 31 days/);
    expect((await get('/api/meters/S01-F1-m0/readings?from=0')).status).toBe(400);
    const inverted = await get('/api/meters/S01-F1-m0/readings?from=10&to=5');
    expect(((await inverted.json()) as { reason: string }).reason).toBe('from is after to');
    expect((await get(`/api/meters/${encodeURIComponent('../x')}/readings?from=0&to=1`)).status).toBe(400);
  });
});

describe('GET /api/events with from', () => {
  it('finds a closed event that is no longer in memory in the archive, its last version', async () => {
    expect(d.events.query({ limit: 10 })).toHaveLength(0);
    const res = (await (await get(`/api/events?from=${FROM}&to=${FROM + 3_600_000}`)).json()) as { events: GridEvent[]; archive: { objects: number; gaps: unknown[] } };
    expect(res.events.map((e) => [e.eventId, e.version, e.state])).toEqual([['ev-old-1', 2, 'closed']]);
    expect(res.archive.objects).toBeGreaterThan(0);
    expect(res.archive.gaps).toEqual([]);
    const far = await get(`/api/events?from=0&to=${FROM}`);
    expect(far.status).toBe(400);
    expect(((await far.json()) as { reason: string }).reason).toMatch(/31 days/);
  });
});
