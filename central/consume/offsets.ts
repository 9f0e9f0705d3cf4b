// The offset gate: the group consumer's offsets move only past records that are durable. With an
// archive, that is once the archiver has written them (objects + InfluxDB); without one, the
// direct-commit gate lets every processed offset through. The committer asks the gate what may be
// committed, and commits nothing while the outbox holds unpublished grid events.
import { toGridwatchError, type Clock, type Logger, type Metrics } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';
import { Archiver, createInfluxWriter, createSink, S3Sink, type ArchiveBatch, type ArchiveSink, type InfluxWriter } from '../archive/index.ts';
import type { CentralConfig } from '../config.ts';
import type { CentralMetrics } from '../metrics.ts';

export interface Offset {
  topic: string;
  partition: number;
  offset: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ArchiveBatch['messages'];
  /** The offset after the batch's last record. */
  nextOffset: string;
}

export interface OffsetGate extends Part {
  /** 'archive' or 'off' (for /healthz). */
  readonly archive: 'on' | 'off';
  readonly influx: 'on' | 'off';
  /** Whether `add` needs the records (false: only the offsets). */
  readonly keepsRecords: boolean;
  add(batch: ConsumedBatch): void;
  /** True while the records held exceed the byte budget (the consumer pauses what adds to it). */
  overBudget(): boolean;
  /** True when paused partitions may resume. */
  resumeBelow(): boolean;
  /** What may be committed now; `all` makes everything buffered durable first (shutdown). */
  committable(all: boolean): Promise<Offset[]>;
  /** The partition is no longer ours: forget (do not flush) what it buffered. Never throws (logs). */
  revoke(topic: string, partition: number): Promise<void>;
}

/** Without an archive: a record is done once processed. */
export class DirectCommitGate implements OffsetGate {
  readonly name = 'direct commit';
  readonly archive = 'off' as const;
  readonly influx = 'off' as const;
  readonly keepsRecords = false;
  private readonly processed = new Map<string, Offset>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  overBudget(): boolean {
    return false;
  }

  resumeBelow(): boolean {
    return true;
  }

  add(b: ConsumedBatch): void {
    this.processed.set(`${b.topic}\u0000${b.partition}`, { topic: b.topic, partition: b.partition, offset: b.nextOffset });
  }

  async committable(): Promise<Offset[]> {
    const out = [...this.processed.values()];
    this.processed.clear();
    return out;
  }

  async revoke(topic: string, partition: number): Promise<void> {
    this.processed.delete(`${topic}\u0000${partition}`);
  }
}

/** With an archive: a record is done once the archiver has written it. */
export class ArchiveGate implements OffsetGate {
  readonly name = 'archive';
  readonly archive = 'on' as const;
  readonly keepsRecords = true;

  constructor(
    private readonly archiver: Archiver,
    /** Also read by the API's history routes. */
    readonly sink: ArchiveSink,
    private readonly influxWriter: InfluxWriter | null,
    private readonly logger: Logger,
  ) {}

  get influx(): 'on' | 'off' {
    return this.influxWriter ? 'on' : 'off';
  }

  async start(): Promise<void> {
    if (this.sink instanceof S3Sink) await this.sink.ensureBucket();
  }

  async stop(): Promise<void> {
    await this.influxWriter?.close().catch((err: unknown) => this.logger.error({ err }, 'influx close failed'));
  }

  add(b: ConsumedBatch): void {
    this.archiver.add({ topic: b.topic, partition: b.partition, messages: b.messages });
  }

  overBudget(): boolean {
    return this.archiver.overBudget();
  }

  resumeBelow(): boolean {
    return this.archiver.resumeBelow();
  }

  async committable(all: boolean): Promise<Offset[]> {
    const out = (done: { topic: string; partition: number; nextOffset: string }[]): Offset[] => {
      // What earlier background flushes finished, then this call's (later, so it wins per partition).
      const latest = new Map<string, Offset>();
      for (const o of [...this.archiver.takeArchived(), ...done]) latest.set(`${o.topic}\u0000${o.partition}`, { topic: o.topic, partition: o.partition, offset: o.nextOffset });
      return [...latest.values()];
    };
    if (!all) {
      // Never waits for the sink: due partitions start flushing (each at its own pace) and the
      // offsets of the flushes finished since the last call are committed.
      this.archiver.startDue();
      return out([]);
    }
    try {
      return out(await this.archiver.flushAll());
    } catch (err) {
      const e = toGridwatchError(err, 'ARCHIVE_FAILED', true);
      const ok = (e.details?.committable ?? []) as { topic: string; partition: number; nextOffset: string }[];
      this.logger.error({ err: e }, 'archive flush failed; offsets of the failed partitions stay uncommitted and the flush is retried');
      return out(ok);
    }
  }

