// The archive: records to gzip JSONL objects in MinIO/S3 (or a directory), anomalies, grid events
// and per-feeder aggregates to InfluxDB. The pipeline calls the Archiver and commits only the
// offsets it returns.
export type { ArchiveBatch, ArchiveSink, CommittableOffset, InfluxWriter, ReadingSource, S3SinkOptions } from './types.ts';
export { S3Sink } from './sink-s3.ts';
export { DirSink } from './sink-dir.ts';
export { createSink, type SinkConfig } from './sink.ts';
export { createInfluxReader, createInfluxWriter, type FeederMinuteRow, type InfluxReader, type InfluxWriterOptions } from './influx.ts';
export { Archiver, type ArchiverOptions } from './archiver.ts';
export { objectKey, topicPrefix, progressKey } from './layout.ts';
