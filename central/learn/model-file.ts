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
}

export interface LoadedModel {
  manifest: ModelManifest;
  bytes: Uint8Array;
}

export function loadModelDir(dir: string): LoadedModel {
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `model ${dir}: cannot read manifest.json: ${(err as Error).message}`, { cause: err });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, manifest.file ?? 'model.onnx'));
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `model ${dir}: cannot read ${manifest.file}: ${(err as Error).message}`, { cause: err });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.version) throw new GridwatchError('CONFIG_INVALID', `model ${dir}: sha256 of ${manifest.file} is ${sha}, manifest says ${manifest.version}: refused`);
  const missing = FEATURES.filter((f) => !manifest.features?.includes(f));
  const unknown = (manifest.features ?? []).filter((f) => !(FEATURES as readonly string[]).includes(f));
  if (missing.length > 0 || unknown.length > 0 || manifest.features.some((f, i) => f !== FEATURES[i])) {
    throw new GridwatchError('CONFIG_INVALID', `model ${manifest.version.slice(0, 12)}: features do not match this build (missing: ${missing.join(', ') || '-'}; unknown: ${unknown.join(', ') || '-'}; or a different order): refused`);
  }
  if (!Number.isFinite(manifest.threshold)) throw new GridwatchError('CONFIG_INVALID', `model ${manifest.version.slice(0, 12)}: threshold is not a number`);
  return { manifest, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
