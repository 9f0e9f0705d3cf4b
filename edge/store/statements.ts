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
  readonly journalBytesUpTo: Database.Statement;
  readonly deleteJournalUpTo: Database.Statement;
  readonly peek: Database.Statement;
  readonly peekAfter: Database.Statement;
  readonly markSent: Database.Statement;
  readonly deleteWaiting: Database.Statement;
  readonly waitingBytesInRange: Database.Statement;
  readonly deleteWaitingRange: Database.Statement;
  readonly markSentRange: Database.Statement;
  readonly waitingByLane: Database.Statement;
  readonly totalBytes: Database.Statement;
  readonly lastOutboxId: Database.Statement;
  readonly oldest: Database.Statement;
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
    this.journalBytesUpTo = db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE sent = 1 AND id <= ?`);
    this.deleteJournalUpTo = db.prepare('DELETE FROM outbox WHERE sent = 1 AND id <= ?');
    this.peek = db.prepare('SELECT id, topic, key, value, lane, ts, meter_id, seq FROM outbox WHERE lane = ? AND sent = 0 ORDER BY id LIMIT ?');
    this.peekAfter = db.prepare('SELECT id, topic, key, value, lane, ts, meter_id, seq FROM outbox WHERE lane = ? AND sent = 0 AND id > ? ORDER BY id LIMIT ?');
    this.markSent = db.prepare('UPDATE outbox SET sent = 1 WHERE id = ? AND sent = 0 RETURNING lane');
    this.deleteWaiting = db.prepare(`DELETE FROM outbox WHERE id = ? AND sent = 0 RETURNING lane, ${size} AS b`);
    // A forwarded batch as one id range of one lane (removeRange): the (lane, id) index of waiting rows.
    this.waitingBytesInRange = db.prepare(`SELECT sum(${size}) AS b FROM outbox WHERE lane = ? AND sent = 0 AND id BETWEEN ? AND ?`);
    this.deleteWaitingRange = db.prepare('DELETE FROM outbox WHERE lane = ? AND sent = 0 AND id BETWEEN ? AND ?');
    this.markSentRange = db.prepare('UPDATE outbox SET sent = 1 WHERE lane = ? AND sent = 0 AND id BETWEEN ? AND ?');
    this.waitingByLane = db.prepare('SELECT lane, count(*) AS n FROM outbox WHERE sent = 0 GROUP BY lane');
    this.totalBytes = db.prepare(`SELECT sum(${size}) AS b FROM outbox`);
    this.lastOutboxId = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
    this.oldest = db.prepare(
      'SELECT min(ts) AS ts FROM (SELECT ts FROM (SELECT ts FROM outbox WHERE lane = 0 AND sent = 0 ORDER BY id LIMIT 1) UNION ALL SELECT ts FROM (SELECT ts FROM outbox WHERE lane = 1 AND sent = 0 ORDER BY id LIMIT 1))',
    );
    this.oldestReadings = db.prepare(`SELECT id, meter_id, ts, seq, ${size} AS b FROM outbox WHERE lane = 1 AND sent = 0 ORDER BY id LIMIT ?`);
    this.evictReadingsUpTo = db.prepare('DELETE FROM outbox WHERE lane = ? AND sent = 0 AND id <= ?');
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
