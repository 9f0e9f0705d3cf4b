import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validators, type Anomaly } from '../../../shared/index.ts';
import { FEATURE_COUNT, FEATURES, FeatureBuilder } from '../../../central/learn/features.ts';
import { faultsOf } from '../../../central/learn/dataset.ts';
import { loadModelDir } from '../../../central/learn/model-file.ts';
import { LearnedScorer } from '../../../central/learn/scorer.ts';
import { DEFAULT_MODEL_DIR } from '../../../central/learn/train-main.ts';
import { createSimulation } from '../../../simulator/generate.ts';
import { generateTopology } from '../../../simulator/topology.ts';

const DAY = 86_400_000;
const tmp = mkdtempSync(join(tmpdir(), 'gw-learn-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('learned scorer with the shipped model (real onnxruntime)', () => {
  it('reproduces the scores scikit-learn gave for the manifest check rows', async () => {
    const { manifest } = loadModelDir(DEFAULT_MODEL_DIR);
    const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: () => {} });
    await scorer.start();
    const scores = await scorer.scoreRows(manifest.check!.rows);
    await scorer.stop();
    expect(scores.length).toBe(40);
    scores.forEach((s, i) => expect(Math.abs(s - manifest.check!.scores[i]!)).toBeLessThan(1e-4));
    // And the check rows are told apart at the threshold as their labels say, mostly.
    const right = manifest.check!.labels.filter((l, i) => (scores[i]! > manifest.threshold ? 1 : 0) === l).length;
    expect(right).toBeGreaterThanOrEqual(34);
  });

  it('opens pattern anomalies on a held-out grid, on faulted meters, with score, threshold and version, and closes them', async () => {
    const topo = generateTopology({ meters: 200, seed: 401, profile: 'eu', substations: 1, readingIntervalMs: 60_000 });
    const meters = topo.actual.map((e) => e.meterId);
    const from = Date.UTC(2026, 10, 1);
    const sim = createSimulation({ topology: topo.actual, faults: faultsOf(401, meters, [...new Set(topo.actual.map((e) => e.transformerId))]), from, to: from + 2 * DAY, intervalMs: 60_000, seed: 401 });
    const faulted = new Set(sim.faults.flatMap((f) => f.meters));
    const seen: Anomaly[] = [];
    const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: (a) => seen.push(a), nominalOf: () => 230 });
    await scorer.start();
    const where = new Map(topo.actual.map((e) => [e.meterId, e]));
    for (const item of sim.items()) {
      if (item.kind !== 'reading') continue;
      const e = where.get(item.meterId)!;
      scorer.add({ meterId: item.meterId, ts: item.reading.ts as number, voltage: item.reading.voltage, power: item.reading.power, transformerId: e.transformerId, feederId: e.feederId, substationId: e.substationId });
    }
    await scorer.flush();
    await scorer.stop();
    const opened = seen.filter((a) => a.state === 'open');
    expect(opened.length).toBeGreaterThan(0);
    for (const a of seen) {
      expect(validators.anomaly.check(a)).toBe(true);
      expect(a).toMatchObject({ type: 'pattern', threshold: scorer.threshold, modelVersion: scorer.version });
      expect(Number.isFinite(a.score)).toBe(true);
    }
    for (const a of opened) expect(a.score!).toBeGreaterThan(scorer.threshold);
    const onFaulted = opened.filter((a) => faulted.has(a.meterId));
    const found = (f: (typeof sim.faults)[number]) => f.meters.filter((m) => opened.some((a) => a.meterId === m && a.startTs + 600_000 > f.startTs && a.startTs < f.endTs)).length / f.meters.length;
    const perFault = sim.faults.map((f) => `${f.type} ${found(f).toFixed(2)}`);
    console.log(`learned scorer on grid 401: ${opened.length} opened, ${onFaulted.length} on faulted meters; found per fault: ${perFault.join(', ')}`);
    expect(onFaulted.length / opened.length).toBeGreaterThanOrEqual(0.75);
    for (const f of sim.faults) expect(found(f), f.faultId).toBeGreaterThanOrEqual(f.scope === 'meter' ? 1 : 0.5);
    expect(seen.some((a) => a.state === 'closed')).toBe(true);
    expect(scorer.counters).toMatchObject({ inferenceFailures: 0, late: 0, bad: 0 });
    expect(scorer.counters.scored).toBe(scorer.counters.rows);
  }, 120_000);
});

