/**
 * Training, validation and test sets from seeded simulated grids. Each grid runs two days: the
 * first healthy (the hour-of-day baselines learn it), the second with subtle faults on meters and
 * a transformer drawn from the grid's seed. Rows of the second day only are kept. The three sets
 * use different seeds, so their grids, customers and faulted devices differ: the faults a model is
 * judged on were held out from its training.
 *
 * Output: `{set}.f32` (rows x columns, float32, little-endian) and `dataset.json` naming the
 * columns (the features, then label, fault type code, grid index).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultSpec } from '../../simulator/faults.ts';
import { createSimulation } from '../../simulator/generate.ts';
import { Rng } from '../../simulator/rng.ts';
import { SUBTLE_FAULT_TYPES, subtleVisibleAt } from '../../simulator/subtle-faults.ts';
import { generateTopology, type GridProfile } from '../../simulator/topology.ts';
import { FEATURE_COUNT, FEATURES, FeatureBuilder, type FeatureRow } from './features.ts';

export interface GridSpec { seed: number; profile: GridProfile }
export interface DatasetPlan {
  meters: number;
  intervalMs: number;
  windowMs: number;
  /** Start of day 1 (UTC midnight). */
  from: number;
  train: GridSpec[];
  validation: GridSpec[];
  test: GridSpec[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

export const FULL_PLAN: DatasetPlan = {
  meters: 200,
  intervalMs: 60_000,
  windowMs: 600_000,
  from: Date.UTC(2026, 10, 1),
  train: [{ seed: 101, profile: 'eu' }, { seed: 102, profile: 'na' }, { seed: 103, profile: 'eu' }, { seed: 104, profile: 'na' }],
  validation: [{ seed: 201, profile: 'eu' }, { seed: 202, profile: 'na' }],
  test: [{ seed: 301, profile: 'eu' }, { seed: 302, profile: 'na' }],
};

/** Small enough for a test (seconds), same shape. */
export const QUICK_PLAN: DatasetPlan = { ...FULL_PLAN, meters: 80, train: [{ seed: 11, profile: 'eu' }, { seed: 12, profile: 'na' }], validation: [{ seed: 21, profile: 'na' }], test: [{ seed: 31, profile: 'eu' }] };

/**
 * Subtle faults of one grid on its second day, targets drawn from the seed (two of each meter kind,
 * one transformer). `training`: two more night loads of other sizes (0.3-0.9 x the customer's peak)
 * and spans, drawn after the others so that those stay the same: eight meters with a night load in
 * the four training grids taught the model one size of it, and it missed a smaller one on a
 * held-out grid. Validation and test grids never get them (their figures stay comparable).
 */
export function faultsOf(seed: number, meterIds: readonly string[], transformerIds: readonly string[], o: { training?: boolean } = {}): FaultSpec[] {
  const rng = new Rng(seed ^ 0x1ea7);
  const pool = [...meterIds];
  const take = () => pool.splice(rng.int(0, pool.length - 1), 1)[0]!;
  const day2 = DAY;
  const specs: FaultSpec[] = [];
  for (let i = 0; i < 2; i++) {
    specs.push({ type: 'neutral', target: take(), start: day2 + rng.int(0, 6) * HOUR, duration: 18 * HOUR });
    specs.push({ type: 'diversion', target: take(), start: day2 + rng.int(2, 10) * HOUR, duration: rng.int(8, 12) * HOUR });
    specs.push({ type: 'pv_inverter', target: take(), start: day2 + 8 * HOUR, duration: 8 * HOUR });
    specs.push({ type: 'load_profile', target: take(), start: day2 + rng.int(0, 1) * HOUR, duration: 5 * HOUR });
  }
  specs.push({ type: 'transformer_degrading', scope: 'transformer', target: rng.pick([...transformerIds]), start: day2 + rng.int(4, 8) * HOUR, duration: 14 * HOUR });
  if (o.training) {
    for (let i = 0; i < 2; i++) specs.push({ type: 'load_profile', target: take(), start: day2 + rng.int(0, 2) * HOUR, duration: rng.int(3, 5) * HOUR, magnitude: 0.3 + rng.int(0, 6) / 10 });
  }
  return specs;
}

export interface BuiltSet { rows: number; positives: number; data: Float32Array }

/** Feature rows of one grid, labelled by the truth: positive while a fault is visible at the window's middle. */
export function gridRows(plan: DatasetPlan, grid: GridSpec, gridIndex: number, training = false): { rows: FeatureRow[]; labels: number[]; types: number[] } {
  const topo = generateTopology({ meters: plan.meters, seed: grid.seed, profile: grid.profile, substations: 1, readingIntervalMs: plan.intervalMs });
  const meterIds = topo.actual.map((e) => e.meterId);
  const transformerIds = [...new Set(topo.actual.map((e) => e.transformerId))];
  const sim = createSimulation({ topology: topo.actual, faults: faultsOf(grid.seed, meterIds, transformerIds, { training }), from: plan.from, to: plan.from + 2 * DAY, intervalMs: plan.intervalMs, seed: grid.seed });
  const nominal = new Map(topo.actual.map((e) => [e.meterId, e.nominalVoltage]));
  const fb = new FeatureBuilder({ windowMs: plan.windowMs, intervalMs: plan.intervalMs, lateMs: 2 * plan.intervalMs, nominalOf: (m) => nominal.get(m) });
  const where = new Map(topo.actual.map((e) => [e.meterId, e]));
  const out: FeatureRow[] = [];
  for (const item of sim.items()) {
    if (item.kind !== 'reading') continue;
    const e = where.get(item.meterId)!;
    out.push(...fb.add({ meterId: item.meterId, transformerId: e.transformerId, feederId: e.feederId, substationId: e.substationId, ts: item.reading.ts as number, voltage: item.reading.voltage, power: item.reading.power }));
  }
  out.push(...fb.closeUpTo());
  const faultsByMeter = new Map<string, typeof sim.faults>();
  for (const f of sim.faults) for (const m of f.meters) (faultsByMeter.get(m) ?? faultsByMeter.set(m, []).get(m)!).push(f);
  const rows: FeatureRow[] = [];
  const labels: number[] = [];
  const types: number[] = [];
  for (const r of out) {
    if (r.windowStart < plan.from + DAY) continue;
    const mid = r.windowStart + plan.windowMs / 2;
    const f = (faultsByMeter.get(r.meterId) ?? []).find((x) => subtleVisibleAt(x, mid));
    rows.push(r);
    labels.push(f ? 1 : 0);
    types.push(f ? 1 + SUBTLE_FAULT_TYPES.indexOf(f.type as (typeof SUBTLE_FAULT_TYPES)[number]) : 0);
  }
  void gridIndex;
  return { rows, labels, types };
}

export const COLUMNS = [...FEATURES, 'label', 'fault_type', 'grid'] as const;

export function buildSet(plan: DatasetPlan, grids: readonly GridSpec[], training = false): BuiltSet {
  const parts = grids.map((g, i) => ({ ...gridRows(plan, g, i, training), grid: i }));
  const total = parts.reduce((s, p) => s + p.rows.length, 0);
  const width = COLUMNS.length;
  const data = new Float32Array(total * width);
  let at = 0;
  let positives = 0;
  for (const p of parts) {
    p.rows.forEach((r, i) => {
      data.set(r.values, at);
      data[at + FEATURE_COUNT] = p.labels[i]!;
      data[at + FEATURE_COUNT + 1] = p.types[i]!;
      data[at + FEATURE_COUNT + 2] = p.grid;
      positives += p.labels[i]!;
      at += width;
    });
  }
  return { rows: total, positives, data };
}

export function writeDataset(dir: string, plan: DatasetPlan): Record<string, { rows: number; positives: number }> {
  const summary: Record<string, { rows: number; positives: number }> = {};
  for (const set of ['train', 'validation', 'test'] as const) {
    const built = buildSet(plan, plan[set], set === 'train');
    writeFileSync(join(dir, `${set}.f32`), Buffer.from(built.data.buffer, built.data.byteOffset, built.data.byteLength));
    summary[set] = { rows: built.rows, positives: built.positives };
  }
  writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ columns: COLUMNS, faultTypes: ['none', ...SUBTLE_FAULT_TYPES], plan, sets: summary }, null, 2) + '\n');
  return summary;
}
