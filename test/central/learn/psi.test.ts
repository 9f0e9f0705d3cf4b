// PSI drift: reference bins from training rows, the index itself, the served-side tracker, and
// that a manifest without bins serves with PSI skipped (a logged note) while one with bins
// exports a gauge per model version and feature.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURES } from '../../../central/learn/features.ts';
import { DEFAULT_MODEL_DIR, loadModelDir } from '../../../central/learn/model-file.ts';
import { LearnedPart } from '../../../central/learn/part.ts';
import { binOf, psi, PsiTracker } from '../../../central/learn/psi.ts';
import { featureReference, referenceFromRows, writeReference } from '../../../central/learn/reference.ts';
import { Rng } from '../../../simulator/rng.ts';
import { Metrics, silentLogger } from '../../../shared/index.ts';
import { variantModel } from './registry-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gw-psi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const normal = (rng: Rng, mean: number, sd: number) => mean + sd * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

describe('population stability index', () => {
  it('bins by deciles; PSI is near 0 for the same distribution and over 0.25 for a shifted one', () => {
    const rng = new Rng(5);
    const ref = featureReference(Array.from({ length: 20_000 }, () => normal(rng, 0, 1)));
    expect(ref.edges).toHaveLength(9);
    ref.fractions.forEach((f) => expect(Math.abs(f - 0.1)).toBeLessThan(0.01));
    const count = (xs: number[]) => {
      const c = new Array<number>(ref.fractions.length).fill(0);
      for (const x of xs) c[binOf(ref.edges, x)]!++;
      return c;
    };
    const same = psi(ref.fractions, count(Array.from({ length: 5000 }, () => normal(rng, 0, 1))));
    const shifted = psi(ref.fractions, count(Array.from({ length: 5000 }, () => normal(rng, 1, 1))));
    expect(same).toBeLessThan(0.02);
    expect(shifted).toBeGreaterThan(0.25);
    // A two-valued feature (has_baseline) gets its two bins, nothing in between.
    const flag = featureReference([...new Array(300).fill(0), ...new Array(700).fill(1)]);
    expect(flag).toEqual({ edges: [0, 1], fractions: [0.3, 0.7, 0] });
  });

  it('the tracker follows the served windows: stable, then drifting on the feature that moved only', () => {
    const rng = new Rng(9);
    const names = ['a', 'b'];
    const train = new Float32Array(4000 * 3);
    for (let i = 0; i < 4000; i++) train.set([normal(rng, 0, 1), normal(rng, 5, 2), i % 10 === 0 ? 1 : 0], i * 3);
    const reference = referenceFromRows(train, 3, names, 2);
    expect(reference.rows).toBe(3600); // the healthy rows only
    const t = new PsiTracker(names, reference, 1000);
    expect(t.values().size).toBe(0); // too few rows to judge
    for (let i = 0; i < 2000; i++) t.add([normal(rng, 0, 1), normal(rng, 5, 2)]);
    expect(t.values().get('a')!).toBeLessThan(0.05);
    for (let i = 0; i < 2000; i++) t.add([normal(rng, 0, 1), normal(rng, 9, 2)]);
    const v = t.values();
    expect(v.get('a')!).toBeLessThan(0.05);
    expect(v.get('b')!).toBeGreaterThan(0.25);
  });

  it('writeReference adds bins for every feature to a manifest from a training set (what gridwatch train calls)', () => {
    const dir = join(tmp, 'train');
    const m = variantModel(join(tmp, 'out'), 11);
    const columns = [...FEATURES, 'label', 'fault_type', 'grid'];
    const rng = new Rng(3);
    const data = new Float32Array(500 * columns.length).map((_, i) => (i % columns.length === FEATURES.length ? 0 : normal(rng, 0, 1)));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'train.f32'), Buffer.from(data.buffer));
    writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ columns }));
    writeReference(dir, m.dir);
    const loaded = loadModelDir(m.dir);
    expect(loaded.manifest.version).toBe(m.version); // the version is the file's, unchanged
    expect(Object.keys(loaded.manifest.reference!.features)).toEqual([...FEATURES]);
    expect(loaded.manifest.reference!.rows).toBe(500);
    expect(JSON.parse(readFileSync(join(m.dir, 'manifest.json'), 'utf8')).threshold).toBe(m.manifest.threshold);
  });
});

describe('PSI in the learned part', () => {
  const producer = { connect: async () => {}, disconnect: async () => {}, send: async () => {} };
  const check = loadModelDir(DEFAULT_MODEL_DIR).manifest.check!;

  it('a manifest without bins: PSI skipped with a logged note; with bins: a gauge per version and feature', async () => {
    const notes: string[] = [];
    const logger = { error: () => {}, warn: () => {}, debug: () => {}, info: (_o: unknown, msg: string) => void notes.push(msg), child: () => logger } as never;
    const metrics = new Metrics('central', { defaultMetrics: false });
    const noBins = variantModel(join(tmp, 'nobins'), 13, { reference: undefined });
    expect(loadModelDir(noBins.dir).manifest.reference).toBeUndefined();
    const plain = new LearnedPart({ modelDir: noBins.dir, anomaliesTopic: 't', producer, instanceId: 'i', logger, metrics, flushMs: 60_000 });
    await plain.start();
    expect(notes.some((n) => /no reference bins; PSI drift not computed/.test(n))).toBe(true);
    expect(await metrics.text()).not.toMatch(/gridwatch_learned_feature_psi\{/);
    await plain.stop(Date.now() + 1000);

    // Bins from the check rows' distribution; then far-off rows are served: PSI high on the first feature.
    const rows = new Float32Array(check.rows.length * 3 * (FEATURES.length + 1));
    const width = FEATURES.length + 1;
    for (let k = 0; k < 3; k++) check.rows.forEach((r, i) => rows.set([...r, 0], (k * check.rows.length + i) * width));
    const reference = referenceFromRows(rows, width, FEATURES, FEATURES.length);
    const withBins = variantModel(join(tmp, 'bins'), 12, { reference });
    const metrics2 = new Metrics('central', { defaultMetrics: false });
    const part = new LearnedPart({ modelDir: withBins.dir, anomaliesTopic: 't', producer, instanceId: 'i', logger: silentLogger(), metrics: metrics2, flushMs: 60_000, batchSize: 1000 });
    await part.start();
    const drifted = check.rows[0]!.map((x, j) => (j === 0 ? x + 0.2 : x));
    const enqueue = (part.scorer as unknown as { enqueue(r: unknown[]): void }).enqueue.bind(part.scorer);
    enqueue(Array.from({ length: 600 }, (_, i) => ({ meterId: `m${i % 50}`, transformerId: 't', feederId: 'f', windowStart: i * 600_000, values: Float32Array.from(drifted), substationId: null })));
    await part.scorer.flush();
    const text = await metrics2.text();
    const v = withBins.version.slice(0, 12);
    const value = (feature: string) => Number(new RegExp(`gridwatch_learned_feature_psi\\{model_version="${v}",feature="${feature}"[^}]*\\} ([0-9.e+-]+)`).exec(text)?.[1]);
    expect(value(FEATURES[0])).toBeGreaterThan(0.25);
    expect(text).toMatch(new RegExp(`gridwatch_learned_model_role\\{model_version="${v}",role="active"`));
    await part.stop(Date.now() + 1000);
  });
});
