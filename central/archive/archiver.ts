// The Archiver: buffers records per topic-partition, writes them as objects (and InfluxDB points),
// and tells the pipeline which offsets are now safe to commit. Delivery guarantees live here, so
// sinks stay simple. The exactly-once argument is in docs/archive.md.
import { GridwatchError, systemClock, toGridwatchError, type Anomaly, type Clock, type ForwardedReading, type GridEvent, type Logger, type Metrics } from '../../shared/index.ts';
import type { FeederMinute } from './aggregate.ts';
import { packRequestSliced, type BuildResult } from './build.ts';
import { workerBuilder, type FlushBuilder } from './builder.ts';
import { DEFAULT_TOPIC_KINDS, type ArchiveKind, type ArchiveObject } from './layout.ts';
import { archiveMetrics, type ArchiveMetrics } from './metrics.ts';
import { readProgress, writeProgress, type Progress } from './progress.ts';
import type { SeenJson } from './seen.ts';
import type { ArchiveBatch, ArchiveSink, CommittableOffset, InfluxWriter } from './types.ts';

export interface ArchiverOptions {
  sink: ArchiveSink;
  influx?: InfluxWriter;
  logger: Logger;
  metrics?: Metrics;
  /** Flush a partition's buffer when it holds this many records (default 50,000). */
  maxRecords?: number;
  /** ... or when its oldest record was added this long ago (default 60 s). */
  maxAgeMs?: number;
  clock?: Clock;
  /** Object writes in flight per flush (default 8). */
  putConcurrency?: number;
  /**
   * What each topic holds, when the names are not the v1 ones (GRIDWATCH_TOPIC_*): it decides
   * event time, identity and InfluxDB points. Added to the v1 names. A topic of no kind is still
   * archived, filed by `ts`/`startTs`, without de-duplication or points.
   */
  topicKinds?: Record<string, ArchiveKind>;
  /**
   * Byte budget of the records held (buffered and in unfinished flushes), summed over partitions
   * (default 256 MiB). Past it `overBudget()` is true and the consumer pauses the partitions that
   * add to it; under `resumeBelow()` it resumes them (backpressure, README "Memory").
   */
  maxBufferedBytes?: number;
  /** Where flushes are built (default: the archive's worker thread). */
  builder?: FlushBuilder;
  /**
   * The zombie fence: asked before every write of a flush (marker, each object, the points). A
   * non-null answer (why) means this instance may no longer own its partitions, for example its
   * group membership lapsed while the process was stopped: the write is refused (retryable) and
   * the partition's buffer waits for the next assignment, which revokes it (docs/archive.md).
   */
  fence?: () => string | null;
}

/** One record as buffered: the value's bytes, nothing parsed. */
interface Held {
  offset: bigint;
  timestamp: string;
  value: Buffer;
}

interface Flush {
  first: bigint;
  last: bigint;
  objects: ArchiveObject[];
  kept: number;
  duplicates: number;
  /** The partition's identity index once this flush is archived. */
  seenAfter: SeenJson;
  feederMinutes: FeederMinute[] | null;
  values: BuildResult['values'];
  /** Bytes of the records this flush holds back from the budget until it is written. */
  bytes: number;
}

const EMPTY_SEEN: SeenJson = { meters: {}, others: [] };

