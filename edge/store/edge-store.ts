import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GridwatchError, TOPICS, type Clock, type Gap, type Logger, type Metrics } from '../../shared/index.ts';
import { storageError } from './errors.ts';
import { gapsForEviction, type EvictedRow } from './eviction.ts';
import { FreshRows } from './fresh.ts';
import { applySchema, LANE_CODE, migrateToWatermarks, ROW_OVERHEAD_BYTES } from './schema.ts';
import { StoreStatements, type LaneStatements } from './statements.ts';
import type { Checkpoint, CommitUnit, DeadLetter, Lane, OutboxRecord, StoredRecord, StoreStats } from './types.ts';

/** Dead-letter payloads are cut to this many bytes: enough to see what a device sent, bounded against floods. */
export const DEAD_LETTER_PAYLOAD_MAX = 4096;
/** Readings evicted per transaction when over budget. */
const EVICT_CHUNK = 2000;
/** Eviction goes down to this share of the budget, so a full outbox does not evict on every commit. */
const EVICT_LOW_WATER = 0.9;
/** Bytes a gap record adds to the control lane (JSON of about 350 characters plus row overhead). */
const GAP_ROW_ESTIMATE = 450;

export interface EdgeStoreOptions {
  dir: string;
  edgeId: string;
  /** Outbox disk budget in bytes (values + keys + per-row overhead estimate). */
  budgetBytes: number;
  /** FULL by default: see README "Durability". */
  synchronous?: 'NORMAL' | 'FULL';
  clock: Clock;
  logger: Logger;
  /** Dead-letter rows kept (oldest deleted first). Default 10,000. */
  deadLetterMax?: number;
  /** Keep Kafka-acknowledged rows after the last detector checkpoint as the replay journal. Default false. */
  retainForReplay?: boolean;
  metrics?: Metrics;
  /** Hard cap on the database size in pages (SQLite max_page_count); tests use it to simulate a full disk. */
  maxPageCount?: number;
  /** Topic gap records are written to (tests use unique names). Default grid.gaps. */
  gapTopic?: string;
  /**
   * Bound on the newest waiting rows kept in memory per lane for the forwarder (./fresh.ts), in
   * bytes as the budget counts rows. Default 8 MiB (about 20,000 readings: two seconds at
   * 10,000/s, twenty times the forwarder's linger). A backlog past it is read from SQLite.
   */
  memoryBytes?: number;
}

/** Default of EdgeStoreOptions.memoryBytes. */
export const OUTBOX_MEMORY_BYTES = 8 * 1024 * 1024;

export const rowBytes = (r: OutboxRecord): number => r.value.length + r.key.length + r.topic.length + (r.meterId?.length ?? 0) + ROW_OVERHEAD_BYTES;

/**
 * The edge's durable state: outbox (two lanes), detector state, dead letters. Synchronous
 * better-sqlite3 on one connection; every multi-row change is one transaction. Counters (depth,
 * bytes) live in memory, are changed only after a transaction committed, and are reconciled from
 * the rows at open.
 */
export class EdgeStore {
  private readonly db: Database.Database;
  private readonly st: StoreStatements;
  private readonly waiting: Record<Lane, number> = { control: 0, readings: 0 };
  /** Per lane: every row with an id up to it is acknowledged by Kafka (persisted in meta). */
  private readonly forwarded: Record<Lane, number> = { control: 0, readings: 0 };
  /** Per lane: the highest id flagged sent above the watermark (live tail; 0: none). */
  private readonly flagged: Record<Lane, number> = { control: 0, readings: 0 };
  /** Per lane: the newest waiting rows, as committed (./fresh.ts). */
  private readonly fresh: Record<Lane, FreshRows>;
  /** Per lane: what the last peek returned, so removeRange of it needs no count query. */
  private readonly lastPeek: Record<Lane, { first: number; last: number; n: number; evictions: number } | null> = { control: null, readings: null };
  /** Eviction passes since open: a peeked batch's rows may have been evicted while it was in flight. */
  private evictions = 0;
  private bytes = 0;
  private lastId = 0;
  private checkpointId = 0;
  private gapsRecorded = 0;
  private gapReadings = 0;
  private deadLetterCount = 0;
  private lastLoudAt = 0;
  private readonly deadLetterMax: number;
  private readonly metrics: StoreMetrics | null;

