/**
 * Reference bins for feature drift (central/learn/psi.ts), computed at train time from the
 * training set central/learn/dataset.ts wrote: for each feature the deciles of the training grids'
 * healthy windows (label 0: what a healthy grid serves most of the time) as bin edges, and the
 * share of those windows in each bin. `gridwatch train` calls writeReference after train.py and
 * adds them to manifest.json as `reference` (the version is the sha256 of model.onnx, not of the
 * manifest, so it does not change).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureReference, ModelReference } from './model-file.ts';
import { binOf } from './psi.ts';

const QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Bins of one feature's values: distinct decile edges, and the share of the values in each bin. */
export function featureReference(values: Float64Array | number[]): FeatureReference {
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (const q of QUANTILES) {
    const x = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    // Rounded so the manifest stays readable; float32 features do not carry more digits anyway.
    const e = Number(x.toPrecision(7));
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of sorted) counts[binOf(edges, x)]!++;
  return { edges, fractions: counts.map((c) => Number((c / Math.max(1, sorted.length)).toFixed(6))) };
}

/** Reference of every feature from rows of `width` columns, the first `features.length` the features, `labelColumn` the label. */
export function referenceFromRows(data: Float32Array, width: number, features: readonly string[], labelColumn: number): ModelReference {
  const rows = data.length / width;
  const healthy: number[] = [];
  for (let i = 0; i < rows; i++) if (data[i * width + labelColumn] === 0) healthy.push(i);
  const out: Record<string, FeatureReference> = {};
  features.forEach((name, k) => {
    const v = new Float64Array(healthy.length);
    healthy.forEach((i, j) => (v[j] = data[i * width + k]!));
    out[name] = featureReference(v);
  });
  return { rows: healthy.length, source: 'healthy windows of the training grids (label 0), deciles', features: out };
}

/** Adds the reference of `dataDir`'s training set to `outDir`/manifest.json. */
export function writeReference(dataDir: string, outDir: string): ModelReference {
  const meta = JSON.parse(readFileSync(join(dataDir, 'dataset.json'), 'utf8')) as { columns: string[] };
  const buf = readFileSync(join(dataDir, 'train.f32'));
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const label = meta.columns.indexOf('label');
  const reference = referenceFromRows(data, meta.columns.length, meta.columns.slice(0, label), label);
  const file = join(outDir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...manifest, reference }, null, 1) + '\n');
  return reference;
}