interface PartitionState {
  topic: string;
  partition: number;
  buffer: Held[];
  /** Bytes of the values in `buffer`. */
  bytes: number;
  /** Highest offset ever accepted (buffered, in flight or archived); lower ones are re-deliveries. */
  lastSeen: bigint | null;
  firstAddedAt: number | null;
  /** The marker as read at assignment and advanced by our own flushes; null until loaded. */
  progress: Progress | null;
  /** End of a flush that a crashed run started and did not finish: the next flush must end here. */
  boundary: bigint | null;
  /** A built flush that failed; it is retried with exactly the same range before anything else. */
  inFlight: Flush | null;
  /** Identities archived through progress.archivedThrough: a repeat in a later flush is dropped. */
  seen: SeenJson;
  /** The index after the unfinished flush (`boundary`), for when it turns out complete. */
  pendingSeen: SeenJson | null;
  /** Records dropped as already archived since the last flush: their offsets may be committed. */
  skippedArchived: boolean;
  chain: Promise<unknown>;
  /** A flush started by `startDue` is running (the next one starts after it). */
  flushing: boolean;
  revoked: boolean;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Archiver {
  private readonly sink: ArchiveSink;
  private readonly influx: InfluxWriter | undefined;
  private readonly logger: Logger;
  private readonly metrics: ArchiveMetrics | null;
  private readonly maxRecords: number;
  private readonly maxAgeMs: number;
  private readonly clock: Clock;
  private readonly putConcurrency: number;
  private readonly parts = new Map<string, PartitionState>();
  private readonly kinds: Record<string, ArchiveKind>;
  private readonly maxBytes: number;
  private readonly builder: FlushBuilder;
  private readonly fence: () => string | null;
  /** Bytes held over every partition: buffers plus built flushes not yet written. */
  private held = 0;
  /** Ends of the flushes `startDue` finished and `takeArchived` has not handed out, per partition. */
  private readonly archived = new Map<string, CommittableOffset>();

  constructor(opts: ArchiverOptions) {
    this.kinds = { ...DEFAULT_TOPIC_KINDS, ...opts.topicKinds };
    this.sink = opts.sink;
    this.influx = opts.influx;
    this.logger = opts.logger.child({ component: 'archiver', sink: opts.sink.describe() });
    this.metrics = opts.metrics ? archiveMetrics(opts.metrics) : null;
    this.maxRecords = opts.maxRecords ?? 50_000;
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.clock = opts.clock ?? systemClock;
    this.putConcurrency = opts.putConcurrency ?? 8;
    this.maxBytes = opts.maxBufferedBytes ?? 256 * 1048576;
    this.builder = opts.builder ?? workerBuilder();
    this.fence = opts.fence ?? (() => null);
    this.metrics?.heldBytes.set(0);
  }

  /** Bytes of records held in memory (buffered or in a flush not yet written). */
  get heldBytes(): number {
    return this.held;
  }

  /** True while the records held exceed the byte budget: the consumer should pause. */
  overBudget(): boolean {
    return this.held > this.maxBytes;
  }

  /** True once the records held are back under three quarters of the budget: paused partitions may resume. */
  resumeBelow(): boolean {
    return this.held <= this.maxBytes * 0.75;
  }

  private hold(n: number): void {
    this.held += n;
    this.metrics?.heldBytes.set(this.held);
  }

  private state(topic: string, partition: number): PartitionState {
    const k = tpKey(topic, partition);
    let s = this.parts.get(k);
    if (s === undefined) {
      s = { topic, partition, buffer: [], bytes: 0, lastSeen: null, firstAddedAt: null, progress: null, boundary: null, seen: EMPTY_SEEN, pendingSeen: null, inFlight: null, skippedArchived: false, chain: Promise.resolve(), flushing: false, revoked: false };
      this.parts.set(k, s);
    }
    return s;
  }

  /** Buffers a batch. Offsets at or below what this partition already took are re-deliveries and are ignored. */
  add(batch: ArchiveBatch): void {
    const s = this.state(batch.topic, batch.partition);
    const archived = s.progress?.archivedThrough ?? null;
    let added = 0;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (s.lastSeen !== null && offset <= s.lastSeen) continue;
      s.lastSeen = offset;
      if (archived !== null && offset <= archived) {
        s.skippedArchived = true;
        this.metrics?.redelivered.inc({ topic: s.topic });
        continue;
      }
      if (s.buffer.length === 0) s.firstAddedAt = this.clock.now();
      const value = typeof m.value === 'string' ? Buffer.from(m.value) : m.value;
      s.buffer.push({ offset, timestamp: m.timestamp, value });
      s.bytes += value.length;
      added += value.length;
    }
    // Once per batch: the gauge's set was a label lookup per record on the consumer thread.
    if (added > 0) this.hold(added);
  }

  /** Writes the buffers that are over size or age; returns the offsets now safe to commit. */
  flushDue(): Promise<CommittableOffset[]> {
    return this.flushWhere(this.dueNow());
  }

  private dueNow(): (s: PartitionState) => boolean {
    const now = this.clock.now();
    // Past half the budget every buffer is due: the budget is reached only when the sink cannot keep up.
    const pressed = this.held > this.maxBytes / 2;
    return (s) =>
      s.inFlight !== null ||
      (pressed && s.buffer.length > 0) ||
      s.buffer.length >= this.maxRecords ||
      (s.firstAddedAt !== null && now - s.firstAddedAt >= this.maxAgeMs) ||
      // Only re-deliveries of archived records arrived: their offsets can be committed now.
      (s.buffer.length === 0 && s.skippedArchived);
  }

