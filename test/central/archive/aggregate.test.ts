import { describe, expect, it } from 'vitest';
import { TOPICS, GridwatchError, Metrics, silentLogger } from '../../../shared/index.ts';
import { foldReadings, pointTimeNs, mergeInto } from '../../../central/archive/aggregate.ts';
import { Archiver, DirSink, type InfluxWriter } from '../../../central/archive/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { T0, batch, reading } from './fixtures.ts';

describe('feeder one-minute aggregates', () => {
  it('folds readings per feeder and minute of event time', () => {
    const recs = [reading(0), reading(2), reading(4), { ...reading(6), power: undefined }, reading(62)];
    const m = foldReadings(recs, '3');
    const a = m.get(`3|S01|S01-F0|${T0}`) ?? m.get(`3|S02|S02-F0|${T0}`);
    expect(a).toBeDefined();
    const all = [...m.values()];
    expect(all.reduce((n, x) => n + x.count, 0)).toBe(5);
    const s02 = all.find((x) => x.substation === 'S02' && x.minute === T0);
    expect(s02).toMatchObject({ count: 2, vMin: 227, vMax: 229, vSum: 456, loadCount: 2, partition: '3' });
    const s01 = all.find((x) => x.substation === 'S01' && x.minute === T0);
    expect(s01).toMatchObject({ count: 2, loadCount: 1 });
    const copy = { ...(s02 as NonNullable<typeof s02>) };
    mergeInto(copy, s02 as NonNullable<typeof s02>);
    expect(copy).toMatchObject({ count: 4, vMin: 227, vMax: 229, vSum: 912 });
  });

  it('gives each record a stable sub-millisecond timestamp so that points in one millisecond do not collide', () => {
    expect(pointTimeNs(T0, 'a-1')).toBe(pointTimeNs(T0, 'a-1'));
    const ts = new Set(Array.from({ length: 200 }, (_, i) => pointTimeNs(T0, `a-${i}`)));
    expect(ts.size).toBe(200);
    for (const t of ts) expect(BigInt(t) / 1_000_000n).toBe(BigInt(T0));
  });
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function stubInflux(fail: () => Error | null): InfluxWriter & { readings: number } {
  return {
    readings: 0,
    writeAnomalies: () => undefined,
    writeEvents: () => undefined,
    writeReadings(r) {
      this.readings += r.length;
    },
    flush: async () => {
      const e = fail();
      if (e) throw e;
    },
    close: async () => undefined,
  };
}

describe('Archiver and InfluxDB failures', () => {
  it('withholds offsets while InfluxDB fails retryably, and moves on (counted) when it rejects the points', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-agg-'));
    dirs.push(dir);
    let err: Error | null = new GridwatchError('ARCHIVE_FAILED', 'influx 503', { retryable: true });
    const influx = stubInflux(() => err);
    const metrics = new Metrics('t', { defaultMetrics: false });
    const a = new Archiver({ sink: new DirSink(dir), influx, logger: silentLogger(), metrics });
    a.add(batch(TOPICS.readings, 0, 0, [reading(1), reading(2)]));
    await expect(a.flushAll()).rejects.toMatchObject({ code: 'ARCHIVE_FAILED', retryable: true });
    err = new GridwatchError('ARCHIVE_FAILED', 'influx 400', { retryable: false });
    expect(await a.flushAll()).toEqual([{ topic: TOPICS.readings, partition: 0, nextOffset: '2' }]);
    expect(await metrics.text()).toMatch(/gridwatch_archive_influx_rejected_total\{[^}]*\} 1/);
    expect(await metrics.text()).toMatch(/gridwatch_archive_flush_failures_total\{[^}]*\} 1/);
  });
});
