// Rebalance hand-over of correlation state through a compacted topic (grid.central-state, key
// substationId). The owner of a substation writes a snapshot whenever the substation's state may
// have changed, always before it returns from the batch that changed it, and once more when it
// leaves. Every instance reads the whole topic; the one that is assigned an anomalies partition
// imports the latest snapshots of that partition's substations and skips the replayed anomalies
// the snapshot already contains (offset below the snapshot's `nextOffset`). See central/README.md.

export const SNAPSHOT_VERSION = 1;

export interface Snapshot<S = unknown> {
  v: number;
  substationId: string;
  /** Partition of the anomalies topic the substation's key maps to. */
  partition: number;
  /** Next anomalies offset not yet in `state` (null: no anomaly seen, only heartbeats). */
  nextOffset: string | null;
  state: S;
  writtenAt: number;
  instance: string;
}

export function encodeSnapshot<S>(s: Snapshot<S>): string {
  return JSON.stringify(s);
}

export function decodeSnapshot(value: string): Snapshot | null {
  try {
    const s = JSON.parse(value) as Partial<Snapshot>;
    if (s.v !== SNAPSHOT_VERSION || typeof s.substationId !== 'string' || typeof s.partition !== 'number' || s.state === undefined) return null;
    return s as Snapshot;
  } catch {
    return null;
  }
}

/** What `apply` needs of a snapshot: its version, substation and partition. */
export interface SnapshotHead {
  substationId: string;
  partition: number;
}

// encodeSnapshot's JSON begins with these three fields in this order.
const HEAD = /^\{"v":(\d+),"substationId":("(?:[^"\\]|\\.)*"),"partition":(\d+),/;

/**
 * The head of a snapshot without parsing its state: from the start of the text when it is in
 * encodeSnapshot's form, else from a whole decode. Null: another version, or not a snapshot.
 */
export function snapshotHead(value: string): SnapshotHead | null {
  const m = HEAD.exec(value.length > 512 ? value.slice(0, 512) : value);
  if (m === null) {
    const s = decodeSnapshot(value);
    return s === null ? null : { substationId: s.substationId, partition: s.partition };
  }
  if (Number(m[1]) !== SNAPSHOT_VERSION) return null;
  try {
    return { substationId: JSON.parse(m[2]!) as string, partition: Number(m[3]) };
  } catch {
    return null;
  }
}

/**
 * The latest snapshot per substation, as read from the state topic by every instance (bounded by
 * the number of substations), plus where each owned substation is in its anomalies partition.
 * Snapshots are kept as the text read and decoded whole only when their partition is adopted:
 * every instance reads every snapshot, and adopts a few at a rebalance (a CPU profile of central
 * had the decoding of snapshots it read back among its longest runs; central/README.md).
 */
export class HandoverState {
  private readonly latest = new Map<string, { partition: number; text: string }>();
  /** substation -> next anomalies offset the local correlator has taken in. */
  private readonly position = new Map<string, bigint>();
  /** substation -> replayed anomalies below this offset are already in the imported state. */
  private readonly skipBelow = new Map<string, bigint>();
  /** partition -> substations whose state this instance holds. */
  private readonly byPartition = new Map<number, Set<string>>();
  invalid = 0;

  /** One record of the state topic (a tombstone removes the substation's snapshot). */
  apply(key: string | null, value: string | null): void {
    if (key === null) return;
    if (value === null) {
      this.latest.delete(key);
      return;
    }
    const head = snapshotHead(value);
    if (!head || head.substationId !== key) {
      this.invalid++;
      return;
    }
    this.latest.set(key, { partition: head.partition, text: value });
  }

  get snapshots(): number {
    return this.latest.size;
  }

  /**
   * Snapshots of the substations on one anomalies partition, to import when it is assigned, decoded
   * now: one whose whole text does not decode (its head did) is counted invalid and forgotten.
   */
  forPartition(partition: number): Snapshot[] {
    const out: Snapshot[] = [];
    for (const [key, held] of this.latest) {
      if (held.partition !== partition) continue;
      const s = decodeSnapshot(held.text);
      if (s === null || s.substationId !== key || s.partition !== partition) {
        this.invalid++;
        this.latest.delete(key);
        continue;
      }
      out.push(s);
    }
    return out;
  }

  /** Records an imported snapshot: replayed anomalies below its offset are skipped. */
  adopted(s: Snapshot): void {
    this.track(s.substationId, s.partition);
    if (s.nextOffset !== null) {
      const o = BigInt(s.nextOffset);
      this.skipBelow.set(s.substationId, o);
      this.position.set(s.substationId, o);
    }
  }

  /** Whether an anomaly at `offset` for `substationId` is already in the imported state. */
  isReplay(substationId: string, offset: bigint): boolean {
    const below = this.skipBelow.get(substationId);
    return below !== undefined && offset < below;
  }

  /** The local correlator took in the anomaly at `offset`. */
  consumed(substationId: string, partition: number, offset: bigint): void {
    this.track(substationId, partition);
    const prev = this.position.get(substationId);
    if (prev === undefined || offset + 1n > prev) this.position.set(substationId, offset + 1n);
  }

  track(substationId: string, partition: number): void {
    let set = this.byPartition.get(partition);
    if (!set) this.byPartition.set(partition, (set = new Set()));
    set.add(substationId);
  }

  nextOffset(substationId: string): string | null {
    return this.position.get(substationId)?.toString() ?? null;
  }

  substationsOf(partition: number): string[] {
    return [...(this.byPartition.get(partition) ?? [])];
  }

  /** The partition was revoked: forget its substations (the correlator drops their state). */
  release(partition: number): string[] {
    const subs = this.substationsOf(partition);
    for (const s of subs) {
      this.position.delete(s);
      this.skipBelow.delete(s);
    }
    this.byPartition.delete(partition);
    return subs;
  }
}