  /**
   * Starts a flush of every due partition that has none running, and returns at once: each
   * partition's flush goes at its own pace (a slow one does not hold back the others' commits),
   * and what finished is handed out by `takeArchived`. A failed flush is logged and counted by
   * flushPartition and stays due (its range is retried first, unchanged).
   */
  startDue(): void {
    const due = this.dueNow();
    for (const s of this.parts.values()) {
      if (s.flushing || !due(s)) continue;
      s.flushing = true;
      void this.serial(s, () => this.flushPartition(s))
        .then(
          (done) => {
            if (done !== null && !s.revoked) this.archived.set(tpKey(s.topic, s.partition), done);
          },
          () => undefined,
        )
        .finally(() => (s.flushing = false));
    }
  }

  /** The ends of the flushes finished since the last call (the latest per partition): safe to commit. */
  takeArchived(): CommittableOffset[] {
    const out = [...this.archived.values()];
    this.archived.clear();
    return out;
  }

  /** Writes every buffer (shutdown, or before a planned commit). */
  flushAll(): Promise<CommittableOffset[]> {
    return this.flushWhere((s) => s.inFlight !== null || s.buffer.length > 0 || s.skippedArchived);
  }

  /**
   * On rebalance the partition's buffer is DROPPED, not flushed: the new owner re-reads from the
   * last commit, and the progress marker makes it skip what we archived. Flushing here would only
   * race the new owner. A flush already running is awaited so that we stop writing before we return.
   */
  async onRevoke(topic: string, partition: number): Promise<void> {
    const k = tpKey(topic, partition);
    const s = this.parts.get(k);
    if (s === undefined) return;
    s.revoked = true;
    this.parts.delete(k);
    this.archived.delete(k);
    this.hold(-(s.bytes + (s.inFlight?.bytes ?? 0)));
    s.bytes = 0;
    await s.chain.catch(() => undefined);
    this.logger.info({ topic, partition, dropped: s.buffer.length }, 'partition revoked, buffer dropped');
  }

  /**
   * The offset to start reading from so that nothing archived is read again: the highest offset
   * archived + 1 (a started flush counts only when all its objects exist). null when the store
   * knows nothing of this partition. Seeking there is optional; re-deliveries are dropped anyway.
   */
  async resumeFrom(topic: string, partition: number): Promise<string | null> {
    const s = this.state(topic, partition);
    await this.serial(s, () => this.ensureLoaded(s));
    const through = s.progress?.archivedThrough ?? null;
    return through === null ? null : (through + 1n).toString();
  }

  private async flushWhere(due: (s: PartitionState) => boolean): Promise<CommittableOffset[]> {
    const picked = [...this.parts.values()].filter(due);
    const results = await Promise.allSettled(picked.map((s) => this.serial(s, () => this.flushPartition(s))));
    const ok: CommittableOffset[] = [];
    const failed: { topic: string; partition: number; error: GridwatchError }[] = [];
    results.forEach((r, i) => {
      const s = picked[i] as PartitionState;
      if (r.status === 'fulfilled') {
        if (r.value !== null) ok.push(r.value);
      } else {
        failed.push({ topic: s.topic, partition: s.partition, error: toGridwatchError(r.reason, 'ARCHIVE_FAILED', true) });
      }
    });
    if (failed.length > 0) {
      // Offsets of the partitions that did succeed travel in details; committing them is safe.
      throw new GridwatchError('ARCHIVE_FAILED', `archive flush failed for ${failed.map((f) => `${f.topic}[${f.partition}]`).join(', ')}: ${failed[0]?.error.message}`, {
        retryable: failed.every((f) => f.error.retryable),
        cause: failed[0]?.error,
        details: { committable: ok, failed: failed.map((f) => ({ topic: f.topic, partition: f.partition, code: f.error.code, retryable: f.error.retryable, message: f.error.message })) },
      });
    }
    return ok;
  }

  /** Flushes of one partition never overlap: each one's range depends on where the last ended. */
  private serial<T>(s: PartitionState, fn: () => Promise<T>): Promise<T> {
    const run = s.chain.catch(() => undefined).then(fn);
    s.chain = run;
    return run;
  }

  /** Reads the marker once per assignment and decides what re-delivered records to drop. */
  private async ensureLoaded(s: PartitionState): Promise<void> {
    if (s.progress !== null) return;
    const p = await readProgress(this.sink, s.topic, s.partition);
    s.seen = p.seen ?? EMPTY_SEEN;
    if (p.pending !== null && (p.archivedThrough === null || p.pending.last > p.archivedThrough)) {
      // A flush was started. If every one of its objects exists it finished (only the marker update
      // is missing); otherwise the next flush must reproduce exactly its range, same keys, same bytes,
      // starting from the identity index the original started from.
      if (await this.allExist(p.pending.keys)) {
        p.archivedThrough = p.pending.last;
        s.seen = p.pending.seen ?? p.seen ?? EMPTY_SEEN;
      } else {
        s.boundary = p.pending.last;
        s.pendingSeen = p.pending.seen ?? null;
        this.logger.warn({ topic: s.topic, partition: s.partition, first: p.pending.first.toString(), last: p.pending.last.toString() }, 'unfinished flush found; it will be replayed with the same range');
      }
    }
    s.progress = p;
    const through = p.archivedThrough;
    if (through !== null) {
      const before = s.buffer.length;
      s.buffer = s.buffer.filter((r) => r.offset > through);
      this.recount(s);
      if (s.buffer.length < before) {
        s.skippedArchived = true;
        this.metrics?.redelivered.inc({ topic: s.topic }, before - s.buffer.length);
      }
      if (s.buffer.length === 0) s.firstAddedAt = null;
    }
  }

