// Records repeated upstream (an edge re-sending its unacknowledged outbox after a crash) land at
// later offsets, often in a later flush: the archive and the InfluxDB aggregates must count them
// once, also across a restart of central. Before, duplicates were dropped only within one flush.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TOPICS, silentLogger, type Anomaly, type ForwardedReading, type GridEvent } from '../../../shared/index.ts';
import { Archiver, DirSink } from '../../../central/archive/index.ts';
import type { InfluxWriter, ReadingSource } from '../../../central/archive/types.ts';
import { anomaly, batch, readBack, reading } from './fixtures.ts';

const logger = silentLogger();
const dirs: string[] = [];
async function freshSink(): Promise<DirSink> {
  const d = await mkdtemp(join(tmpdir(), 'gw-archive-dup-'));
  dirs.push(d);
  return new DirSink(d);
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Records what the aggregates would be folded from. */
class RecordingInflux implements InfluxWriter {
  readings: string[] = [];
  writeAnomalies(_a: Anomaly[]): void {}
  writeEvents(_e: GridEvent[]): void {}
  writeReadings(r: ForwardedReading[], _source?: ReadingSource): void {
    this.readings.push(...r.map((x) => x.readingId));
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

const ids = (rows: { record: Record<string, unknown> }[]) => rows.map((r) => String(r.record.readingId ?? `${String(r.record.anomalyId)}|${String(r.record.state)}`));

describe('Archiver: duplicates across flushes and restarts', () => {
  it('drops a reading repeated in a later flush, from the objects and from the aggregates', async () => {
    const sink = await freshSink();
    const influx = new RecordingInflux();
    const a = new Archiver({ sink, influx, logger, maxRecords: 1000 });
    const first = Array.from({ length: 50 }, (_, i) => reading(i));
    a.add(batch(TOPICS.readings, 0, 0, first));
    await a.flushAll();
    // The edge restarted and re-sent its last 10 readings, then carried on.
    a.add(batch(TOPICS.readings, 0, 50, [...first.slice(40), ...Array.from({ length: 20 }, (_, i) => reading(50 + i))]));
    await a.flushAll();
    const archived = ids(await readBack(sink, 'readings/'));
    expect(archived).toHaveLength(70);
    expect(new Set(archived).size).toBe(70);
    expect(influx.readings).toHaveLength(70);
    expect(new Set(influx.readings).size).toBe(70);
  });

  it('drops a repeat that arrives after central restarted (the index is in the progress marker)', async () => {
    const sink = await freshSink();
    const first = Array.from({ length: 30 }, (_, i) => reading(i));
    const run1 = new Archiver({ sink, logger, maxRecords: 1000 });
    run1.add(batch(TOPICS.readings, 2, 0, first));
    const committed = await run1.flushAll();
    expect(committed).toEqual([{ topic: TOPICS.readings, partition: 2, nextOffset: '30' }]);
    const run2 = new Archiver({ sink, logger, maxRecords: 7 });
    run2.add(batch(TOPICS.readings, 2, 30, [...first.slice(25), reading(30), first[3]!, reading(31)]));
    await run2.flushDue();
    await run2.flushAll();
    const archived = ids(await readBack(sink, 'readings/'));
    expect(archived.sort()).toEqual([...first.map((r) => r.readingId), reading(30).readingId, reading(31).readingId].sort());
  });

  it('replays an unfinished flush identically when it also dropped repeats', async () => {
    const sink = await freshSink();
    const first = Array.from({ length: 20 }, (_, i) => reading(i));
    const run1 = new Archiver({ sink, logger, maxRecords: 1000 });
    run1.add(batch(TOPICS.readings, 0, 0, first));
    await run1.flushAll();
    const second = [...first.slice(15), ...Array.from({ length: 10 }, (_, i) => reading(20 + i))];
    run1.add(batch(TOPICS.readings, 0, 20, second));
    await run1.flushAll();
    const before = new Map<string, Buffer>();
    for (const k of await sink.list('readings/')) before.set(k, (await sink.get(k)) as Buffer);
    // A crash lost the commit of the second flush: a new run replays it from offset 20.
    const run2 = new Archiver({ sink, logger, maxRecords: 3 });
    run2.add(batch(TOPICS.readings, 0, 20, second));
    await run2.flushAll();
    for (const k of await sink.list('readings/')) expect((await sink.get(k))?.equals(before.get(k) as Buffer), k).toBe(true);
    expect(ids(await readBack(sink, 'readings/'))).toHaveLength(30);
  });

  it('keeps the readings of a meter whose counter restarted (same seqs, later times)', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger, maxRecords: 1000 });
    const base = { meterId: 'm-1', voltage: 230, readingId: '', edgeId: 'e-1', substationId: 'S01', feederId: 'F1', transformerId: 'T1', receivedAt: 0 };
    const r = (seq: number, ts: number) => ({ ...base, seq, ts, receivedAt: ts, readingId: `m-1:${seq}` });
    a.add(batch(TOPICS.readings, 0, 0, [r(1, 1000), r(2, 2000), r(3, 3000)]));
    await a.flushAll();
    a.add(batch(TOPICS.readings, 0, 3, [r(2, 2000), r(1, 9000), r(2, 10_000)]));
    await a.flushAll();
    expect((await readBack(sink, 'readings/')).map((x) => `${String(x.record.seq)}@${String(x.record.ts)}`)).toEqual(['1@1000', '2@2000', '3@3000', '1@9000', '2@10000']);
  });

  it('drops an anomaly transition repeated in a later flush', async () => {
    const sink = await freshSink();
    const a = new Archiver({ sink, logger, maxRecords: 1000 });
    a.add(batch(TOPICS.anomalies, 1, 0, [anomaly(1), anomaly(2)]));
    await a.flushAll();
    a.add(batch(TOPICS.anomalies, 1, 2, [anomaly(1), anomaly(1, 'closed'), anomaly(2)]));
    await a.flushAll();
    expect(ids(await readBack(sink, 'anomalies/'))).toHaveLength(3);
  });
});
