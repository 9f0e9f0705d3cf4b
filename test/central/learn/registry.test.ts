// The registry's pure logic (the record and its operations) and the scorer's handling of several
// models, of models that cannot load or throw at inference, and of NaN input, with the real
// onnxruntime (the Kafka and MinIO side is registry.int.test.ts's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURES, type FeatureRow } from '../../../central/learn/features.ts';
import { checkModel, DEFAULT_MODEL_DIR, loadModelDir } from '../../../central/learn/model-file.ts';
import { canary, EMPTY_RECORD, parseRecord, promote, rollback, shadow } from '../../../central/learn/registry-record.ts';
import { inCanary, LearnedScorer, shareBucket } from '../../../central/learn/scorer.ts';
import type { Anomaly } from '../../../shared/index.ts';
import { variantModel } from './registry-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gw-registry-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const V1 = 'a'.repeat(64);
const V2 = 'b'.repeat(64);

describe('grid.models record', () => {
  it('promote, shadow, canary and rollback keep the history; bad values are refused with the reason', () => {
    let r = promote(EMPTY_RECORD, V1, 1);
    expect(r).toMatchObject({ active: V1, history: ['default'] });
    r = shadow(r, V2, 2);
    expect(r.shadow).toBe(V2);
    r = promote(r, V2, 3);
    expect(r).toMatchObject({ active: V2, shadow: null, history: ['default', V1] });
    r = rollback(r, 4);
    expect(r).toMatchObject({ active: V1, history: ['default'] });
    expect(() => rollback(rollback(r, 5), 6)).toThrow(/nothing to roll back to/);
    expect(() => promote(r, V1, 7)).toThrow(/active already/);
    expect(() => shadow(r, V1, 7)).toThrow(/is the active one/);
    expect(() => canary(r, { version: V2 }, 7)).toThrow(/no substations and no percentage/);
    expect(canary(r, { version: V2, percent: 20 }, 7).canary).toEqual({ version: V2, percent: 20 });
    expect(parseRecord(JSON.stringify(r))).toEqual(r);
    expect(() => parseRecord('{"active":"abc"}')).toThrow(/active is not a model version/);
    expect(() => parseRecord('nope')).toThrow(/not JSON/);
    expect(() => parseRecord(JSON.stringify({ ...r, canary: { version: V2, percent: 120 } }))).toThrow(/percent is not 0-100/);
  });

  it('a canary share is listed substations plus a stable hash percentage', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `sub-${i}`);
    const in20 = ids.filter((id) => inCanary({ percent: 20 }, id)).length;
    expect(in20).toBeGreaterThan(150);
    expect(in20).toBeLessThan(250);
    expect(ids.every((id) => shareBucket(id) === shareBucket(id))).toBe(true);
    expect(inCanary({ substations: ['sub-7'] }, 'sub-7')).toBe(true);
    expect(inCanary({ substations: ['sub-7'] }, 'sub-8')).toBe(false);
    expect(inCanary({ percent: 100 }, null)).toBe(false);
  });
});

const row = (meterId: string, windowStart: number, values: ArrayLike<number>): FeatureRow => ({ meterId, substationId: null, transformerId: 't1', feederId: 'f1', windowStart, lastTs: windowStart + 540_000, windowLastTs: windowStart + 540_000, values: Float32Array.from(values) }) as FeatureRow;
const enqueue = (s: LearnedScorer, rows: FeatureRow[]) => (s as unknown as { enqueue(r: FeatureRow[]): void }).enqueue(rows);

