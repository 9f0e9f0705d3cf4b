// Chooses the archive sink from configuration: S3/MinIO when configured, else a local directory.
import { GridwatchError } from '../../shared/index.ts';
import { DirSink } from './sink-dir.ts';
import { S3Sink } from './sink-s3.ts';
import type { ArchiveSink, S3SinkOptions } from './types.ts';

export interface SinkConfig {
  s3?: S3SinkOptions;
  dir?: string;
}

/** S3 wins when both are given. Call `ensureBucket()` on an S3Sink before the first put. */
export function createSink(cfg: SinkConfig): ArchiveSink {
  if (cfg.s3) return new S3Sink(cfg.s3);
  if (cfg.dir) return new DirSink(cfg.dir);
  throw new GridwatchError('CONFIG_INVALID', 'archive: neither an S3 endpoint nor a directory is configured', { retryable: false });
}