  private constructor(private readonly opts: EdgeStoreOptions) {
    fs.mkdirSync(opts.dir, { recursive: true });
    try {
      this.db = new Database(path.join(opts.dir, 'edge.db'));
      applySchema(this.db, opts.synchronous ?? 'FULL');
      migrateToWatermarks(this.db);
      if (opts.maxPageCount !== undefined) this.db.pragma(`max_page_count = ${Math.floor(opts.maxPageCount)}`);
      this.st = new StoreStatements(this.db);
    } catch (err) {
      throw storageError(err, `opening edge store in ${opts.dir}`);
    }
    this.deadLetterMax = opts.deadLetterMax ?? 10_000;
    const mem = opts.memoryBytes ?? OUTBOX_MEMORY_BYTES;
    this.fresh = { control: new FreshRows(mem, Number.MAX_SAFE_INTEGER, rowBytes), readings: new FreshRows(mem, Number.MAX_SAFE_INTEGER, rowBytes) };
    this.reconcile();
    this.metrics = opts.metrics ? new StoreMetrics(opts.metrics, this, opts.clock) : null;
  }

  static open(opts: EdgeStoreOptions): EdgeStore {
    return new EdgeStore(opts);
  }

  private reconcile(): void {
    const b = this.st.totalBytes.get() as { b: number | null; flagged: number | null };
    this.bytes = b.b ?? 0;
    for (const lane of ['control', 'readings'] as const) {
      this.forwarded[lane] = Number(this.meta(`forwarded_${lane}`) ?? 0);
      this.waiting[lane] = (this.lane(lane).waitingCount.get(this.forwarded[lane]) as { n: number }).n;
      // Over-estimated (either lane's highest flagged row): it only decides whether a range query runs.
      this.flagged[lane] = b.flagged ?? 0;
    }
    this.lastId = (this.st.lastOutboxId.get() as { seq: number } | undefined)?.seq ?? 0;
    this.checkpointId = Number(this.meta('checkpoint_id') ?? 0);
    this.gapsRecorded = Number(this.meta('gaps_recorded') ?? 0);
    this.gapReadings = Number(this.meta('gap_readings') ?? 0);
    this.deadLetterCount = (this.st.deadLetterCount.get() as { n: number }).n;
  }

  private lane(lane: Lane): LaneStatements {
    return this.st.byLane[LANE_CODE[lane]]!;
  }

  private meta(k: string): unknown {
    return (this.st.metaGet.get(k) as { v: unknown } | undefined)?.v;
  }

  /** One transaction: the units' outbox rows, meter states, dead letters and checkpoint. Nothing if it throws. */
  commit(unit: CommitUnit): void {
    this.commitMany([unit]);
  }

  /** Several units in ONE transaction (the group committer's path). */
  commitMany(units: readonly CommitUnit[]): void {
    const delta: Delta = { control: 0, readings: 0, bytes: 0, lastId: this.lastId, dead: 0, checkpointId: this.checkpointId, journalFreed: 0, checkpointed: false, rows: [] };
    try {
      this.st.tx(() => {
        for (const u of units) this.writeUnit(u, delta);
        // Once per group, not per unit: the horizon (the oldest covers_id) is read after every
        // snapshot of the group is upserted, so it is the same as after the last unit's advance.
        if (delta.checkpointed) this.advanceHorizon(delta);
      });
    } catch (err) {
      throw storageError(err, 'committing to the outbox');
    }
    // Committed: the forwarder takes these from memory (./fresh.ts).
    for (const r of delta.rows) this.fresh[r.lane].push(r);
    this.waiting.control += delta.control;
    this.waiting.readings += delta.readings;
    this.bytes += delta.bytes - delta.journalFreed;
    this.lastId = delta.lastId;
    this.checkpointId = delta.checkpointId;
    this.deadLetterCount = Math.min(this.deadLetterMax, this.deadLetterCount + delta.dead);
  }

