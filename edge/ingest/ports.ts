/**
 * What the intake needs from the durable store. The record shapes are edge/store's own types,
 * imported as types only (erased at run time), so the intake never loads SQLite; unit tests pass
 * an in-memory committer.
 */
import type { CommitUnit } from '../store/types.ts';

export type { CommitUnit, DeadLetter, Lane, OutboxRecord } from '../store/types.ts';

/** Group committer: `done` runs once the unit is durable (or failed). Units commit in submit order. */
export interface Committer {
  submit(unit: CommitUnit, done: (err?: Error) => void): void;
}

/** A group committer that can be told to commit what it holds now. */
export interface FlushableCommitter extends Committer {
  flush(): Promise<void>;
  /** Records submitted and not yet committed. */
  readonly pendingRecords: number;
}

/**
 * Commits as soon as the event loop has handled the input at hand (setImmediate runs after the
 * poll phase, so every socket's chunk read in this turn is in the group), instead of waiting for
 * the committer's timer. One MQTT client's next chunk is read only after its current chunk's
 * PUBACKs (aedes parses a chunk, then waits for every publish in it), so waiting for a timer would
 * idle the gateway; the timer stays as the upper bound.
 *
 * With many slow publishers (a paced fleet: 100 connections at 100 readings/s each) a loop turn
 * holds a few readings, and a commit per turn is an fsync and a WAL write of the same index pages
 * per few readings: the profile's largest item. So a turn commits at once only when it gathered
 * `minRecords` (default 256); smaller groups wait for the committer's timer (maxDelayMs), which
 * bounds the PUBACK delay they add. One fast publisher (a chunk of hundreds of readings) still
 * commits every turn.
 */
export function commitWhenIdle(inner: FlushableCommitter, opts: { minRecords?: number } = {}): Committer {
  const minRecords = opts.minRecords ?? 256;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (inner.pendingRecords >= minRecords) void inner.flush();
  };
  return {
    submit(unit, done) {
      inner.submit(unit, done);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
