// The archive's ports: what the pipeline hands in (a batch as kafkajs gives it) and what a sink
// (MinIO/S3 or a local directory) must do. Sinks stay simple; delivery guarantees live in the
// Archiver.
import type { Anomaly, ForwardedReading, GridEvent } from '../../shared/index.ts';
import type { FeederMinute } from './aggregate.ts';

/** One topic-partition's messages, as kafkajs `eachBatch` gives them (offsets are strings). */
export interface ArchiveBatch {
  topic: string;
  partition: number;
  messages: { offset: string; timestamp: string; key: string | null; value: string | Buffer }[];
}

/** An offset the pipeline may now commit: the next offset to read, as Kafka expects. */
export interface CommittableOffset {
  topic: string;
  partition: number;
  nextOffset: string;
}

/**
 * Where archive objects go. `put` of an existing key replaces it (the archive relies on that:
 * a retry writes identical bytes under the same key). `list` returns every key that starts with
 * `prefix`, sorted.
 */
export interface ArchiveSink {
  put(key: string, body: Buffer, meta?: Record<string, string>): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  list(prefix: string): Promise<string[]>;
  describe(): string;
}

export interface S3SinkOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** PEM CA bundle (its text) trusted for an https endpoint instead of the system CAs. */
  ca?: string;
}

/** Writes anomalies, grid events and per-feeder one-minute aggregates to InfluxDB. */
export interface InfluxWriter {
  writeAnomalies(a: Anomaly[]): void;
  writeEvents(e: GridEvent[]): void;
  /**
   * Folds readings into per-feeder one-minute aggregates and (re)writes the aggregate points they
   * touch. `source` names where the readings came from (Kafka partition and offset range); the
   * Archiver passes it so that a replay after a crash is recognised and not counted twice.
   * Without it the readings are folded in unconditionally.
   */
  writeReadings(r: ForwardedReading[], source?: ReadingSource): void;
  /**
   * The same with the readings already folded (`foldReadings`, in the archive's build thread).
   * Optional: for a writer without it the Archiver hands over the parsed readings (`writeReadings`).
   */
  writeFeederMinutes?(partials: FeederMinute[], source?: ReadingSource): void;
  /** Waits until everything written so far is stored (or throws ARCHIVE_FAILED). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Kafka provenance of a group of readings handed to the InfluxWriter in one call. */
export interface ReadingSource {
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
}
