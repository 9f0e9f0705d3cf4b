import { GridwatchError, LATENCY_BUCKETS_S, toGridwatchError, type Metrics } from '../../shared/index.ts';
import type { EdgeStore } from './edge-store.ts';
import type { CommitUnit } from './types.ts';

export interface GroupCommitterOptions {
  /** Longest a submitted unit waits for its commit (the PUBACK latency floor). */
  maxDelayMs: number;
  /** Records that trigger a commit at once. */
  maxRecords: number;
  onCommitted?: (ms: number, records: number) => void;
  onError?: (err: Error) => void;
  /** Commit latency histogram and group-size counter. */
  metrics?: Metrics;
}

interface Pending {
  unit: CommitUnit;
  done: (err?: Error) => void;
}

/**
 * Groups commit units into one SQLite transaction: after maxDelayMs or maxRecords records,
 * whichever first. `done` is called only after the transaction holding the unit committed, so the
 * caller PUBACKs then; on failure `done(err)` and the caller must not PUBACK. After each commit an
 * outbox over its disk budget is brought back under it (eviction + gap records).
 */
export class GroupCommitter {
  private pending: Pending[] = [];
  private pendingCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private soon = false;
  private closed = false;
  /** SQLite transactions that committed and that failed since start (the service watchdog's evidence of progress). */
  readonly progress = { committed: 0, failed: 0 };
  /** Duration of the latest commit (ms): a slow disk stretches the next group's wait (delayMs). */
  private lastCommitMs = 0;
  private readonly latency;
  private readonly groupRecords;

  constructor(
    private readonly store: EdgeStore,
    private readonly opts: GroupCommitterOptions,
  ) {
    this.latency = opts.metrics?.histogram('commit_latency_seconds', 'Duration of one group commit (SQLite transaction)', LATENCY_BUCKETS_S);
    this.groupRecords = opts.metrics?.counter('committed_records_total', 'Outbox records committed by the group committer');
  }

  submit(unit: CommitUnit, done: (err?: Error) => void): void {
    if (this.closed) {
      done(new GridwatchError('SHUTTING_DOWN', 'group committer is closed', { retryable: true }));
      return;
    }
    this.pending.push({ unit, done });
    this.pendingCount += unit.records.length;
    if (this.pendingCount >= this.opts.maxRecords) {
      // After the current synchronous work (one MQTT packet may hold many readings), before any I/O.
      if (!this.soon) {
        this.soon = true;
        queueMicrotask(() => {
          this.soon = false;
          this.commitNow();
        });
      }
    } else if (this.timer === null) {
      this.timer = setTimeout(() => this.commitNow(), this.delayMs());
    }
  }

  /**
   * How long the next group gathers: maxDelayMs, or as long as the latest commit took when that
   * was longer (at most ADAPTIVE_DELAY_CAP_MS). better-sqlite3 commits on the event loop, and with
   * synchronous FULL each commit waits for an fsync: when the fsync takes 10-20 ms (a reconnect
   * storm on a busy disk) a 2 ms wait meant a commit per few readings and the loop blocked most of
   * the time, with the accepts, CONNACKs and PUBACKs waiting behind. Waiting as long as the commit
   * keeps the loop at least half free and each fsync carrying more; on a quiet disk (commits
   * under maxDelayMs) nothing changes. README "Reconnect storms".
   */
  delayMs(): number {
    return Math.max(this.opts.maxDelayMs, Math.min(ADAPTIVE_DELAY_CAP_MS, Math.round(this.lastCommitMs)));
  }

  /** Records submitted and not yet committed (nor failed). */
  get pendingRecords(): number {
    return this.pendingCount;
  }

  /** Units submitted and not yet committed (nor failed). */
  get pendingUnits(): number {
    return this.pending.length;
  }

  /** Commits whatever is pending now. */
  flush(): Promise<void> {
    this.commitNow();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private commitNow(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const records = this.pendingCount;
    this.pending = [];
    this.pendingCount = 0;
    const t0 = performance.now();
    try {
      this.store.commitMany(batch.map((p) => p.unit));
    } catch (err) {
      this.progress.failed++;
      this.failed(batch, toGridwatchError(err, 'STORAGE_FAILED'));
      return;
    }
    this.progress.committed++;
    const ms = performance.now() - t0;
    this.lastCommitMs = ms;
    this.latency?.observe(ms / 1000);
    this.groupRecords?.inc(records);
    this.opts.onCommitted?.(ms, records);
    for (const p of batch) p.done();
    this.keepBudget();
  }

  /**
   * A failed group: a full disk fails every unit (retrying now would fail too); any other error is
   * retried unit by unit so that one bad unit (say, a state that cannot be serialised) does not
   * fail its neighbours.
   */
  private failed(batch: Pending[], err: GridwatchError): void {
    this.opts.onError?.(err);
    if (batch.length === 1 || err.code === 'STORAGE_FULL') {
      for (const p of batch) p.done(err);
      return;
    }
    for (const p of batch) {
      try {
        this.store.commitMany([p.unit]);
        this.progress.committed++;
        p.done();
      } catch (e) {
        this.progress.failed++;
        p.done(toGridwatchError(e, 'STORAGE_FAILED'));
      }
    }
    this.keepBudget();
  }

  private keepBudget(): void {
    if (!this.store.overBudget()) return;
    try {
      this.store.enforceBudget();
    } catch (err) {
      this.opts.onError?.(toGridwatchError(err, 'STORAGE_FAILED'));
    }
  }
}

/** The longest a slow commit stretches the next group's wait (ms): a PUBACK waits at most this plus two commits. */
export const ADAPTIVE_DELAY_CAP_MS = 20;
