import type Database from 'better-sqlite3';

/**
 * Tables of the edge store. The outbox is one table ordered by an AUTOINCREMENT id (ids never
 * reused, so "covers up to id N" stays meaningful across deletes). What Kafka acknowledged is a
 * watermark per lane in `meta` (`forwarded_control`, `forwarded_readings`: every row of the lane
 * with an id up to it is acknowledged), not a flag per row, so an acknowledged batch costs one
 * meta row instead of an UPDATE per row; acknowledged rows are kept only as the replay journal
 * until the next detector checkpoint and then deleted by id range. `sent = 1` is left for rows
 * acknowledged out of order above the watermark (the forwarder's opt-in live tail) and for
 * databases of schema 1. No index on the readings: a reading's insert touches the table's b-tree
 * only; the readings lane is read by rowid range (`id > watermark`), the control lane (sparse
 * among the readings) through the partial index `outbox_control`.
 */
export const SCHEMA_VERSION = 2;

const DDL = `
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lane INTEGER NOT NULL,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  ts INTEGER NOT NULL,
  meter_id TEXT,
  seq INTEGER,
  sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_control ON outbox(id) WHERE lane = 0;
CREATE TABLE IF NOT EXISTS meter_state (meter_id TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meter_checkpoint (meter_id TEXT PRIMARY KEY, state TEXT NOT NULL, covers_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS meter_checkpoint_covers ON meter_checkpoint(covers_id);
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  topic TEXT NOT NULL,
  client_id TEXT,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letter_received ON dead_letter(received_at);
CREATE TABLE IF NOT EXISTS gap_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recorded_at INTEGER NOT NULL,
  meter_id TEXT NOT NULL,
  count INTEGER NOT NULL,
  gap TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gap_log_recorded ON gap_log(recorded_at);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
`;

export function applySchema(db: Database.Database, synchronous: 'NORMAL' | 'FULL'): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  // After a checkpoint resets the WAL, truncate the file back to this size so disk use stays bounded.
  db.pragma('journal_size_limit = 67108864');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -16000');
  db.exec(DDL);
  db.prepare('INSERT OR IGNORE INTO meta(k, v) VALUES (?, ?)').run('schema_version', SCHEMA_VERSION);
}

/**
 * Schema 1 -> 2: the watermarks are derived from the `sent` flags (the oldest waiting row of each
 * lane, minus one; every row below it was acknowledged), then the two flag indexes are dropped.
 * Rows flagged `sent = 1` above a watermark stay flagged and are skipped as before. Run after
 * applySchema, before any statement reads the watermarks.
 */
export function migrateToWatermarks(db: Database.Database): void {
  const has = db.prepare("SELECT 1 FROM meta WHERE k = 'forwarded_readings'").get() !== undefined;
  if (!has) {
    const last = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined)?.seq ?? 0;
    const set = db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
    db.transaction(() => {
      for (const [lane, code] of Object.entries(LANE_CODE)) {
        const oldest = db.prepare('SELECT min(id) AS id FROM outbox WHERE lane = ? AND sent = 0').get(code) as { id: number | null };
        set.run(`forwarded_${lane}`, oldest.id === null ? last : oldest.id - 1);
      }
    })();
  }
  db.exec('DROP INDEX IF EXISTS outbox_waiting; DROP INDEX IF EXISTS outbox_journal;');
  db.prepare("UPDATE meta SET v = ? WHERE k = 'schema_version' AND v < ?").run(SCHEMA_VERSION, SCHEMA_VERSION);
}

/**
 * Per-row bytes on top of the text columns: rowid, integers, record header, index entry and page
 * slack. An estimate (measured: about 60-90 bytes per row in SQLite 3.4x for this table), reconciled
 * with the real rows at open.
 */
export const ROW_OVERHEAD_BYTES = 80;

export const LANE_CODE = { control: 0, readings: 1 } as const;