describe('bad input and bad models', () => {
  it('scores the rest of a queue after a full batch went, without waiting for more windows', async () => {
    const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: () => {}, batchSize: 4, maxWaitMs: 50 });
    await scorer.start();
    const rows = Array.from({ length: 6 }, (_, i) => ({ meterId: `m${i}`, transformerId: 't1', feederId: 'f1', windowStart: 0, lastTs: 540_000, windowLastTs: 540_000, values: new Float32Array(FEATURE_COUNT) }));
    (scorer as unknown as { enqueue(r: typeof rows): void }).enqueue(rows);
    const until = Date.now() + 10_000;
    while (scorer.counters.scored < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(scorer.counters.scored).toBe(6);
    await scorer.stop();
  });

  it('skips and counts windows with missing channels; a non-finite voltage is counted, never a NaN feature', () => {
    const fb = new FeatureBuilder({ windowMs: 600_000, intervalMs: 60_000, lateMs: 0 });
    const base = { transformerId: 't1', feederId: 'f1' };
    for (let i = 0; i < 10; i++) {
      fb.add({ ...base, meterId: 'm-full', ts: i * 60_000, voltage: 231, power: 1 + i / 10 });
      fb.add({ ...base, meterId: 'm-nopower', ts: i * 60_000, voltage: 231 });
      fb.add({ ...base, meterId: 'm-bad', ts: i * 60_000, voltage: Number.NaN, power: 1 });
    }
    const rows = fb.add({ ...base, meterId: 'm-full', ts: 600_000, voltage: 231, power: 1 });
    expect(rows.map((r) => r.meterId)).toEqual(['m-full']);
    expect(rows[0]!.values.length).toBe(FEATURE_COUNT);
    expect(rows[0]!.values.every((v) => Number.isFinite(v))).toBe(true);
    expect(fb.counters).toMatchObject({ partial: 1, bad: 10, rows: 1 });
    fb.add({ ...base, meterId: 'm-full', ts: 5 * 60_000, voltage: 231, power: 1 }); // its window has closed
    expect(fb.counters.late).toBe(1);
  });

  it('refuses a model whose file does not match its manifest version, or whose features differ', () => {
    const dir = join(tmp, 'tampered');
    cpSync(DEFAULT_MODEL_DIR, dir, { recursive: true });
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    expect(() => loadModelDir(dir)).toThrow(/sha256 .* refused/);
    const dir2 = join(tmp, 'features');
    cpSync(DEFAULT_MODEL_DIR, dir2, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir2, 'manifest.json'), 'utf8'));
    m.features = m.features.slice(1);
    writeFileSync(join(dir2, 'manifest.json'), JSON.stringify(m));
    expect(() => loadModelDir(dir2)).toThrow(`missing: ${FEATURES[0]}`);
  });

  it('takes a batch whose inference fails out of service, counts it, and scores the next batch', async () => {
    const { manifest } = loadModelDir(DEFAULT_MODEL_DIR);
    const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: () => {}, batchSize: 1 });
    await scorer.start();
    const row = manifest.check!.rows[0]!;
    const fb = { meterId: 'm1', transformerId: 't1', feederId: 'f1', windowStart: 0, values: Float32Array.from(row) };
    // Through the batch path: the worker dies (as a native crash in onnxruntime would) while the
    // first batch is in flight; the next batch is scored by a new worker.
    (scorer as unknown as { enqueue(rows: unknown[]): void }).enqueue([fb]);
    await scorer.crashWorkerForTest();
    await scorer.flush();
    expect(scorer.counters).toMatchObject({ inferenceFailures: 1, rowsDropped: 1, batches: 0 });
    (scorer as unknown as { enqueue(rows: unknown[]): void }).enqueue([fb]);
    await scorer.flush();
    expect(scorer.counters).toMatchObject({ inferenceFailures: 1, batches: 1, scored: 1 });
    await scorer.stop();
  });
  it('bounds the windows waiting for inference: those past maxPendingRows are counted as overloaded, the rest scored', async () => {
    const { manifest } = loadModelDir(DEFAULT_MODEL_DIR);
    const logged: string[] = [];
    const logger = { info: () => {}, debug: () => {}, error: () => {}, warn: (_o: unknown, msg: string) => logged.push(msg), child: () => logger } as never;
    const scorer = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: () => {}, batchSize: 4, maxPendingRows: 10, logger });
    await scorer.start();
    const row = (i: number) => ({ meterId: `m${i}`, transformerId: 't1', feederId: 'f1', windowStart: 0, values: Float32Array.from(manifest.check!.rows[i % 40]!) });
    const enqueue = (rows: unknown[]) => (scorer as unknown as { enqueue(rows: unknown[]): void }).enqueue(rows);
    // 8 then 8 more while none is scored yet (the batches wait on the worker): 2 of the second 8 fit.
    enqueue(Array.from({ length: 8 }, (_, i) => row(i)));
    enqueue(Array.from({ length: 8 }, (_, i) => row(8 + i)));
    expect(scorer.counters.overloaded).toBe(6);
    expect(logged.some((m) => m.includes('not scored (counted as overloaded)'))).toBe(true);
    await scorer.flush();
    expect(scorer.counters).toMatchObject({ scored: 10, overloaded: 6, rowsDropped: 0 });
    // Once scored, there is room again.
    enqueue(Array.from({ length: 10 }, (_, i) => row(i)));
    await scorer.flush();
    expect(scorer.counters).toMatchObject({ scored: 20, overloaded: 6 });
    await scorer.stop();
  });
});
