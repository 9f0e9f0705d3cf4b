/** The edge store's records. Values are JSON text produced once by the pipeline and never re-parsed here. */

/** control = anomalies, gaps, edge-status, topology (never evicted); readings = grid.readings (evictable). */
export type Lane = 'control' | 'readings';
export const LANES: readonly Lane[] = ['control', 'readings'];

export interface OutboxRecord {
  topic: string;
  key: string;
  /** JSON text of the v1 record. */
  value: string;
  lane: Lane;
  /** Event time, epoch ms. */
  ts: number;
  meterId?: string;
  seq?: number | null;
}

export type StoredRecord = OutboxRecord & { id: number };

export interface DeadLetter {
  receivedAt: number;
  topic: string;
  clientId: string | null;
  reason: string;
  detail: string;
  /** Truncated to DEAD_LETTER_PAYLOAD_MAX bytes when stored. */
  payload: Buffer | string;
}

export interface CommitUnit {
  records: OutboxRecord[];
  /** Per-meter detector state (any JSON-serialisable value), upserted in the same transaction. */
  meterStates?: Iterable<[string, unknown]>;
  deadLetters?: DeadLetter[];
  /**
   * Full detector snapshots of some meters (`[id, detector.exportMeter(id)]`), taken right after
   * this unit's readings were judged: a rolling checkpoint. Written in the same transaction; each
   * covers every outbox row up to and including this unit's records. See README "Detector state".
   */
  checkpoint?: Iterable<[string, unknown]>;
}

export interface StoreStats {
  /** Rows waiting for Kafka (both lanes). */
  depth: number;
  /** Estimated bytes on disk of all outbox rows (waiting and kept for replay), what the budget limits. */
  bytes: number;
  /** Event time of the oldest waiting row, null when empty. */
  oldestTs: number | null;
  byLane: Record<Lane, number>;
  gapsRecorded: number;
  gapReadings: number;
  deadLetters: number;
}

export interface Checkpoint {
  states: Map<string, unknown>;
  /** Replay horizon: the oldest per-meter checkpoint; the journal is kept from here on. */
  coversId: number;
  /** Per meter: the highest outbox id whose effects its snapshot includes. */
  coversByMeter: Map<string, number>;
  writtenAt: number;
}
