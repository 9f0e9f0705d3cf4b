import type Database from 'better-sqlite3';
import { ROW_OVERHEAD_BYTES } from './schema.ts';

/** Every statement the store runs, prepared once. `?` order is documented by the call sites. */
export class StoreStatements {
  readonly tx: (fn: () => void) => void;
  readonly insertOutbox: Database.Statement;
  readonly upsertState: Database.Statement;
  readonly allStates: Database.Statement;
  readonly upsertCheckpoint: Database.Statement;
  readonly replayHorizon: Database.Statement;
  readonly replay: Database.Statement;
  readonly allCheckpoint: Database.Statement;
  /** Per lane code (index 0 control, 1 readings): the lane is a literal in each, so the control lane's uses its partial index. */
  readonly byLane: readonly LaneStatements[];
  readonly rowLane: Database.Statement;
  readonly markSent: Database.Statement;
  readonly deleteRow: Database.Statement;
  readonly totalBytes: Database.Statement;
  readonly lastOutboxId: Database.Statement;
  readonly oldestReadings: Database.Statement;
  readonly evictReadingsUpTo: Database.Statement;
  readonly insertGapLog: Database.Statement;
  readonly gapLog: Database.Statement;
  readonly deleteGapLogBefore: Database.Statement;
  readonly insertDeadLetter: Database.Statement;
  readonly trimDeadLetters: Database.Statement;
  readonly deadLetters: Database.Statement;
  readonly deadLetterCount: Database.Statement;
  readonly deleteDeadLettersBefore: Database.Statement;
  readonly metaGet: Database.Statement;
  readonly metaSet: Database.Statement;
  readonly metaAdd: Database.Statement;