  private writeUnit(u: CommitUnit, d: Delta): void {
    const ins = this.st.insertOutbox;
    for (const r of u.records) {
      const id = Number(ins.run(LANE_CODE[r.lane], r.topic, r.key, r.value, r.ts, r.meterId ?? null, r.seq ?? null).lastInsertRowid);
      d.lastId = id;
      d[r.lane]++;
      d.bytes += rowBytes(r);
      d.rows.push(storedOf(r, id));
    }
    if (u.meterStates !== undefined) {
      for (const [id, s] of u.meterStates) this.st.upsertState.run(id, JSON.stringify(s));
    }
    if (u.deadLetters !== undefined && u.deadLetters.length > 0) {
      for (const dl of u.deadLetters) {
        const payload = typeof dl.payload === 'string' ? Buffer.from(dl.payload) : dl.payload;
        this.st.insertDeadLetter.run(dl.receivedAt, dl.topic, dl.clientId, dl.reason, dl.detail.slice(0, 1024), payload.subarray(0, DEAD_LETTER_PAYLOAD_MAX));
        d.dead++;
      }
      this.st.trimDeadLetters.run(this.deadLetterMax);
    }
    if (u.checkpoint !== undefined) {
      // Each snapshot covers every outbox row up to this unit's last record.
      let n = 0;
      for (const [id, s] of u.checkpoint) {
        this.st.upsertCheckpoint.run(id, JSON.stringify(s), d.lastId);
        n++;
      }
      if (n > 0) d.checkpointed = true;
    }
  }

  /** The replay horizon is the oldest per-meter checkpoint; the journal before it is not needed any more. */
  private advanceHorizon(d: { checkpointId: number; journalFreed: number }): void {
    const h = (this.st.replayHorizon.get() as { h: number | null }).h ?? 0;
    this.st.metaSet.run('checkpoint_at', this.opts.clock.now());
    if (h <= d.checkpointId) return;
    d.checkpointId = h;
    this.st.metaSet.run('checkpoint_id', h);
    d.journalFreed += this.deleteJournal(h);
  }

  /**
   * Deletes the acknowledged rows up to `h` (the journal below the replay horizon, or all of it)
   * by id range per lane; returns their bytes. Inside a transaction.
   */
  private deleteJournal(h: number): number {
    let freed = 0;
    for (const lane of ['control', 'readings'] as const) {
      const st = this.lane(lane);
      const upTo = Math.min(h, this.forwarded[lane]);
      freed += (st.journalBytesUpTo.get(upTo) as { b: number | null }).b ?? 0;
      st.deleteUpTo.run(upTo);
      if (this.flagged[lane] > this.forwarded[lane]) {
        const to = Math.min(h, this.flagged[lane]);
        freed += (st.flaggedBytes.get(this.forwarded[lane], to) as { b: number | null }).b ?? 0;
        st.deleteFlagged.run(this.forwarded[lane], to);
      }
    }
    return freed;
  }

