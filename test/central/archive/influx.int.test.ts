// The InfluxDB writer against the real InfluxDB 1.8 (v2 API): anomalies, grid events and feeder
// aggregates written to a database of their own, read back with Flux; replays overwrite.
import { InfluxDB } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { TOPICS, silentLogger } from '../../../shared/index.ts';
import { createInfluxBucket } from '../../../deploy/services/index.ts';
import { Archiver, DirSink, createInfluxWriter, type InfluxWriter } from '../../../central/archive/index.ts';
import { testEndpoints, uniqueName } from '../../harness/env.ts';
import { anomaly, batch, gridEvent, reading } from './fixtures.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const endpoints = testEndpoints();
const { url, token, org } = endpoints.influx;
const logger = silentLogger();

async function freshBucket(prefix: string): Promise<string> {
  return createInfluxBucket(endpoints, uniqueName(prefix).replace(/-/g, '_'));
}

async function query(bucket: string, filter: string, tail = ''): Promise<Record<string, unknown>[]> {
  const flux = `from(bucket: "${bucket}") |> range(start: 0) |> filter(fn: (r) => ${filter})${tail}`;
  const rows: Record<string, unknown>[] = [];
  for await (const { values, tableMeta } of new InfluxDB({ url, token }).getQueryApi(org).iterateRows(flux)) rows.push(tableMeta.toObject(values));
  return rows;
}

const PIVOT = ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")';
const writer = (bucket: string): InfluxWriter => createInfluxWriter({ url, token, org, bucket, logger });