  constructor(db: Database.Database) {
    const t = db.transaction((fn: () => void) => fn());
    this.tx = (fn) => t(fn);
    // Size of a row as the budget counts it (same formula as rowBytes in edge-store.ts).
    const size = `length(value) + length(key) + length(topic) + ifnull(length(meter_id), 0) + ${ROW_OVERHEAD_BYTES}`;
    this.insertOutbox = db.prepare('INSERT INTO outbox(lane, topic, key, value, ts, meter_id, seq) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.upsertState = db.prepare('INSERT INTO meter_state(meter_id, state) VALUES (?, ?) ON CONFLICT(meter_id) DO UPDATE SET state = excluded.state');
    this.allStates = db.prepare('SELECT meter_id, state FROM meter_state');
    this.upsertCheckpoint = db.prepare(
      'INSERT INTO meter_checkpoint(meter_id, state, covers_id) VALUES (?, ?, ?) ON CONFLICT(meter_id) DO UPDATE SET state = excluded.state, covers_id = excluded.covers_id',
    );
    this.replayHorizon = db.prepare('SELECT min(covers_id) AS h FROM meter_checkpoint');
    this.allCheckpoint = db.prepare('SELECT meter_id, state, covers_id FROM meter_checkpoint');
    // Rows after the oldest per-meter checkpoint, minus each checkpointed meter's rows its own checkpoint covers.
    this.replay = db.prepare(
      'SELECT o.id, o.topic, o.key, o.value, o.lane, o.ts, o.meter_id, o.seq FROM outbox o LEFT JOIN meter_checkpoint c ON c.meter_id = o.meter_id WHERE o.id > ? AND (c.covers_id IS NULL OR o.id > c.covers_id) ORDER BY o.id',
    );
    this.byLane = [laneStatements(db, 0, size), laneStatements(db, 1, size)];
    this.rowLane = db.prepare('SELECT lane, sent FROM outbox WHERE id = ?');
    this.markSent = db.prepare('UPDATE outbox SET sent = 1 WHERE id = ?');
    this.deleteRow = db.prepare(`DELETE FROM outbox WHERE id = ? RETURNING ${size} AS b`);
    this.totalBytes = db.prepare(`SELECT sum(${size}) AS b, max(CASE WHEN sent = 1 THEN id END) AS flagged FROM outbox`);
    this.lastOutboxId = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
    // Waiting readings above the watermark (?1), oldest first.
    this.oldestReadings = db.prepare(`SELECT id, meter_id, ts, seq, ${size} AS b FROM outbox WHERE lane = 1 AND sent = 0 AND id > ? ORDER BY id LIMIT ?`);
    this.evictReadingsUpTo = db.prepare('DELETE FROM outbox WHERE lane = 1 AND sent = 0 AND id > ? AND id <= ?');
    this.insertGapLog = db.prepare('INSERT INTO gap_log(recorded_at, meter_id, count, gap) VALUES (?, ?, ?, ?)');
    this.gapLog = db.prepare('SELECT gap FROM gap_log ORDER BY id DESC LIMIT ?');
    this.deleteGapLogBefore = db.prepare('DELETE FROM gap_log WHERE recorded_at < ?');
    this.insertDeadLetter = db.prepare('INSERT INTO dead_letter(received_at, topic, client_id, reason, detail, payload) VALUES (?, ?, ?, ?, ?, ?)');
    this.trimDeadLetters = db.prepare('DELETE FROM dead_letter WHERE id <= (SELECT max(id) FROM dead_letter) - ?');
    this.deadLetters = db.prepare('SELECT received_at, topic, client_id, reason, detail, payload FROM dead_letter ORDER BY id DESC LIMIT ?');
    this.deadLetterCount = db.prepare('SELECT count(*) AS n FROM dead_letter');
    this.deleteDeadLettersBefore = db.prepare('DELETE FROM dead_letter WHERE received_at < ?');
    this.metaGet = db.prepare('SELECT v FROM meta WHERE k = ?');
    this.metaSet = db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
    this.metaAdd = db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = v + excluded.v');
  }
}

/**
 * The statements of one lane. `wm` is the lane's forwarded watermark: rows of the lane with an id
 * up to it are acknowledged; waiting rows are those above it not flagged `sent`.
 */
export interface LaneStatements {
  /** (wm, limit) */
  readonly peek: Database.Statement;
  /** (wm, afterId, limit) */
  readonly peekAfter: Database.Statement;
  /** (wm) */
  readonly waitingCount: Database.Statement;
  /** (wm) event time of the oldest waiting row */
  readonly oldest: Database.Statement;
  /** (from, to): whether a waiting row lies strictly between */
  readonly waitingBetween: Database.Statement;
  /** (first, last) */
  readonly countWaitingInRange: Database.Statement;
  /** (first, last) bytes of every row of the lane in the range, waiting or not */
  readonly bytesInRange: Database.Statement;
  /** (first, last) */
  readonly deleteRange: Database.Statement;
  /** (first, last) waiting rows only */
  readonly bytesWaitingInRange: Database.Statement;
  readonly deleteWaitingRange: Database.Statement;
  readonly markSentRange: Database.Statement;
  /** (upTo) the acknowledged journal below a watermark */
  readonly journalBytesUpTo: Database.Statement;
  readonly deleteUpTo: Database.Statement;
  /** (wm, upTo) rows flagged sent above the watermark (live tail) */
  readonly flaggedBytes: Database.Statement;
  readonly deleteFlagged: Database.Statement;
}

function laneStatements(db: Database.Database, lane: 0 | 1, size: string): LaneStatements {
  const cols = 'id, topic, key, value, lane, ts, meter_id, seq';
  const l = `lane = ${lane}`;
  return {
    peek: db.prepare(`SELECT ${cols} FROM outbox WHERE ${l} AND id > ? AND sent = 0 ORDER BY id LIMIT ?`),
    peekAfter: db.prepare(`SELECT ${cols} FROM outbox WHERE ${l} AND id > ? AND id > ? AND sent = 0 ORDER BY id LIMIT ?`),
    waitingCount: db.prepare(`SELECT count(*) AS n FROM outbox WHERE ${l} AND id > ? AND sent = 0`),
    oldest: db.prepare(`SELECT ts FROM outbox WHERE ${l} AND id > ? AND sent = 0 ORDER BY id LIMIT 1`),
    waitingBetween: db.prepare(`SELECT 1 AS x FROM outbox WHERE ${l} AND id > ? AND id < ? AND sent = 0 LIMIT 1`),
    countWaitingInRange: db.prepare(`SELECT count(*) AS n FROM outbox WHERE ${l} AND id BETWEEN ? AND ? AND sent = 0`),
    bytesInRange: db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE ${l} AND id BETWEEN ? AND ?`),
    deleteRange: db.prepare(`DELETE FROM outbox WHERE ${l} AND id BETWEEN ? AND ?`),
    bytesWaitingInRange: db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE ${l} AND id BETWEEN ? AND ? AND sent = 0`),
    deleteWaitingRange: db.prepare(`DELETE FROM outbox WHERE ${l} AND id BETWEEN ? AND ? AND sent = 0`),
    markSentRange: db.prepare(`UPDATE outbox SET sent = 1 WHERE ${l} AND id BETWEEN ? AND ? AND sent = 0`),
    journalBytesUpTo: db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE ${l} AND id <= ?`),
    deleteUpTo: db.prepare(`DELETE FROM outbox WHERE ${l} AND id <= ?`),
    flaggedBytes: db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE ${l} AND id > ? AND id <= ? AND sent = 1`),
    deleteFlagged: db.prepare(`DELETE FROM outbox WHERE ${l} AND id > ? AND id <= ? AND sent = 1`),
  };
}
