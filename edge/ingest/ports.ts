/**
 * What the intake needs from the durable store, as structural types: the SQLite store
 * (edge/store) satisfies them, and unit tests pass an in-memory committer. Mirrors
 * edge/store's CommitUnit so that the intake never imports SQLite.
 */
export type Lane = 'control' | 'readings';

export interface OutboxRecord {
  topic: string;
  key: string;
  value: string;
  lane: Lane;
  ts: number;
  meterId?: string;
  seq?: number | null;
}

export interface DeadLetter {
  receivedAt: number;
  topic: string;
  clientId: string | null;
  reason: string;
  detail: string;
  payload: Buffer | string;
}

export interface CommitUnit {
  records: OutboxRecord[];
  meterStates?: Iterable<[string, unknown]>;
  deadLetters?: DeadLetter[];
}

/** Group committer: `done` runs once the unit is durable (or failed). Units commit in submit order. */
export interface Committer {
  submit(unit: CommitUnit, done: (err?: Error) => void): void;
}