  private recount(s: PartitionState): void {
    const bytes = s.buffer.reduce((n, r) => n + r.value.length, 0);
    this.hold(bytes - s.bytes);
    s.bytes = bytes;
  }

  private async allExist(keys: string[]): Promise<boolean> {
    for (const key of keys) {
      const found = await this.sink.list(key);
      if (!found.includes(key)) return false;
    }
    return true;
  }

  /** Takes the next range to flush out of the buffer, or null when there is none (yet). */
  private takeRange(s: PartitionState): Held[] | null {
    if (s.buffer.length === 0) return null;
    const first = s.buffer[0] as { offset: bigint };
    if (s.boundary !== null && first.offset > s.boundary) {
      // We were handed records past the unfinished flush: the offsets of that flush were committed,
      // which happens only after all its objects were written. It is complete.
      s.boundary = null;
      if (s.pendingSeen !== null) s.seen = s.pendingSeen;
      s.pendingSeen = null;
    }
    if (s.boundary !== null) {
      const boundary = s.boundary;
      if ((s.lastSeen ?? -1n) < boundary) return null; // the re-delivery has not reached its end yet
      const n = s.buffer.findIndex((r) => r.offset > boundary);
      const cut = n < 0 ? s.buffer.length : n;
      const taken = s.buffer.slice(0, cut);
      s.buffer = s.buffer.slice(cut);
      s.bytes -= taken.reduce((n, r) => n + r.value.length, 0);
      s.boundary = null;
      s.pendingSeen = null;
      return taken;
    }
    const taken = s.buffer;
    s.buffer = [];
    s.bytes = 0;
    return taken;
  }

  /** Builds a flush off this thread (builder.ts); the taken records' bytes stay held until it is written. */
  private async build(s: PartitionState, taken: Held[]): Promise<Flush> {
    const bytes = taken.reduce((n, r) => n + r.value.length, 0);
    const kind = this.kinds[s.topic] ?? null;
    try {
      const req = await packRequestSliced({ topic: s.topic, partition: s.partition, kind, seen: s.seen, influx: !this.influx ? 'none' : this.influx.writeFeederMinutes ? 'fold' : 'values' }, taken);
      const r = await this.builder.build(req);
      return { first: BigInt(r.first), last: BigInt(r.last), objects: r.objects, kept: r.kept, duplicates: r.duplicates, seenAfter: r.seenAfter, feederMinutes: r.feederMinutes, values: r.values, bytes };
    } catch (err) {
      // Not built: the records go back in front of the buffer, so the same range is taken again.
      if (s.revoked) {
        this.hold(-bytes);
      } else {
        s.buffer = taken.concat(s.buffer);
        s.bytes += bytes;
      }
      throw err;
    }
  }