  async revoke(topic: string, partition: number): Promise<void> {
    await this.archiver.onRevoke(topic, partition).catch((err: unknown) => this.logger.error({ err, topic, partition }, 'archive revoke failed'));
  }
}

/** The gate the configuration asks for: S3/MinIO, else a directory, else direct commits (logged). */
export function createOffsetGate(
  c: CentralConfig,
  topics: { readings: string; anomalies: string; events: string },
  /** fence: see ArchiverOptions.fence (the group consumer's membershipLapsed). */
  deps: { logger: Logger; metrics: Metrics; clock: Clock; fence?: () => string | null },
): OffsetGate {
  let sink: ArchiveSink;
  if (c.s3Endpoint) {
    sink = S3Sink.fromSettings({ ...c, s3Endpoint: c.s3Endpoint }, deps.logger);
  } else if (c.archiveDir) {
    sink = createSink({ dir: c.archiveDir });
  } else {
    deps.logger.warn('no archive configured (GRIDWATCH_S3_ENDPOINT or GRIDWATCH_ARCHIVE_DIR): offsets are committed once processed');
    return new DirectCommitGate();
  }
  // An empty or absent token is valid: InfluxDB 1.8 without authentication takes any.
  const influx = c.influxUrl ? createInfluxWriter({ url: c.influxUrl, token: c.influxToken ?? '', org: c.influxOrg, bucket: c.influxBucket, caFile: c.influxCaFile, logger: deps.logger }) : null;
  const archiver = new Archiver({
    sink,
    logger: deps.logger,
    metrics: deps.metrics,
    maxRecords: c.archiveMaxRecords,
    maxAgeMs: c.archiveMaxAgeMs,
    maxBufferedBytes: c.archiveMaxBufferedBytes,
    clock: deps.clock,
    ...(deps.fence ? { fence: deps.fence } : {}),
    topicKinds: { [topics.readings]: 'readings', [topics.anomalies]: 'anomalies', [topics.events]: 'events' },
    ...(influx ? { influx } : {}),
  });
  return new ArchiveGate(archiver, sink, influx, deps.logger);
}

export interface CommitterOptions {
  gate: OffsetGate;
  /** The grid-event outbox: offsets wait while it holds events. */
  outbox: { readonly pending: number; publish(fresh: [], why: string): Promise<boolean> };
  commit: (offsets: Offset[]) => Promise<void>;
  metrics: Pick<CentralMetrics, 'commits'>;
  logger: Logger;
  /** After every flush: paused partitions may resume (backpressure). */
  afterFlush?: () => void;
}

/** Commits what the gate says is durable, never while grid events wait; one commit at a time. */
export class OffsetCommitter {
  private committing: Promise<void> | null = null;

  constructor(private readonly o: CommitterOptions) {}

  commitDue(all: boolean): Promise<void> {
    if (this.committing) return this.committing;
    this.committing = this.commitOnce(all).finally(() => {
      this.committing = null;
    });
    return this.committing;
  }

  /** Resolves when the commit in flight (if any) is done. */
  async settled(): Promise<void> {
    await this.committing;
  }

  private async commitOnce(all: boolean): Promise<void> {
    const { gate, outbox, logger, metrics } = this.o;
    if (outbox.pending > 0) {
      // Offsets move only once every event made from the records below them is in Kafka.
      await outbox.publish([], 'retry');
      if (outbox.pending > 0) {
        logger.warn({ pending: outbox.pending }, 'grid events not yet published; offsets not committed');
        return;
      }
    }
    const offsets = await gate.committable(all);
    this.o.afterFlush?.();
    if (offsets.length === 0) return;
    try {
      await this.o.commit(offsets);
      metrics.commits.inc({ result: 'ok' });
    } catch (err) {
      // A partition moved during a rebalance: its new owner re-reads from the last commit, and
      // the archive's progress marker keeps the objects exactly once.
      metrics.commits.inc({ result: 'failed' });
      logger.warn({ err: (err as Error).message, offsets: offsets.length }, 'offset commit failed');
    }
  }
}