  /** Latest detector states written with commits (meterStates), by meter id. */
  loadMeterStates(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const row of this.st.allStates.iterate() as Iterable<{ meter_id: string; state: string }>) out.set(row.meter_id, JSON.parse(row.state));
    return out;
  }

  /** Per-meter checkpoints (snapshot and the outbox id it covers), or null if none was written. */
  loadCheckpoint(): Checkpoint | null {
    const at = this.meta('checkpoint_at');
    if (at === undefined) return null;
    const states = new Map<string, unknown>();
    const coversByMeter = new Map<string, number>();
    for (const row of this.st.allCheckpoint.iterate() as Iterable<{ meter_id: string; state: string; covers_id: number }>) {
      states.set(row.meter_id, JSON.parse(row.state));
      coversByMeter.set(row.meter_id, row.covers_id);
    }
    return { states, coversId: this.checkpointId, coversByMeter, writtenAt: Number(at) };
  }

  /** Whether the journal after the checkpoint lost rows (evicted under disk pressure), so replay is partial. */
  replayIncomplete(): boolean {
    return Number(this.meta('journal_lost_upto') ?? 0) > this.checkpointId;
  }

  /**
   * Outbox rows (both lanes, sent or not) that no checkpoint covers, oldest first: for a
   * checkpointed meter the rows after its own checkpoint, for other meters (and rows without a
   * meter) every row after the replay horizon.
   */
  *replayAfterCheckpoint(): IterableIterator<StoredRecord> {
    for (const row of this.st.replay.iterate(this.checkpointId) as Iterable<RawRow>) yield toStored(row);
  }

  /** Oldest waiting rows of a lane, in id order. */
  peek(lane: Lane, limit: number): StoredRecord[] {
    // Memory holds a suffix of the waiting rows: all of them when the counts agree.
    const mem = this.fresh[lane];
    const rows = mem.size === this.waiting[lane] ? mem.take(limit) : (this.lane(lane).peek.all(this.forwarded[lane], limit) as RawRow[]).map(toStored);
    this.lastPeek[lane] = rows.length === 0 ? null : { first: rows[0]!.id, last: rows[rows.length - 1]!.id, n: rows.length, evictions: this.evictions };
    return rows;
  }

  /**
   * Oldest waiting rows of a lane with an id above `afterId` (the forwarder's live tail during a
   * backlog drain). removeRange of such a batch is exact too: no waiting row of the lane with an id
   * in [first, last] was left out, as ids only grow.
   */
  peekAfter(lane: Lane, afterId: number, limit: number): StoredRecord[] {
    const mem = this.fresh[lane];
    const first = mem.first();
    if (mem.size === this.waiting[lane] || (first !== undefined && first.id <= afterId + 1)) return mem.after(afterId, limit);
    return (this.lane(lane).peekAfter.all(this.forwarded[lane], afterId, limit) as RawRow[]).map(toStored);
  }

  /** Rows of the lane held in memory for the forwarder (./fresh.ts), and their bytes. */
  memoryHeld(lane: Lane): { rows: number; bytes: number } {
    return { rows: this.fresh[lane].size, bytes: this.fresh[lane].bytes };
  }

  /** Rows of a lane waiting for Kafka (a counter: no query). */
  waitingIn(lane: Lane): number {
    return this.waiting[lane];
  }

  /** Id of the newest outbox row committed (0 before any). */
  newestId(): number {
    return this.lastId;
  }

  /**
   * Kafka acknowledged these rows (any set of ids): delete them, or keep them as the replay journal
   * (retainForReplay), flagged sent. One statement per row: the forwarder's path is removeRange.
   */
  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const retain = this.opts.retainForReplay === true;
    const changed = { control: 0, readings: 0 };
    const gone = { control: new Set<number>(), readings: new Set<number>() };
    const flagged = { ...this.flagged };
    let freed = 0;
    try {
      this.st.tx(() => {
        for (const id of ids) {
          const row = this.st.rowLane.get(id) as { lane: number; sent: number } | undefined;
          if (row === undefined || row.sent === 1) continue;
          const lane: Lane = row.lane === LANE_CODE.control ? 'control' : 'readings';
          if (id <= this.forwarded[lane]) continue;
          if (retain && id > this.checkpointId) {
            this.st.markSent.run(id);
            flagged[lane] = Math.max(flagged[lane], id);
          } else {
            freed += (this.st.deleteRow.get(id) as { b: number }).b;
          }
          changed[lane]++;
          gone[lane].add(id);
        }
      });
    } catch (err) {
      throw storageError(err, 'removing forwarded rows');
    }
    for (const lane of ['control', 'readings'] as const) {
      this.lastPeek[lane] = null;
      this.waiting[lane] -= changed[lane];
      this.flagged[lane] = flagged[lane];
      this.fresh[lane].removeIds(gone[lane]);
    }
    this.bytes -= freed;
  }

  /**
   * Kafka acknowledged a batch that peek(lane) or peekAfter(lane) returned: every waiting row of
   * `lane` with id in [firstId, lastId]. The usual case, a batch starting at the lane's oldest
   * waiting row, moves the lane's watermark to lastId: one meta row, no change per row; rows the
   * replay journal does not need (at or below the detector checkpoint) are deleted by range. A
   * batch above older waiting rows (the live tail) flags its rows sent instead, one range UPDATE.
   */
  removeRange(lane: Lane, firstId: number, lastId: number): void {
    const wm = this.forwarded[lane];
    if (lastId < firstId || lastId <= wm) return;
    const st = this.lane(lane);
    const from = Math.max(firstId, wm + 1);
    const p = this.lastPeek[lane];
    const fromPeek = p !== null && p.first === firstId && p.last === lastId && p.evictions === this.evictions;
    // A prefix: no waiting row of the lane between the watermark and the batch. A batch of the last
    // peek() is one (peek returns the oldest waiting rows, and no older row can start waiting).
    const prefix = fromPeek || from === wm + 1 || st.waitingBetween.get(wm, from) === undefined;
    const retain = this.opts.retainForReplay === true;
    const delTo = retain ? Math.min(lastId, this.checkpointId) : lastId;
    let changed = 0;
    let freed = 0;
    try {
      this.st.tx(() => {
        if (prefix) {
          changed = fromPeek && from === firstId ? p.n : (st.countWaitingInRange.get(from, lastId) as { n: number }).n;
          if (from <= delTo) {
            freed = (st.bytesInRange.get(from, delTo) as { b: number | null }).b ?? 0;
            st.deleteRange.run(from, delTo);
          }
          this.st.metaSet.run(`forwarded_${lane}`, lastId);
        } else {
          if (from <= delTo) {
            freed = (st.bytesWaitingInRange.get(from, delTo) as { b: number | null }).b ?? 0;
            changed += st.deleteWaitingRange.run(from, delTo).changes;
          }
          const keepFrom = Math.max(from, delTo + 1);
          if (keepFrom <= lastId) changed += st.markSentRange.run(keepFrom, lastId).changes;
        }
      });
    } catch (err) {
      throw storageError(err, 'removing forwarded rows');
    }
    if (prefix) this.forwarded[lane] = lastId;
    else this.flagged[lane] = Math.max(this.flagged[lane], lastId);
    this.lastPeek[lane] = null;
    this.fresh[lane].removeRange(from, lastId);
    this.waiting[lane] -= changed;
    this.bytes -= freed;
  }

  stats(): StoreStats {
    return {
      depth: this.waiting.control + this.waiting.readings,
      bytes: this.bytes,
      oldestTs: this.oldestTs(),
      byLane: { ...this.waiting },
      gapsRecorded: this.gapsRecorded,
      gapReadings: this.gapReadings,
      deadLetters: this.deadLetterCount,
    };
  }

  private oldestTs(): number | null {
    let oldest: number | null = null;
    for (const lane of ['control', 'readings'] as const) {
      if (this.waiting[lane] === 0) continue;
      const mem = this.fresh[lane];
      const ts = mem.size === this.waiting[lane] ? mem.first()!.ts : ((this.lane(lane).oldest.get(this.forwarded[lane]) as { ts: number } | undefined)?.ts ?? null);
      if (ts !== null && (oldest === null || ts < oldest)) oldest = ts;
    }
    return oldest;
  }

  overBudget(): boolean {
    return this.bytes > this.opts.budgetBytes;
  }

  /**
   * Over budget: first drop the replay journal (already in Kafka), then evict the oldest waiting
   * readings in chunks. Each chunk's deletes and its gap records (one per meter, control lane) are
   * one transaction. Control rows are never evicted; if they alone exceed the budget, log and keep.
   */
  enforceBudget(): Gap[] {
    if (!this.overBudget()) return [];
    const target = this.opts.budgetBytes * EVICT_LOW_WATER;
    const out: Gap[] = [];
    try {
      let journal = 0;
      this.st.tx(() => {
        journal = this.deleteJournal(Number.MAX_SAFE_INTEGER);
        if (journal > 0) this.st.metaSet.run('journal_lost_upto', this.lastId);
      });
      if (journal > 0) {
        this.bytes -= journal;
        this.opts.logger.warn({ freedBytes: journal }, 'outbox over budget: dropped the detector replay journal (already in Kafka); next restart replays partially');
      }
      while (this.bytes > target) {
        const rows = this.st.oldestReadings.all(this.forwarded.readings, EVICT_CHUNK) as (EvictedRow & { b: number })[];
        if (rows.length === 0) break;
        // Evict no more than needed to get down to the low-water mark, counting the gap record
        // each newly touched meter will add.
        let need = this.bytes - target;
        const meters = new Set<string | null>();
        let n = 0;
        while (n < rows.length && need > 0) {
          const r = rows[n++]!;
          need -= r.b;
          if (!meters.has(r.meter_id)) {
            meters.add(r.meter_id);
            need += GAP_ROW_ESTIMATE;
          }
        }
        out.push(...this.evictChunk(rows.slice(0, Math.max(1, n))));
      }
    } catch (err) {
      throw storageError(err, 'evicting readings over the disk budget');
    }
    if (this.bytes > this.opts.budgetBytes) this.controlOverBudget();
    return out;
  }

  private evictChunk(rows: (EvictedRow & { b: number })[]): Gap[] {
    const now = this.opts.clock.now();
    const gaps = gapsForEviction(rows, this.opts.edgeId, now);
    const maxId = rows[rows.length - 1]!.id;
    const gapTopic = this.opts.gapTopic ?? TOPICS.gaps;
    let added = 0;
    let lastId = this.lastId;
    const fresh: StoredRecord[] = [];
    this.st.tx(() => {
      this.st.evictReadingsUpTo.run(this.forwarded.readings, maxId);
      for (const g of gaps) {
        const rec: OutboxRecord = { topic: gapTopic, key: this.opts.edgeId, value: JSON.stringify(g), lane: 'control', ts: g.toTs, meterId: g.meterId, seq: null };
        lastId = Number(this.st.insertOutbox.run(LANE_CODE.control, rec.topic, rec.key, rec.value, rec.ts, rec.meterId, null).lastInsertRowid);
        fresh.push(storedOf(rec, lastId));
        this.st.insertGapLog.run(now, g.meterId, g.count, rec.value);
        added += rowBytes(rec);
      }
      this.st.metaAdd.run('gaps_recorded', gaps.length);
      this.st.metaAdd.run('gap_readings', rows.length);
    });
    this.lastId = lastId;
    this.evictions++;
    this.fresh.readings.removeRange(0, maxId);
    for (const r of fresh) this.fresh.control.push(r);
    this.bytes += added - rows.reduce((s, r) => s + r.b, 0);
    this.waiting.readings -= rows.length;
    this.waiting.control += gaps.length;
    this.gapsRecorded += gaps.length;
    this.gapReadings += rows.length;
    this.metrics?.evicted(rows.length, gaps.length);
    return gaps;
  }

  private controlOverBudget(): void {
    const now = this.opts.clock.now();
    if (now - this.lastLoudAt < 60_000) return;
    this.lastLoudAt = now;
    this.opts.logger.error(
      { bytes: this.bytes, budgetBytes: this.opts.budgetBytes, control: this.waiting.control, readings: this.waiting.readings },
      'outbox over its disk budget with control rows alone (anomalies, gaps, status): keeping them, never evicted; raise the budget or restore the Kafka link',
    );
  }

  /**
   * WAL checkpoint (TRUNCATE: one connection, so nothing to wait for, and the WAL file's disk
   * space is returned) and retention of dead letters and the gap log.
   */
  housekeeping(opts: { deadLetterRetentionMs?: number; gapRetentionMs?: number } = {}): void {
    const now = this.opts.clock.now();
    try {
      if (opts.deadLetterRetentionMs !== undefined) {
        this.st.deleteDeadLettersBefore.run(now - opts.deadLetterRetentionMs);
        this.deadLetterCount = (this.st.deadLetterCount.get() as { n: number }).n;
      }
      if (opts.gapRetentionMs !== undefined) this.st.deleteGapLogBefore.run(now - opts.gapRetentionMs);
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      throw storageError(err, 'housekeeping');
    }
  }

  /** Most recent dead letters first. */
  deadLetters(limit: number): DeadLetter[] {
    return (this.st.deadLetters.all(limit) as { received_at: number; topic: string; client_id: string | null; reason: string; detail: string; payload: Buffer }[]).map((r) => ({
      receivedAt: r.received_at,
      topic: r.topic,
      clientId: r.client_id,
      reason: r.reason,
      detail: r.detail,
      payload: r.payload,
    }));
  }

  /** Recorded gaps (most recent first), kept for gapRetentionMs whether or not they were forwarded. */
  gapLog(limit: number): Gap[] {
    return (this.st.gapLog.all(limit) as { gap: string }[]).map((r) => JSON.parse(r.gap) as Gap);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.opts.logger.warn({ err: storageError(err, 'final WAL checkpoint') }, 'edge store: final WAL checkpoint failed');
    }
    this.db.close();
  }

  isOpen(): boolean {
    return this.db.open;
  }

  /** A passive WAL checkpoint: never blocks the committer (housekeeping; the budget is enforced after every group commit too). */
  walCheckpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** For tests and the benchmark only. */
  sqlite(): Database.Database {
    if (!this.db.open) throw new GridwatchError('SHUTTING_DOWN', 'edge store is closed');
    return this.db;
  }
}

