// Model variants for the registry and PSI tests: the shipped model's file with one unknown
// protobuf field appended (onnxruntime ignores it, so the model scores exactly as the shipped one,
// yet its sha256, and so its version, differ), and a manifest of our choosing (a threshold that
// makes every window "over", reference bins, a broken output column).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR, type ModelManifest } from '../../../central/learn/model-file.ts';

export function variantModel(dir: string, tag: number, over: Partial<ModelManifest> = {}, bytesOver?: Buffer): { dir: string; version: string; manifest: ModelManifest; bytes: Buffer } {
  const base = readFileSync(join(DEFAULT_MODEL_DIR, 'model.onnx'));
  // Field 100, varint: tag (100 << 3 | 0) = 800 = 0xa0 0x06, then the value.
  const bytes = bytesOver ?? Buffer.concat([base, Buffer.from([0xa0, 0x06, tag & 0x7f])]);
  const version = createHash('sha256').update(bytes).digest('hex');
  const manifest = { ...(JSON.parse(readFileSync(join(DEFAULT_MODEL_DIR, 'manifest.json'), 'utf8')) as ModelManifest), version, ...over };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, version, manifest, bytes };
}
