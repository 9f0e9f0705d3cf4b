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
}

/**
 * Commits as soon as the event loop has handled the input at hand (setImmediate runs after the
 * poll phase, so every socket's chunk read in this turn is in the group), instead of waiting for
 * the committer's timer. One MQTT client's next chunk is read only after its current chunk's
 * PUBACKs (aedes parses a chunk, then waits for every publish in it), so waiting for a timer would
 * idle the gateway; the timer stays as the upper bound.
 */
export function commitWhenIdle(inner: FlushableCommitter): Committer {
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    void inner.flush();
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
