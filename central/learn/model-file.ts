/**
 * A model on disk: `model.onnx` and `manifest.json` (written by central/learn/train.py). Loading
 * refuses, with a clear error, a file whose sha256 is not the manifest's version, or a manifest
 * whose features are not exactly the ones central/learn/features.ts builds, in order.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GridwatchError } from '../../shared/errors.ts';
import { FEATURES } from './features.ts';

/** The model the repository ships (`gridwatch train` writes it): central's default. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));

export interface ModelManifest {
  version: string;
  file: string;
  family: string;
  supervised: boolean;
  features: string[];
  windowMs: number;
  intervalMs: number;
  output: { output: string; column: number; sign: number; offset?: number };
  threshold: number;
  thresholdRule: string;
  training: Record<string, unknown>;
  evaluation: Record<string, unknown>;
  check?: { rows: number[][]; scores: number[]; labels: number[] };
  /** Training distribution of each feature (PSI drift); absent in older manifests: PSI is skipped. */
  reference?: ModelReference;
}

export interface LoadedModel {
  manifest: ModelManifest;
  bytes: Uint8Array;
}

/** Reference bins of one feature (central/learn/reference.ts): bin edges and the training share of each bin. */
export interface FeatureReference { edges: number[]; fractions: number[] }
export interface ModelReference { rows: number; source: string; features: Record<string, FeatureReference> }

export function loadModelDir(dir: string): LoadedModel {
  let text: string;
  try {
    text = readFileSync(join(dir, 'manifest.json'), 'utf8');
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `model ${dir}: cannot read manifest.json: ${(err as Error).message}`, { cause: err });
  }
  const manifest = parseManifest(text, `model ${dir}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, manifest.file ?? 'model.onnx'));
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `model ${dir}: cannot read ${manifest.file}: ${(err as Error).message}`, { cause: err });
  }
  return checkModel(manifest, bytes, `model ${dir}`);
}

export function parseManifest(text: string, where: string): ModelManifest {
  let m: ModelManifest;
  try {
    m = JSON.parse(text) as ModelManifest;
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `${where}: manifest.json is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof m !== 'object' || m === null || typeof m.version !== 'string') throw new GridwatchError('CONFIG_INVALID', `${where}: manifest.json has no version`);
  return m;
}

/**
 * The checks every model passes before it serves, from a directory or from the registry (MinIO):
 * the file's sha256 is the manifest's version, the features are this build's, in order, and the
 * threshold is a number. A refusal says which; loading into onnxruntime is the last check (scorer).
 */
export function checkModel(manifest: ModelManifest, bytes: Uint8Array, where: string): LoadedModel {
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.version) throw new GridwatchError('CONFIG_INVALID', `${where}: sha256 of ${manifest.file} is ${sha}, manifest says ${manifest.version}: refused`, { details: { reason: 'sha256' } });
  const missing = FEATURES.filter((f) => !manifest.features?.includes(f));
  const unknown = (manifest.features ?? []).filter((f) => !(FEATURES as readonly string[]).includes(f));
  if (missing.length > 0 || unknown.length > 0 || manifest.features.some((f, i) => f !== FEATURES[i])) {
    throw new GridwatchError('CONFIG_INVALID', `model ${manifest.version.slice(0, 12)}: features do not match this build (missing: ${missing.join(', ') || '-'}; unknown: ${unknown.join(', ') || '-'}; or a different order): refused`, { details: { reason: 'features' } });
  }
  if (!Number.isFinite(manifest.threshold)) throw new GridwatchError('CONFIG_INVALID', `model ${manifest.version.slice(0, 12)}: threshold is not a number`, { details: { reason: 'manifest' } });
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { manifest, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
}
