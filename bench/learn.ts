/**
 * Learned scoring throughput: feature updates per second (central/learn/features.ts) and the
 * whole LearnedScorer (features + batched inference in its worker, shipped model), beside a
 * no-model yardstick that only keeps per-meter state for the same readings in the same run.
 * Figures are ratios against the yardstick (the machine is shared); the rates are indications.
 */
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ReadingStore } from '../central/api/store.ts';
import { FeatureBuilder, type FeatureReading } from '../central/learn/features.ts';
import { DEFAULT_MODEL_DIR } from '../central/learn/model-file.ts';
import { LearnedPart } from '../central/learn/part.ts';
import { LATE_MS_DEFAULT, LearnedScorer } from '../central/learn/scorer.ts';
import { faultsOf } from '../central/learn/dataset.ts';
import { Metrics, silentLogger, type Clock } from '../shared/index.ts';
import type { BenchFigure } from './figures.ts';
import { createSimulation } from '../simulator/generate.ts';
import { generateTopology } from '../simulator/topology.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export async function benchLearn(opts: { readings?: number; log?: (s: string) => void } = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? (() => {});
  const meters = 500;
  const intervalMs = 60_000;
  const ticks = Math.max(20, Math.ceil((opts.readings ?? 300_000) / meters));
  const topo = generateTopology({ meters, seed: 5, substations: 1, readingIntervalMs: intervalMs });
  const where = new Map(topo.actual.map((e) => [e.meterId, e]));
  const from = Date.UTC(2026, 10, 1);
  // Five meters with a heavy constant load from the second hour, so that anomalies open (the delay figure).
  const faults = topo.actual.slice(0, 5).map((e) => ({ type: 'load_profile', target: e.meterId, start: 3_600_000, duration: ticks * intervalMs }));
  const sim = createSimulation({ topology: topo.actual, faults: faults as never, from, to: from + ticks * intervalMs, intervalMs, seed: 5 });
  const readings: (FeatureReading & { substationId: string })[] = [];
  for (const item of sim.items()) {
    if (item.kind !== 'reading') continue;
    const e = where.get(item.meterId)!;
    readings.push({ meterId: item.meterId, transformerId: e.transformerId, feederId: e.feederId, substationId: e.substationId, ts: item.reading.ts as number, voltage: item.reading.voltage, power: item.reading.power });
  }
  log(`${readings.length} readings of ${meters} meters`);

  // Yardstick: per-meter running sums, the least a consumer of grid.readings does per reading.
  let t = performance.now();
  const state = new Map<string, { n: number; v: number }>();
  for (const r of readings) {
    const s = state.get(r.meterId) ?? state.set(r.meterId, { n: 0, v: 0 }).get(r.meterId)!;
    s.n++;
    s.v += r.voltage;
  }
  const yardstick = readings.length / ((performance.now() - t) / 1000);

  t = performance.now();
  const fb = new FeatureBuilder({ windowMs: 600_000, intervalMs, lateMs: 2 * intervalMs });
  let rows = 0;
  for (const r of readings) rows += fb.add(r).length;
  rows += fb.closeUpTo().length;
  const features = readings.length / ((performance.now() - t) / 1000);

  let anomalies = 0;
  const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, intervalMs, onAnomaly: () => anomalies++ });
  await scorer.start();
  t = performance.now();
  for (const r of readings) scorer.add(r);
  await scorer.flush();
  const scored = readings.length / ((performance.now() - t) / 1000);
  const counters = scorer.counters;
  await scorer.stop();

  // Central's reading path without and with the model, in the same run: the group consumer puts
  // every grid.readings value into the recent-readings store; with learned scoring on it also
  // hands it to the learned part (JSON parse, features, batched inference in the worker). The
  // part's producer here only counts (Kafka is the central bench's). The clock follows event
  // time (the newest reading plus the wall time since), so the anomalies' detectedAt is plausible.
  const values = readings.map((r, i) => JSON.stringify({ ...r, readingId: `${r.meterId}:${i}`, seq: i, edgeId: 'edge-1', receivedAt: r.ts }));
  const load0 = loadavg()[0]!;
  const noModel = new ReadingStore(32, 200_000);
  t = performance.now();
  readings.forEach((r, i) => noModel.add(r.meterId, values[i]!, r.ts));
  const centralNoModel = readings.length / ((performance.now() - t) / 1000);
  let lastTs = 0;
  let lastWall = performance.now();
  const clock: Clock = { now: () => Math.round(lastTs + (performance.now() - lastWall)) };
  let produced = 0;
  const part = new LearnedPart({ modelDir: DEFAULT_MODEL_DIR, anomaliesTopic: 'bench.grid.anomalies', producer: { connect: async () => {}, disconnect: async () => {}, send: async (tr) => void (produced += tr[0]!.records.length) }, instanceId: 'bench', logger: silentLogger(), metrics: new Metrics('bench', { defaultMetrics: false }), clock });
  await part.start();
  const withModel = new ReadingStore(32, 200_000);
  t = performance.now();
  readings.forEach((r, i) => {
    if (r.ts > lastTs) {
      lastTs = r.ts;
      lastWall = performance.now();
    }
    withModel.add(r.meterId, values[i]!, r.ts);
    part.onReading(values[i]!);
  });
  await part.scorer.flush();
  const centralWithModel = readings.length / ((performance.now() - t) / 1000);
  const delays = [...part.scorer.delaysMs].sort((a, b) => a - b);
  const p95 = delays.length > 0 ? delays[Math.min(delays.length - 1, Math.floor(0.95 * delays.length))]! : null;
  await part.stop(Date.now() + 5000);

  // The delay figure: from the last reading of the window that opened an anomaly (of any meter in
  // it; from the anomaly's own meter's in the details: the meters read at different seconds) to
  // the anomaly. A window closes when it is complete, at its meters' last readings (features.ts);
  // the grace for late readings (lateMs, learnedLateMs) only holds back an incomplete one. Then it
  // waits for its batch (at most maxWaitMs) and inference. The model compares each meter with its
  // previous days, so this runs a grid of its own for two days (the training plan's faults on day
  // 2, faultsOf): day 1 flat out, then day 2 00:00-16:00 (the faults start in it) one tick of all
  // meters at a time; the clock is the tick's newest event time plus the wall time since it was fed, and
  // after each window's last tick the feed pauses (longer than the scorer needs), so the delay is
  // the scorer's own wall time, not a backlog.
  const pause = 500;
  const lateMs = LATE_MS_DEFAULT;
  const dTopo = generateTopology({ meters: 100, seed: 7, substations: 1, readingIntervalMs: intervalMs });
  const dWhere = new Map(dTopo.actual.map((e) => [e.meterId, e]));
  const dSim = createSimulation({ topology: dTopo.actual, faults: faultsOf(7, dTopo.actual.map((e) => e.meterId), [...new Set(dTopo.actual.map((e) => e.transformerId))]), from, to: from + DAY + 16 * HOUR, intervalMs, seed: 7 });
  const dReadings: { ts: number; value: string }[] = [];
  for (const item of dSim.items()) {
    if (item.kind !== 'reading') continue;
    const e = dWhere.get(item.meterId)!;
    const r = item.reading;
    dReadings.push({ ts: r.ts as number, value: JSON.stringify({ meterId: r.meterId, transformerId: e.transformerId, feederId: e.feederId, substationId: e.substationId, ts: r.ts, voltage: r.voltage, power: r.power, readingId: `${r.meterId}:${r.ts}`, seq: 0, edgeId: 'edge-1', receivedAt: r.ts }) });
  }
  let tickTs = 0;
  let tickWall = performance.now();
  const pacedClock: Clock = { now: () => Math.round(tickTs + (performance.now() - tickWall)) };
  const paced = new LearnedPart({ modelDir: DEFAULT_MODEL_DIR, anomaliesTopic: 'bench.grid.anomalies', producer: { connect: async () => {}, disconnect: async () => {}, send: async () => {} }, instanceId: 'bench-paced', logger: silentLogger(), metrics: new Metrics('bench', { defaultMetrics: false }), clock: pacedClock });
  await paced.start();
  let warm = 0;
  let warmed = false;
  for (let i = 0; i < dReadings.length; ) {
    const ts = dReadings[i]!.ts;
    let j = i;
    while (j < dReadings.length && dReadings[j]!.ts - ts < intervalMs) j++;
    const live = ts >= from + DAY;
    if (live && !warmed) {
      warmed = true;
      // Let the scorer finish the warm-up's windows first (every window built is scored or dropped).
      for (let c = paced.scorer.counters; c.scored + c.rowsDropped + c.overloaded < c.rows; c = paced.scorer.counters) await new Promise((r) => setTimeout(r, 100));
      warm = paced.scorer.delaysMs.length;
    }
    tickTs = dReadings[j - 1]!.ts; // meters of a tick read at different seconds: the clock is at least the newest
    tickWall = performance.now();
    for (let k = i; k < j; k++) paced.onReading(dReadings[k]!.value);
    i = j;
    if (live && (((ts + intervalMs) % 600_000) + 600_000) % 600_000 < intervalMs) await new Promise((r) => setTimeout(r, pause));
    else await new Promise((r) => setImmediate(r));
  }
  const pacedDelays = paced.scorer.delaysMs.slice(warm).sort((a, b) => a - b);
  const meterDelays = paced.scorer.meterDelaysMs.slice(warm).sort((a, b) => a - b);
  const meterP95 = meterDelays.length > 0 ? meterDelays[Math.min(meterDelays.length - 1, Math.floor(0.95 * meterDelays.length))]! : null;
  const pacedP95 = pacedDelays.length > 0 ? pacedDelays[Math.min(pacedDelays.length - 1, Math.floor(0.95 * pacedDelays.length))]! : null;
  await paced.stop(Date.now() + 5000);

  const figures: BenchFigure[] = [
    { id: 'learn.central.readings_with_model', figure: 'central reading path with learned scoring (store + parse + features + batched inference)', value: Math.round(centralWithModel), unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'central reading path without a model (same run)', value: Math.round(centralNoModel) }, ratio: Math.round((centralWithModel / centralNoModel) * 1000) / 1000, goal: { text: '>= 100,000 feature updates/s per instance', on: 'value', min: 100_000 } },
    { id: 'learn.features', figure: 'feature updates alone (FeatureBuilder)', value: Math.round(features), unit: 'readings/s', higherIsBetter: true, yardstick: { name: 'per-meter running sums', value: Math.round(yardstick) }, ratio: Math.round((features / yardstick) * 1000) / 1000, goal: { text: '>= 100,000 readings/s', on: 'value', min: 100_000 } },
  ];
  // Not a figure: the feed here runs flat out, far faster than event time, so the scorer's backlog
  // (not a live feed's delay) dominates; kept in the details for comparison between runs.
  const out = {
    figures,
    load: { loadavg1Start: load0, loadavg1End: loadavg()[0]!, cpus: cpus().length },
    centralNoModelReadingsPerSec: Math.round(centralNoModel),
    centralWithModelReadingsPerSec: Math.round(centralWithModel),
    learnedAnomaliesProduced: produced,
    backlogWindowToAnomalyP95Ms: p95 === null ? null : Math.round(p95),
    lastReadingToAnomaly: { anomalies: pacedDelays.length, p95Ms: pacedP95 === null ? null : Math.round(pacedP95), maxMs: pacedDelays.length > 0 ? Math.round(pacedDelays[pacedDelays.length - 1]!) : null, graceMs: lateMs, pauseMs: pause, fromOwnMeterLastReadingP95Ms: meterP95 === null ? null : Math.round(meterP95) },
    readings: readings.length,
    windows: rows,
    yardstickReadingsPerSec: Math.round(yardstick),
    featureReadingsPerSec: Math.round(features),
    scorerReadingsPerSec: Math.round(scored),
    featureVsYardstick: Math.round((features / yardstick) * 1000) / 1000,
    scorerVsYardstick: Math.round((scored / yardstick) * 1000) / 1000,
    batches: counters.batches,
    windowsScored: counters.scored,
    anomaliesOpened: anomalies,
  };
  log(JSON.stringify(out));
  return out;
}
