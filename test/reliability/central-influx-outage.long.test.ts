// Issue 14 item 4: InfluxDB stopped under load. The archive's design (docs/archive.md): a flush is
// the marker, its objects AND its InfluxDB points; a retryable InfluxDB failure fails the flush,
// which is retried with the same range (same keys, same bytes, overwrite semantics for the points),
// and offsets move only past flushes whose points were written. So while InfluxDB is down nothing
// is committed, the records held grow to the byte budget and the consumer pauses (memory bounded);
// once InfluxDB is back every reading is archived once and counted once in `feeder_1m`. Nothing is
// dropped and no gap is left: the points are there after the outage.
import { afterAll, describe, expect, it } from 'vitest';
import { CentralRig, exactlyOnce } from './central-rig.ts';
import { recordReliability } from './record.ts';

const BUDGET_MIB = 8;
const PARTITIONS = 3;
const OUTAGE_MS = Number(process.env.GRIDWATCH_INFLUX_OUTAGE_MS ?? 40_000);
const log = (l: string) => console.log(`[influx-outage] ${l}`);
let rig: CentralRig | null = null;
afterAll(async () => rig?.stop());

async function feederMinuteReadings(r: CentralRig): Promise<number> {
  const j = (await r.influxQuery('SELECT SUM("readings") FROM "feeder_1m"')) as { results: { series?: { values: [string, number][] }[] }[] };
  return Number(j.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
}

describe('central with InfluxDB stopped under load', () => {
  it('commits nothing while the points cannot be written, stays in its budget, and writes every point after', async () => {
    rig = new CentralRig({ name: 'influxdown', partitions: PARTITIONS, portBase: 20210, influx: true, budgetMiB: BUDGET_MIB, log });
    const r = rig;
    await r.start();
    const c = await r.spawnCentral('c1');
    const before = 20_000;
    await r.produce(before);
    await r.until('the first readings archived and committed', 180_000, async () => (await r.committedTotal()) >= before, c);
    await r.until('their points in InfluxDB', 30_000, async () => (await feederMinuteReadings(r)) >= before, c);
    const rssBefore = c.rssMiB();
    log(`archived ${before}; RSS ${rssBefore} MiB; stopping InfluxDB for ${OUTAGE_MS / 1000} s`);

    await r.influx!.stop();
    const downAt = Date.now();
    let rssPeak = rssBefore;
    let heldPeak = 0;
    const sample = async () => {
      rssPeak = Math.max(rssPeak, c.rssMiB());
      heldPeak = Math.max(heldPeak, await c.metric('gridwatch_archive_held_bytes'));
    };
    const sampler = setInterval(() => void sample().catch(() => undefined), 500);
    const during = 100_000;
    await r.produce(during);
    while (Date.now() - downAt < OUTAGE_MS) await new Promise((res) => setTimeout(res, 500));
    await sample();
    clearInterval(sampler);
    const committedDown = await r.committedTotal();
    const consumedDown = await c.metric('gridwatch_central_records_consumed_total', { topic: r.topic, consumer: 'group' });
    const failuresDown = await c.metric('gridwatch_archive_flush_failures_total');
    log(`InfluxDB back after ${Math.round((Date.now() - downAt) / 1000)} s; committed ${committedDown}, consumed ${consumedDown}/${r.produced}, RSS peak ${rssPeak} MiB, held peak ${(heldPeak / 1048576).toFixed(1)} MiB, ${failuresDown} failed flushes`);

    await r.influx!.start();
    const upAt = Date.now();
    await r.until('every reading archived and committed', 240_000, async () => (await r.committedTotal()) >= r.produced, c);
    const recoverySeconds = Math.round((Date.now() - upAt) / 100) / 10;
    await r.until('every reading counted in feeder_1m', 30_000, async () => (await feederMinuteReadings(r)) >= r.produced, c);
    const pointsReadings = await feederMinuteReadings(r);
    const pauses = await c.metric('gridwatch_central_backpressure_total', { action: 'pause' });
    const resumes = await c.metric('gridwatch_central_backpressure_total', { action: 'resume' });
    const rejected = await c.metric('gridwatch_archive_influx_rejected_total');
    const archive = await r.readArchive();
    const once = exactlyOnce(archive, await r.ends());
    const past = await r.committedPastArchive();
    log(JSON.stringify({ produced: r.produced, lines: archive.lines, ...once, pointsReadings, pauses, resumes, rejected, recoverySeconds }));

    recordReliability({
      id: 'central-influx-outage',
      test: 'Central faults: InfluxDB stopped under load',
      fault: `central's InfluxDB stopped ${OUTAGE_MS / 1000} s`,
      load: `${r.produced} readings (${during} while down), ${PARTITIONS} partitions, budget ${BUDGET_MIB} MiB`,
      lost: once.missing,
      duplicates: once.duplicated,
      recoverySeconds,
      note: `nothing committed while down (${committedDown} = before); feeder_1m counts ${pointsReadings} readings after; RSS ${rssBefore} -> peak ${rssPeak} MiB, held peak ${(heldPeak / 1048576).toFixed(1)} MiB; ${pauses} pauses`,
      suite: 'long',
    });
    expect(once).toEqual({ missing: 0, duplicated: 0 });
    expect(archive.lines).toBe(r.produced);
    expect(archive.overlapping).toEqual([]);
    expect(past).toEqual([]);
    // While the points could not be written no offset moved, and the flushes failed (retried).
    expect(committedDown).toBe(before);
    expect(failuresDown).toBeGreaterThan(0);
    // It stopped reading at its budget instead of holding the backlog.
    expect(pauses).toBeGreaterThan(0);
    expect(consumedDown).toBeLessThan(r.produced);
    expect(heldPeak / 1048576).toBeLessThanOrEqual(BUDGET_MIB + PARTITIONS * 4);
    expect(rssPeak - rssBefore).toBeLessThanOrEqual(BUDGET_MIB + 96);
    // Every reading is in the points exactly once (the fold skips replayed flushes), none rejected.
    expect(pointsReadings).toBe(r.produced);
    expect(rejected).toBe(0);
  }, 900_000);
});
