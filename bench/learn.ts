/**
 * Learned scoring throughput: feature updates per second (central/learn/features.ts) and the
 * whole LearnedScorer (features + batched inference in its worker, shipped model), beside a
 * no-model yardstick that only keeps per-meter state for the same readings in the same run.
 * Figures are ratios against the yardstick (the machine is shared); the rates are indications.
 */
import { performance } from 'node:perf_hooks';
import { FeatureBuilder, type FeatureReading } from '../central/learn/features.ts';
import { LearnedScorer } from '../central/learn/scorer.ts';
import { DEFAULT_MODEL_DIR } from '../central/learn/train-main.ts';
import { createSimulation } from '../simulator/generate.ts';
import { generateTopology } from '../simulator/topology.ts';

export async function benchLearn(opts: { readings?: number; log?: (s: string) => void } = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? (() => {});
  const meters = 500;
  const intervalMs = 60_000;
  const ticks = Math.max(20, Math.ceil((opts.readings ?? 300_000) / meters));
  const topo = generateTopology({ meters, seed: 5, substations: 1, readingIntervalMs: intervalMs });
  const where = new Map(topo.actual.map((e) => [e.meterId, e]));
  const from = Date.UTC(2026, 10, 1);
  const sim = createSimulation({ topology: topo.actual, from, to: from + ticks * intervalMs, intervalMs, seed: 5 });
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
  const out = {
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
