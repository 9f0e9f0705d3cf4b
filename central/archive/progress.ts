// The per-partition progress marker, `_progress/<topic>/<partition>.json`. It is written BEFORE the
// data objects of a flush and names that flush's offset range (`pending`), and it records how far
// every earlier flush got (`archivedThrough`). See docs/archive.md for why this gives exactly once.
import { GridwatchError } from '../../shared/index.ts';
import { progressKey } from './layout.ts';
import type { SeenJson } from './seen.ts';
import type { ArchiveSink } from './types.ts';

export interface PendingFlush {
  first: bigint;
  last: bigint;
  keys: string[];
  /** The identity index after this flush (used when it turns out complete). */
  seen?: SeenJson;
}

export interface Progress {
  /** Every record at or below this offset is archived (complete flushes only). */
  archivedThrough: bigint | null;
  /** The flush that was started last; its objects may be all, some or none written. */
  pending: PendingFlush | null;
  /** The identity index as of archivedThrough (what a replay of `pending` starts from). */
  seen?: SeenJson;
}

interface ProgressJson {
  v: 1;
  topic: string;
  partition: number;
  archivedThrough: string | null;
  pending: { first: string; last: string; keys: string[]; seen?: SeenJson } | null;
  seen?: SeenJson;
}

export async function readProgress(sink: ArchiveSink, topic: string, partition: number): Promise<Progress> {
  const body = await sink.get(progressKey(topic, partition));
  if (body === null) return { archivedThrough: null, pending: null };
  try {
    const j = JSON.parse(body.toString('utf8')) as ProgressJson;
    return {
      archivedThrough: j.archivedThrough === null ? null : BigInt(j.archivedThrough),
      pending: j.pending === null ? null : { first: BigInt(j.pending.first), last: BigInt(j.pending.last), keys: j.pending.keys, ...(j.pending.seen ? { seen: j.pending.seen } : {}) },
      ...(j.seen ? { seen: j.seen } : {}),
    };
  } catch (err) {
    // A marker we cannot read must stop the partition: guessing could duplicate or lose records.
    throw new GridwatchError('ARCHIVE_FAILED', `unreadable progress marker ${progressKey(topic, partition)}`, { retryable: false, cause: err });
  }
}

export async function writeProgress(sink: ArchiveSink, topic: string, partition: number, p: Progress): Promise<void> {
  const j: ProgressJson = {
    v: 1,
    topic,
    partition,
    archivedThrough: p.archivedThrough === null ? null : p.archivedThrough.toString(),
    pending: p.pending === null ? null : { first: p.pending.first.toString(), last: p.pending.last.toString(), keys: p.pending.keys, ...(p.pending.seen ? { seen: p.pending.seen } : {}) },
    ...(p.seen ? { seen: p.seen } : {}),
  };
  await sink.put(progressKey(topic, partition), Buffer.from(JSON.stringify(j)), { 'Content-Type': 'application/json' });
}
