// Replay: reads archive objects of a time range in key order and re-writes their records into a
// target (InfluxDB or a Kafka topic). Idempotent by construction of the targets: InfluxDB points
// are a function of the record (same series, same timestamp: an overwrite; feeder aggregates carry
// the offset range they are complete through, docs/archive.md), and Kafka records keep their
// identity (readingId, anomalyId + state, eventId + version) so central drops the repeats.
// Resumable: after every durable write the last done key of each kind goes to a checkpoint file.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { GridwatchError } from '../../shared/index.ts';
import type { ArchiveSink } from '../archive/index.ts';
import type { ArchiveKind } from '../archive/layout.ts';
import { keyRange, readObjects, selectKeys, type ArchivedRecord } from './archive-reader.ts';

export interface ReplayBatch {
  kind: ArchiveKind;
  key: string;
  partition: number;
  first: bigint;
  last: bigint;
  /** Record values without `_offset`. */
  values: Record<string, unknown>[];
}

/** Where replayed records go. `write` may buffer; after `flush` resolves everything written is durable. */
export interface ReplayTarget {
  describe(): string;
  write(b: ReplayBatch): Promise<void> | void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Progress {
  kind: ArchiveKind;
  objectsDone: number;
  objectsTotal: number;
  records: number;
  elapsedMs: number;
}

export interface ReplayOptions {
  sink: ArchiveSink;
  target: ReplayTarget;
  from: number;
  to: number;
  kinds: ArchiveKind[];
  /** The archive's key root per kind (its topic's name, prefix included); default the kind itself. */
  roots?: Partial<Record<ArchiveKind, string>>;
  /** Resume from and record progress into this file. */
  checkpointFile?: string;
  /** Flush the target (and write the checkpoint) after about this many records (default 20,000). */
  flushEvery?: number;
  onProgress?: (p: Progress) => void;
  /** Checked between objects: stop cleanly (flush, checkpoint) when it is true. */
  stopRequested?: () => boolean;
  now?: () => number;
}

export interface ReplayResult {
  records: number;
  objects: number;
  /** Objects skipped because the checkpoint says they were replayed. */
  resumedPast: number;
  stopped: boolean;
  elapsedMs: number;
}

interface Checkpoint {
  from: number;
  to: number;
  target: string;
  done: Partial<Record<ArchiveKind, string>>;
}

function readCheckpoint(file: string, o: ReplayOptions): Checkpoint {
  const fresh: Checkpoint = { from: o.from, to: o.to, target: o.target.describe(), done: {} };
  if (!existsSync(file)) return fresh;
  let c: Checkpoint;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (err) {
    throw new GridwatchError('CONFIG_INVALID', `replay: checkpoint ${file} is not readable JSON (${(err as Error).message}); delete it to start over`);
  }
  if (c.from !== o.from || c.to !== o.to || c.target !== fresh.target) {
    throw new GridwatchError('CONFIG_INVALID', `replay: checkpoint ${file} is of another replay (${new Date(c.from).toISOString()}..${new Date(c.to).toISOString()} into ${c.target}); delete it or name another with --checkpoint`);
  }
  return { ...fresh, done: c.done ?? {} };
}

function writeCheckpoint(file: string, c: Checkpoint): void {
  // Written aside and renamed: a crash leaves the old checkpoint or the new one, never half.
  writeFileSync(`${file}.tmp`, JSON.stringify(c) + '\n');
  renameSync(`${file}.tmp`, file);
}

const valuesOf = (records: ArchivedRecord[]) =>
  records.map((r) => {
    const { _offset: _o, ...v } = r.value;
    return v;
  });

/**
 * Replays every object of the kinds, in key order (per hour and substation, partitions in offset
 * order: what the feeder aggregates need). A missing bucket fails the listing; an object that
 * cannot be read stops the replay with its key (ARCHIVE_FAILED) after what came before it was
 * flushed and checkpointed, so a rerun resumes at that object.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const now = o.now ?? Date.now;
  const t0 = now();
  const cp = o.checkpointFile ? readCheckpoint(o.checkpointFile, o) : { from: o.from, to: o.to, target: o.target.describe(), done: {} as Checkpoint['done'] };
  const flushEvery = o.flushEvery ?? 20_000;
  let records = 0;
  let objects = 0;
  let resumedPast = 0;
  let pending = 0;
  const pendingDone: Checkpoint['done'] = {};
  const commit = async () => {
    await o.target.flush();
    Object.assign(cp.done, pendingDone);
    if (o.checkpointFile) writeCheckpoint(o.checkpointFile, cp);
    pending = 0;
  };
  for (const kind of o.kinds) {
    const root = o.roots?.[kind];
    const all = await selectKeys(o.sink, { kind, from: o.from, to: o.to, ...(root ? { root } : {}) });
    const after = cp.done[kind];
    const keys = after === undefined ? all : all.filter((k) => k > after);
    resumedPast += all.length - keys.length;
    let done = all.length - keys.length;
    for await (const obj of readObjects(o.sink, keys, 4)) {
      if (obj.gap) {
        await commit();
        throw new GridwatchError('ARCHIVE_FAILED', `replay: archive object ${obj.gap.key} ${obj.gap.reason}; replayed up to the object before it (checkpoint kept: fix or remove the object and run the same command again)`, { retryable: false, details: { key: obj.gap.key } });
      }
      const range = keyRange(obj.key);
      await o.target.write({ kind, key: obj.key, partition: range?.partition ?? -1, first: range?.first ?? 0n, last: range?.last ?? 0n, values: valuesOf(obj.records) });
      records += obj.records.length;
      pending += obj.records.length;
      objects++;
      done++;
      pendingDone[kind] = obj.key;
      if (pending >= flushEvery) await commit();
      o.onProgress?.({ kind, objectsDone: done, objectsTotal: all.length, records, elapsedMs: now() - t0 });
      if (o.stopRequested?.()) {
        await commit();
        return { records, objects, resumedPast, stopped: true, elapsedMs: now() - t0 };
      }
    }
    await commit();
  }
  // Complete: the checkpoint has done its work, and the same command later replays afresh.
  if (o.checkpointFile) rmSync(o.checkpointFile, { force: true });
  return { records, objects, resumedPast, stopped: false, elapsedMs: now() - t0 };
}

/** `[#######.......]  52%  1,234/2,345 objects  456,789 records  61,000 rec/s  ETA 0:42` */
export function progressLine(p: Progress, width = 24): string {
  const frac = p.objectsTotal > 0 ? p.objectsDone / p.objectsTotal : 1;
  const filled = Math.round(frac * width);
  const rate = p.elapsedMs > 0 ? (p.records / p.elapsedMs) * 1000 : 0;
  const etaS = frac > 0 && frac < 1 ? Math.round(((p.elapsedMs / frac) * (1 - frac)) / 1000) : 0;
  const eta = `${Math.floor(etaS / 60)}:${String(etaS % 60).padStart(2, '0')}`;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `${p.kind.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${n(p.objectsDone)}/${n(p.objectsTotal)} objects  ${n(p.records)} records  ${n(rate)} rec/s  ETA ${eta}`;
}