interface RawRow {
  id: number;
  topic: string;
  key: string;
  value: string;
  lane: number;
  ts: number;
  meter_id: string | null;
  seq: number | null;
}

interface Delta {
  control: number;
  readings: number;
  bytes: number;
  lastId: number;
  dead: number;
  checkpointId: number;
  journalFreed: number;
  /** A unit of the group carried checkpoints: the replay horizon is advanced once, at the group's end. */
  checkpointed: boolean;
  /** The committed outbox rows with their ids, for the forwarder's memory once the transaction committed. */
  rows: StoredRecord[];
}

/** The row as peek returns it (the same shape as toStored's). */
function storedOf(r: OutboxRecord, id: number): StoredRecord {
  const out: StoredRecord = { id, topic: r.topic, key: r.key, value: r.value, lane: r.lane, ts: r.ts, seq: r.seq ?? null };
  if (r.meterId !== undefined) out.meterId = r.meterId;
  return out;
}

function toStored(r: RawRow): StoredRecord {
  const out: StoredRecord = { id: r.id, topic: r.topic, key: r.key, value: r.value, lane: r.lane === LANE_CODE.control ? 'control' : 'readings', ts: r.ts, seq: r.seq };
  if (r.meter_id !== null) out.meterId = r.meter_id;
  return out;
}