describe('InfluxDB writer', () => {
  it('writes anomalies with low-cardinality tags and meterId as a field; a replay overwrites', async () => {
    const bucket = await freshBucket('archive_anomalies');
    const w = writer(bucket);
    // 50 meters open the same kind of anomaly at the same millisecond: none may overwrite another.
    const opens = Array.from({ length: 50 }, (_, i) => anomaly(i, 'open'));
    w.writeAnomalies([...opens, anomaly(1, 'closed')]);
    await w.flush();
    w.writeAnomalies([...opens, anomaly(1, 'closed')]); // the replay
    await w.close();
    const rows = await query(bucket, 'r._measurement == "anomaly"', PIVOT);
    expect(rows).toHaveLength(51);
    const closed = rows.find((r) => r.state === 'closed');
    expect(closed).toMatchObject({ meterId: 'm-1', anomalyId: 'a-1', type: 'sag', severity: 'minor', substation: 'S01', feeder: 'S01-F1', channel: 'voltage', observed: 191, durationMs: 180_000 });
    expect(Object.keys(closed ?? {})).not.toContain('meterId_tag');
    const tagKeys = await query(bucket, 'r._measurement == "anomaly" and r._field == "observed"', ' |> keys() |> keep(columns: ["_value"]) |> distinct()');
    expect(tagKeys.map((r) => r._value)).not.toContain('meterId');
  });

  it('writes grid events; later versions of one event overwrite the earlier point', async () => {
    const bucket = await freshBucket('archive_events');
    const w = writer(bucket);
    w.writeEvents([gridEvent(1, 1, 10), gridEvent(1, 2, 25), gridEvent(2, 1, 4)]);
    await w.flush();
    w.writeEvents([gridEvent(1, 1, 10), gridEvent(1, 2, 25), gridEvent(2, 1, 4)]);
    await w.close();
    const rows = await query(bucket, 'r._measurement == "grid_event"', PIVOT);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.eventId === 'ev-1')).toMatchObject({ scope: 'feeder', type: 'outage', severity: 'major', state: 'open', substation: 'S01', rootId: 'S01-F1', affectedCount: 25, version: 2 });
  });

  it('writes per-feeder one-minute aggregates through the Archiver; a crash-replay with a new writer does not double count', async () => {
    const bucket = await freshBucket('archive_feeder');
    const sink = new DirSink(await mkdtemp(join(tmpdir(), 'gw-influx-')));
    const recs = Array.from({ length: 600 }, (_, i) => reading(i, { stepMs: 500 })); // 5 minutes
    const expected = new Map<string, { n: number; min: number; max: number; sum: number; load: number }>();
    for (const r of recs) {
      const k = `${r.feederId}|${Math.floor(r.ts / 60_000) * 60_000}`;
      const e = expected.get(k) ?? { n: 0, min: Infinity, max: -Infinity, sum: 0, load: 0 };
      e.n++;
      e.min = Math.min(e.min, r.voltage);
      e.max = Math.max(e.max, r.voltage);
      e.sum += r.voltage;
      e.load += r.power ?? 0;
      expected.set(k, e);
    }
    // Run 1 archives the first 400 records (two flushes) and "crashes" before committing the second.
    const w1 = writer(bucket);
    const run1 = new Archiver({ sink, influx: w1, logger });
    run1.add(batch(TOPICS.readings, 0, 0, recs.slice(0, 200)));
    expect(await run1.flushAll()).toHaveLength(1); // committed: 200
    run1.add(batch(TOPICS.readings, 0, 200, recs.slice(200, 400)));
    await run1.flushAll(); // written, never committed
    await w1.close();
    // Run 2: new writer (no memory), re-fed from 200, flushing at other boundaries.
    const w2 = writer(bucket);
    const run2 = new Archiver({ sink, influx: w2, logger, maxRecords: 150 });
    for (let off = 200; off < 600; off += 50) {
      run2.add(batch(TOPICS.readings, 0, off, recs.slice(off, off + 50)));
      await run2.flushDue();
    }
    await run2.flushAll();
    await w2.close();

    const rows = await query(bucket, 'r._measurement == "feeder_1m"', PIVOT);
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const e = expected.get(`${String(r.feeder)}|${Date.parse(String(r._time))}`);
      expect(e, `${String(r.feeder)} ${String(r._time)}`).toBeDefined();
      expect(r.readings).toBe(e?.n);
      expect(r.v_min).toBe(e?.min);
      expect(r.v_max).toBe(e?.max);
      expect(r.v_mean as number).toBeCloseTo((e?.sum ?? 0) / (e?.n ?? 1), 9);
      expect(r.load_kw_sum as number).toBeCloseTo(e?.load ?? 0, 9);
      expect(r).toMatchObject({ partition: '0', last_offset: expect.any(Number) });
    }
    expect(rows.reduce((n, r) => n + (r.readings as number), 0)).toBe(600);
  });

  it('counts a reading once when its repeat (an edge re-sending after a crash) lands in a later flush or after a restart', async () => {
    const bucket = await freshBucket('archive_repeats');
    const sink = new DirSink(await mkdtemp(join(tmpdir(), 'gw-influx-rep-')));
    const recs = Array.from({ length: 300 }, (_, i) => reading(i, { stepMs: 500 }));
    const w1 = writer(bucket);
    const run1 = new Archiver({ sink, influx: w1, logger });
    run1.add(batch(TOPICS.readings, 0, 0, recs.slice(0, 150)));
    await run1.flushAll();
    // The edge re-sent its last 30 readings: new offsets, a later flush.
    run1.add(batch(TOPICS.readings, 0, 150, [...recs.slice(120, 150), ...recs.slice(150, 200)]));
    await run1.flushAll();
    await w1.close();
    // Central restarts; more repeats of readings archived before the restart arrive with new ones.
    const w2 = writer(bucket);
    const run2 = new Archiver({ sink, influx: w2, logger, maxRecords: 40 });
    const tail = [...recs.slice(180, 200), ...recs.slice(200, 300)];
    for (let i = 0; i < tail.length; i += 30) {
      run2.add(batch(TOPICS.readings, 0, 230 + i, tail.slice(i, i + 30)));
      await run2.flushDue();
    }
    await run2.flushAll();
    await w2.close();
    const rows = await query(bucket, 'r._measurement == "feeder_1m"', PIVOT);
    expect(rows.reduce((n, r) => n + (r.readings as number), 0)).toBe(300);
  });

  it('a replay of the same readings (same partition and offsets) by a fresh writer overwrites instead of adding', async () => {
    const bucket = await freshBucket('archive_replay');
    const recs = Array.from({ length: 120 }, (_, i) => reading(i, { stepMs: 1000 }));
    const source = { partition: 5, firstOffset: 1000n, lastOffset: 1119n };
    const total = async (): Promise<number> =>
      (await query(bucket, 'r._measurement == "feeder_1m" and r._field == "readings"', ' |> group() |> sum()'))[0]?._value as number;
    const w1 = writer(bucket);
    w1.writeReadings(recs, source);
    w1.writeReadings(recs, source); // the same flush handed in twice (a retry)
    await w1.close();
    expect(await total()).toBe(120);
    const points = (await query(bucket, 'r._measurement == "feeder_1m" and r._field == "readings"')).length;
    const w2 = writer(bucket); // after a restart: no memory, seeded from InfluxDB
    w2.writeReadings(recs, source);
    await w2.close();
    expect(await total()).toBe(120);
    expect((await query(bucket, 'r._measurement == "feeder_1m" and r._field == "readings"')).length).toBe(points);
    const w3 = writer(bucket); // the next range extends the stored aggregates
    w3.writeReadings(recs.slice(0, 60), { partition: 5, firstOffset: 1120n, lastOffset: 1179n });
    await w3.close();
    expect(await total()).toBe(180);
  });

  it('measures the aggregate write rate', async () => {
    const bucket = await freshBucket('archive_rate');
    const w = writer(bucket);
    const n = 200_000;
    // 200 feeders x 60 minutes of readings: 12,000 aggregate points.
    const recs = Array.from({ length: n }, (_, i) => ({ ...reading(i, { stepMs: 18 }), substationId: `S${i % 10}`, feederId: `F${i % 200}` }));
    const t0 = performance.now();
    for (let off = 0; off < n; off += 20_000) {
      w.writeReadings(recs.slice(off, off + 20_000), { partition: 0, firstOffset: BigInt(off), lastOffset: BigInt(off + 19_999) });
      await w.flush();
    }
    const seconds = (performance.now() - t0) / 1000;
    await w.close();
    const count = await query(bucket, 'r._measurement == "feeder_1m" and r._field == "readings"', ' |> group() |> count()');
    process.stderr.write(`[influx bench] ${n} readings -> ${String(count[0]?._value)} feeder_1m points (rewritten as they grow, 10 flushes) in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} readings/s folded and written\n`);
    expect(count[0]?._value).toBeGreaterThanOrEqual(12_000);
  });
});
