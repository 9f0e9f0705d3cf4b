import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../../../central/learn/train-main.ts';

// Needs python3 on PATH and PyPI (first run only): `train` creates the venv from
// central/learn/requirements.txt itself and throws (failing this test) if it cannot.
const reference = JSON.parse(readFileSync(new URL('./quick-reference.json', import.meta.url), 'utf8')) as { version: string; family: string; threshold: number; checkScores: number[]; test: { rocAuc: number } };
const out = mkdtempSync(join(tmpdir(), 'gw-train-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * Scores may differ by float rounding across machines and BLAS builds; 1e-6 is far below any
 * threshold decision. The file itself (its sha256, the version) is reproducible on one machine
 * with the same packages: train.py fixes the one thing skl2onnx draws at random (the graph name, a
 * uuid), the seeds fix scikit-learn, and OMP_NUM_THREADS=1 the thread count; two `--quick` runs on
 * the shared 2-core machine gave the same sha256 (38ceb73e..., quick-reference.json's version).
 * It is not asserted: another CPU or numpy build may round a split threshold differently, which
 * changes bytes without changing a decision; the scores are the contract.
 */
const TOLERANCE = 1e-6;

describe('gridwatch train --quick', () => {
  it('retrains from the seeds and reproduces the reference scores, threshold and figures', () => {
    train({ quick: true, out });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.family).toBe(reference.family);
    expect(Math.abs(m.threshold - reference.threshold)).toBeLessThan(TOLERANCE);
    expect(m.check.scores).toHaveLength(reference.checkScores.length);
    m.check.scores.forEach((s: number, i: number) => expect(Math.abs(s - reference.checkScores[i]!)).toBeLessThan(TOLERANCE));
    expect(Math.abs(m.evaluation[m.family].test.rocAuc - reference.test.rocAuc)).toBeLessThan(1e-3);
    expect(m.features.length).toBeGreaterThan(20);
    expect(m.version).toMatch(/^[0-9a-f]{64}$/);
  }, 600_000);
});