describe('several models in the scorer (real onnxruntime)', () => {
  const { manifest } = loadModelDir(DEFAULT_MODEL_DIR);
  const healthy = manifest.check!.rows[manifest.check!.labels.indexOf(0)]!;

  it('a canary judges its substations, the active model the others; a shadow opens nothing and is compared', async () => {
    const seen: Anomaly[] = [];
    const s = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: (a) => seen.push(a), batchSize: 1000 });
    await s.start();
    const eager = variantModel(join(tmp, 'eager'), 3, { threshold: -1 });
    const eager2 = variantModel(join(tmp, 'eager2'), 4, { threshold: -1 });
    await s.use({ active: loadModelDir(DEFAULT_MODEL_DIR), canary: { model: loadModelDir(eager.dir), share: { substations: ['sub-c'] } }, shadow: loadModelDir(eager2.dir) });
    // m-c is in the canary substation, m-a is not; both healthy, three windows each.
    s.add({ meterId: 'm-c', ts: 0, voltage: 230, power: 1, transformerId: 't1', feederId: 'f1', substationId: 'sub-c' });
    s.add({ meterId: 'm-a', ts: 0, voltage: 230, power: 1, transformerId: 't2', feederId: 'f1', substationId: 'sub-a' });
    for (let w = 0; w < 3; w++) enqueue(s, [row('m-c', w * 600_000, healthy), row('m-a', w * 600_000, healthy)]);
    await s.flush();
    const opened = seen.filter((a) => a.state === 'open');
    expect(opened.map((a) => [a.meterId, a.modelVersion])).toEqual([['m-c', eager.version]]);
    const cmp = new Map(s.comparisons.map((c) => [c.version, c]));
    expect(cmp.get(eager2.version)).toMatchObject({ role: 'shadow', windows: 6, candidateOnly: 6, bothOver: 0, opens: 2 });
    expect(cmp.get(eager.version)).toMatchObject({ role: 'canary', windows: 3, candidateOnly: 3, opens: 1 });
    // The canary leaves: its open anomaly is closed, nothing stays open for a model that no longer judges.
    await s.use({ active: loadModelDir(DEFAULT_MODEL_DIR) });
    expect(seen.filter((a) => a.state === 'closed').map((a) => [a.meterId, a.modelVersion])).toEqual([['m-c', eager.version]]);
    expect(s.models.map((m) => m.role)).toEqual(['active']);
    await s.stop();
  });

  it('refuses a broken ONNX file, a missing feature and another window; the model in service keeps serving', async () => {
    const s = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: () => {} });
    await s.start();
    const broken = variantModel(join(tmp, 'broken'), 0, {}, Buffer.from('this is not an onnx model, it is a deliberately broken file'));
    await expect(s.use({ active: loadModelDir(broken.dir) })).rejects.toThrow(/refused by onnxruntime/);
    const other = variantModel(join(tmp, 'window'), 5, { windowMs: 300_000 });
    await expect(s.use({ active: loadModelDir(other.dir) })).rejects.toThrow(/window 300000 ms/);
    const noFeature = variantModel(join(tmp, 'nofeature'), 6);
    expect(() => checkModel({ ...noFeature.manifest, features: noFeature.manifest.features.filter((f) => f !== FEATURES[1]) }, noFeature.bytes, 'x')).toThrow(`missing: ${FEATURES[1]}`);
    expect(s.version).toBe(manifest.version);
    const scores = await s.scoreRows(manifest.check!.rows.slice(0, 5));
    scores.forEach((x, i) => expect(Math.abs(x - manifest.check!.scores[i]!)).toBeLessThan(1e-4));
    await s.stop();
  });

  it('a model that throws at inference is out of service for that batch, counted and logged with its version; the active model goes on', async () => {
    const logged: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { error: (obj: Record<string, unknown>, msg: string) => logged.push({ obj, msg }), warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as never;
    const seen: Anomaly[] = [];
    const s = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: (a) => seen.push(a), logger, batchSize: 1000 });
    await s.start();
    // Loads, but its output column does not exist: every batch throws in the worker.
    const throwing = variantModel(join(tmp, 'throws'), 7, { output: { output: 'probabilities', column: 9, sign: 1 } });
    await s.use({ active: loadModelDir(DEFAULT_MODEL_DIR), shadow: loadModelDir(throwing.dir) });
    enqueue(s, [row('m1', 0, healthy), row('m2', 0, healthy)]);
    await s.flush();
    expect(s.counters).toMatchObject({ inferenceFailures: 1, rowsDropped: 0, scored: 2, batches: 1 });
    expect(logged.find((l) => /inference failed/.test(l.msg))?.obj).toMatchObject({ modelVersion: throwing.version, rows: 2 });
    expect(s.comparisons[0]).toMatchObject({ version: throwing.version, failures: 1, windows: 0 });
    // The same model live: its batch is dropped and counted, nothing opens, nothing crashes.
    await s.use({ active: loadModelDir(throwing.dir) });
    enqueue(s, [row('m1', 600_000, healthy)]);
    await s.flush();
    expect(s.counters).toMatchObject({ inferenceFailures: 2, rowsDropped: 1 });
    expect(seen).toEqual([]);
    await s.stop();
  });

  it('NaN readings never reach the model; a NaN feature vector gives a finite score or a counted failure, never a NaN score', async () => {
    const seen: Anomaly[] = [];
    const scores: number[] = [];
    const s = new LearnedScorer({ modelDir: DEFAULT_MODEL_DIR, onAnomaly: (a) => seen.push(a), onScore: (_r, x) => scores.push(x), intervalMs: 60_000 });
    await s.start();
    for (let i = 0; i < 12; i++) {
      s.add({ meterId: 'm-nan', ts: i * 60_000, voltage: Number.NaN, power: 1, transformerId: 't1', feederId: 'f1', substationId: 's1' });
      s.add({ meterId: 'm-nopower', ts: i * 60_000, voltage: 231, power: Number.NaN, transformerId: 't1', feederId: 'f1', substationId: 's1' });
      s.add({ meterId: 'm-ok', ts: i * 60_000, voltage: 231, power: 1 + (i % 3) / 10, transformerId: 't1', feederId: 'f1', substationId: 's1' });
    }
    await s.flush();
    expect(s.counters).toMatchObject({ bad: 12, inferenceFailures: 0 });
    expect(s.counters.partial).toBeGreaterThanOrEqual(1); // m-nopower: no power channel, skipped and counted
    enqueue(s, [row('m-direct', 0, new Array(FEATURE_COUNT).fill(Number.NaN))]);
    await s.flush();
    expect(scores.length).toBeGreaterThan(0);
    expect(scores.every((x) => Number.isFinite(x))).toBe(true);
    expect(s.counters.scored + s.counters.rowsDropped).toBe(s.counters.rows + 1);
    await s.stop();
  });
});