/** Outbox gauges (read at scrape time) and eviction counters. */
class StoreMetrics {
  private readonly evictedCounter;
  private readonly gapsCounter;
  constructor(m: Metrics, store: EdgeStore, clock: Clock) {
    const clockNow = (): number => clock.now();
    m.gauge('outbox_depth', 'Outbox rows waiting for Kafka', ['lane'], function () {
      const s = store.isOpen() ? store.stats() : null;
      if (s === null) return;
      this.set({ lane: 'control' }, s.byLane.control);
      this.set({ lane: 'readings' }, s.byLane.readings);
    });
    m.gauge('outbox_bytes', 'Outbox bytes on disk (estimate), what the disk budget limits', [], function () {
      if (store.isOpen()) this.set(store.stats().bytes);
    });
    m.gauge('outbox_oldest_age_seconds', 'Age (event time) of the oldest waiting outbox row', [], function () {
      const ts = store.isOpen() ? store.stats().oldestTs : null;
      this.set(ts === null ? 0 : Math.max(0, (clockNow() - ts) / 1000));
    });
    this.evictedCounter = m.counter('outbox_evicted_readings_total', 'Readings evicted from the outbox over the disk budget');
    this.gapsCounter = m.counter('gaps_recorded_total', 'Gap records written for evicted readings');
  }
  evicted(readings: number, gaps: number): void {
    this.evictedCounter.inc(readings);
    this.gapsCounter.inc(gaps);
  }
}
