// Archive sink on S3 (MinIO in tests and the demo). The only file that imports the minio client.
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { Client, S3Error } from 'minio';
import { GridwatchError, type Logger } from '../../shared/index.ts';
import type { ArchiveSink, S3SinkOptions } from './types.ts';

/** S3 error codes that a retry cannot fix: credentials, permissions, a missing bucket, a bad key. */
const PERMANENT = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket', 'InvalidBucketName', 'KeyTooLongError', 'InvalidArgument']);

function failed(op: string, what: string, err: unknown): GridwatchError {
  const code = err instanceof S3Error ? String(err.code) : undefined;
  const retryable = code === undefined || !PERMANENT.has(code);
  return new GridwatchError('ARCHIVE_FAILED', `s3 ${op} ${what}: ${(err as Error).message}`, { retryable, cause: err, details: code ? { s3Code: code } : undefined });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

export class S3Sink implements ArchiveSink {
  private readonly client: Client;
  private readonly opts: S3SinkOptions;

  constructor(opts: S3SinkOptions) {
    this.opts = opts;
    // With a CA the certificate is checked against it (and the host name) instead of the system
    // CAs; verification is never turned off, so a wrong CA fails the first request, loudly.
    const transportAgent = opts.useSSL && opts.ca ? new Agent({ keepAlive: true, ca: opts.ca }) : undefined;
    this.client = new Client({ endPoint: opts.endPoint, port: opts.port, useSSL: opts.useSSL, accessKey: opts.accessKey, secretKey: opts.secretKey, ...(transportAgent ? { transportAgent } : {}) });
  }

  /**
   * The sink central's settings describe: GRIDWATCH_S3_ENDPOINT (https:// with
   * GRIDWATCH_S3_CA_FILE for a private CA), keys and bucket. Plain http is allowed, logged.
   */
  static fromSettings(c: { s3Endpoint: string; s3AccessKey?: string; s3SecretKey?: string; s3Bucket: string; s3CaFile?: string }, logger: Logger): S3Sink {
    const u = new URL(c.s3Endpoint);
    const useSSL = u.protocol === 'https:';
    let ca: string | undefined;
    if (c.s3CaFile) {
      if (!useSSL) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_S3_CA_FILE is set but GRIDWATCH_S3_ENDPOINT is not https://');
      try {
        ca = readFileSync(c.s3CaFile, 'utf8');
      } catch (err) {
        throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_S3_CA_FILE: cannot read ${c.s3CaFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
    }
    if (!useSSL) logger.warn({ endpoint: u.origin }, 'S3 endpoint is plain http: archive objects and request signatures cross the network unencrypted');
    return new S3Sink({ endPoint: u.hostname, port: u.port ? Number(u.port) : useSSL ? 443 : 80, useSSL, accessKey: c.s3AccessKey ?? '', secretKey: c.s3SecretKey ?? '', bucket: c.s3Bucket, ...(ca ? { ca } : {}) });
  }

  describe(): string {
    return `s3:${this.opts.useSSL ? 'https' : 'http'}://${this.opts.endPoint}:${this.opts.port}/${this.opts.bucket}`;
  }

  /** Creates the bucket if it does not exist (safe when several instances race to create it). */
  async ensureBucket(): Promise<void> {
    try {
      if (await this.client.bucketExists(this.opts.bucket)) return;
      await this.client.makeBucket(this.opts.bucket);
    } catch (err) {
      const code = err instanceof S3Error ? String(err.code) : '';
      if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return;
      throw failed('ensureBucket', this.opts.bucket, err);
    }
  }

  async put(key: string, body: Buffer, meta: Record<string, string> = {}): Promise<void> {
    try {
      // A PUT replaces the object atomically: readers see the old or the new bytes, never a mix.
      await this.client.putObject(this.opts.bucket, key, body, body.length, { 'Content-Type': 'application/octet-stream', ...meta });
    } catch (err) {
      throw failed('put', key, err);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readAll(await this.client.getObject(this.opts.bucket, key));
    } catch (err) {
      if (err instanceof S3Error && (err.code === 'NoSuchKey' || err.code === 'NotFound')) return null;
      throw failed('get', key, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const item of this.client.listObjectsV2(this.opts.bucket, prefix, true)) {
        const name = (item as { name?: string }).name;
        if (name) out.push(name);
      }
    } catch (err) {
      throw failed('list', prefix, err);
    }
    return out.sort();
  }
}
