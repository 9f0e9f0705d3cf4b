/**
 * Model files in the MinIO bucket `models` (modelsBucket), through the S3 adapter the archive
 * uses (central/archive/sink-s3.ts, the only file that loads the minio client):
 *
 *   <version>/model.onnx         the file, as trained
 *   <version>/manifest.json      its manifest (written after the file: a version is listed once complete)
 *   comparisons/<version>/<instance>.json   a shadow's or canary's comparison with the active model, per central instance
 *
 * A fetched model passes the same checks as one from a directory (model-file.ts checkModel): a
 * file whose sha256 is not its version, or whose features are not this build's, is refused.
 */
import type { Logger } from '../../shared/logger.ts';
import { GridwatchError } from '../../shared/errors.ts';
import { S3Sink } from '../archive/sink-s3.ts';
import { checkModel, loadModelDir, parseManifest, type LoadedModel, type ModelManifest } from './model-file.ts';
import type { Comparison } from './scorer.ts';

/** What the store needs of a bucket (S3Sink has it; tests may hand another). */
export interface BucketPort {
  ensureBucket(): Promise<void>;
  put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  list(prefix: string): Promise<string[]>;
  describe(): string;
}

export interface StoredComparison extends Comparison { instance: string; at: number }

export class ModelStore {
  constructor(readonly bucket: BucketPort) {}

  static fromSettings(c: { s3Endpoint: string; s3AccessKey?: string; s3SecretKey?: string; s3CaFile?: string; modelsBucket: string }, logger: Logger): ModelStore {
    return new ModelStore(S3Sink.fromSettings({ ...c, s3Bucket: c.modelsBucket }, logger));
  }

  /** Checks the model in `dir` and stores it under its version; returns the manifest. */
  async upload(dir: string): Promise<ModelManifest> {
    const { manifest, bytes } = loadModelDir(dir);
    await this.bucket.ensureBucket();
    await this.putFiles(manifest, Buffer.from(bytes));
    return manifest;
  }

  /** Stores a manifest and bytes as given, unchecked (the upload path after its checks; tests of refusals). */
  async putFiles(manifest: ModelManifest, bytes: Buffer): Promise<void> {
    await this.bucket.put(`${manifest.version}/${manifest.file ?? 'model.onnx'}`, bytes);
    await this.bucket.put(`${manifest.version}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 1) + '\n'), { 'Content-Type': 'application/json' });
  }

  /** The model of a version, checked; a missing or refused one throws CONFIG_INVALID with the reason in details. */
  async fetch(version: string): Promise<LoadedModel> {
    const where = `model ${version.slice(0, 12)} (${this.bucket.describe()})`;
    const text = await this.bucket.get(`${version}/manifest.json`);
    if (!text) throw new GridwatchError('CONFIG_INVALID', `${where}: not in the registry bucket (upload it first)`, { details: { reason: 'missing' } });
    const manifest = parseManifest(text.toString('utf8'), where);
    if (manifest.version !== version) throw new GridwatchError('CONFIG_INVALID', `${where}: manifest says version ${manifest.version}: refused`, { details: { reason: 'sha256' } });
    const bytes = await this.bucket.get(`${version}/${manifest.file ?? 'model.onnx'}`);
    if (!bytes) throw new GridwatchError('CONFIG_INVALID', `${where}: ${manifest.file} missing from the bucket`, { details: { reason: 'missing' } });
    return checkModel(manifest, bytes, where);
  }

  /** Manifests of every stored version (unchecked: listing shows what is there). */
  async list(): Promise<ModelManifest[]> {
    const keys = await this.bucket.list('').catch((err: unknown) => {
      // No model uploaded yet: the registry's bucket is made by the first upload, and until then
      // holds nothing (gridwatch models list on a fresh system). An archive reader, by contrast,
      // takes a missing bucket as the error it is.
      if ((err as { details?: { s3Code?: string } }).details?.s3Code === 'NoSuchBucket') return [] as string[];
      throw err;
    });
    const out: ModelManifest[] = [];
    for (const k of keys.filter((k) => /^[0-9a-f]{64}\/manifest\.json$/.test(k))) {
      const b = await this.bucket.get(k);
      if (!b) continue;
      try {
        out.push(parseManifest(b.toString('utf8'), k));
      } catch {
        out.push({ version: k.slice(0, 64), family: '(unreadable manifest)' } as ModelManifest);
      }
    }
    return out;
  }

  async putComparison(c: StoredComparison): Promise<void> {
    await this.bucket.put(`comparisons/${c.version}/${encodeURIComponent(c.instance)}.json`, Buffer.from(JSON.stringify(c) + '\n'), { 'Content-Type': 'application/json' });
  }

  async comparisons(version: string): Promise<StoredComparison[]> {
    const out: StoredComparison[] = [];
    for (const k of await this.bucket.list(`comparisons/${version}/`)) {
      const b = await this.bucket.get(k);
      if (b) out.push(JSON.parse(b.toString('utf8')) as StoredComparison);
    }
    return out;
  }
}