  private async flushPartition(s: PartitionState): Promise<CommittableOffset | null> {
    if (s.revoked) return null;
    await this.ensureLoaded(s);
    const progress = s.progress as Progress;
    if (s.inFlight === null) {
      const taken = this.takeRange(s);
      if (taken === null) {
        if (s.buffer.length === 0 && s.skippedArchived && progress.archivedThrough !== null) {
          s.skippedArchived = false;
          return { topic: s.topic, partition: s.partition, nextOffset: (progress.archivedThrough + 1n).toString() };
        }
        return null;
      }
      const built = await this.build(s, taken);
      if (s.revoked) {
        this.hold(-built.bytes);
        return null;
      }
      s.inFlight = built;
      s.firstAddedAt = s.buffer.length === 0 ? null : this.clock.now();
    }
    const f = s.inFlight;
    const started = performance.now();
    try {
      this.checkFence(s);
      // 1. Intent: name the range before any of its objects exists (see docs/archive.md).
      await writeProgress(this.sink, s.topic, s.partition, {
        archivedThrough: progress.archivedThrough,
        seen: s.seen,
        pending: { first: f.first, last: f.last, keys: f.objects.map((o) => o.key), seen: f.seenAfter },
      });
      // 2. Data objects; a retry writes the same bytes under the same keys.
      await this.putAll(s, f.objects, { 'x-amz-meta-gridwatch-first-offset': f.first.toString(), 'x-amz-meta-gridwatch-last-offset': f.last.toString() });
      // 3. InfluxDB points; overwrite semantics make a repeat harmless.
      this.checkFence(s);
      await this.writeInflux(s, f);
    } catch (err) {
      this.metrics?.failures.inc({ topic: s.topic });
      const e = toGridwatchError(err, 'ARCHIVE_FAILED', true);
      this.logger.error({ topic: s.topic, partition: s.partition, first: f.first.toString(), last: f.last.toString(), err: e }, 'archive flush failed; the same range will be retried');
      throw e.code === 'ARCHIVE_FAILED' ? e : new GridwatchError('ARCHIVE_FAILED', e.message, { retryable: e.retryable, cause: e });
    }
    progress.archivedThrough = f.last;
    progress.pending = null;
    s.seen = f.seenAfter;
    s.inFlight = null;
    s.skippedArchived = false;
    if (!s.revoked) this.hold(-f.bytes);
    const seconds = (performance.now() - started) / 1000;
    if (this.metrics) {
      const topic = s.topic;
      this.metrics.flushSeconds.observe({ topic }, seconds);
      this.metrics.objects.inc({ topic }, f.objects.length);
      this.metrics.bytes.inc({ topic }, f.objects.reduce((n, o) => n + o.body.length, 0));
      this.metrics.records.inc({ topic }, f.kept);
      this.metrics.duplicates.inc({ topic }, f.duplicates);
    }
    this.logger.debug({ topic: s.topic, partition: s.partition, first: f.first.toString(), last: f.last.toString(), objects: f.objects.length, records: f.kept, duplicates: f.duplicates, seconds }, 'archived');
    if (s.revoked) return null;
    return { topic: s.topic, partition: s.partition, nextOffset: (f.last + 1n).toString() };
  }

  /** Throws (retryable) when the fence says this instance may have lost its partitions. */
  private checkFence(s: PartitionState): void {
    const why = s.revoked ? 'the partition was revoked' : this.fence();
    if (why === null) return;
    this.metrics?.fenced.inc({ topic: s.topic });
    throw new GridwatchError('ARCHIVE_FAILED', `not writing ${s.topic}[${s.partition}]: this instance may have lost the partition (${why})`, { retryable: true, details: { fenced: true } });
  }

  private async putAll(s: PartitionState, objects: ArchiveObject[], meta: Record<string, string>): Promise<void> {
    // On the first failure, stop starting new puts but let those in flight finish before throwing:
    // a retry must not race a put of the previous attempt.
    let next = 0;
    let failure: { err: unknown } | null = null;
    const worker = async (): Promise<void> => {
      while (failure === null && next < objects.length) {
        const o = objects[next++] as ArchiveObject;
        try {
          // Checked before each put: a process stopped in the middle of a flush resumes here.
          this.checkFence(s);
          await this.sink.put(o.key, o.body, meta);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.putConcurrency, objects.length) }, worker));
    if (failure !== null) throw (failure as { err: unknown }).err;
  }

  private async writeInflux(s: PartitionState, f: Flush): Promise<void> {
    if (!this.influx) return;
    const kind = this.kinds[s.topic];
    const source = { partition: s.partition, firstOffset: f.first, lastOffset: f.last };
    if (kind === 'readings' && f.feederMinutes && this.influx.writeFeederMinutes) this.influx.writeFeederMinutes(f.feederMinutes, source);
    else if (kind === 'readings' && f.values) this.influx.writeReadings(f.values as ForwardedReading[], source);
    else if (kind === 'anomalies' && f.values) this.influx.writeAnomalies(f.values as Anomaly[]);
    else if (kind === 'events' && f.values) this.influx.writeEvents(f.values as GridEvent[]);
    else return;
    try {
      await this.influx.flush();
    } catch (err) {
      const e = toGridwatchError(err, 'ARCHIVE_FAILED', true);
      if (e.retryable) throw e;
      // InfluxDB refused the points themselves (a 4xx): retrying cannot help, and the records are
      // safely in the object store, so the partition moves on. Counted and logged, not hidden.
      this.metrics?.influxRejected.inc({ topic: s.topic });
      this.logger.error({ topic: s.topic, partition: s.partition, err: e }, 'InfluxDB rejected points; archive objects are written, points skipped');
    }
  }
}
