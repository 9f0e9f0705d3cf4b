import type { StoredRecord } from './types.ts';

/**
 * The newest waiting rows of one outbox lane, kept in memory as they were committed, so the
 * forwarder takes them from here instead of reading them back from SQLite (the read-back was
 * 3.8 % of the gateway's CPU in the paced fleet profile, edge/README.md "perf12").
 *
 * Invariant (what EdgeStore relies on): the rows held are a SUFFIX of the lane's waiting rows in
 * id order: every waiting row with an id >= the first one held is held. So when the count held
 * equals the lane's waiting count, memory holds every waiting row and SQLite need not be read.
 * Past the bound the oldest rows held are dropped (they stay in SQLite, and are read from there),
 * which keeps the suffix. After a restart nothing is held until new commits arrive. Rows leave
 * when they stop waiting (acknowledged, evicted), in the same call that changes the store's counts.
 */
export class FreshRows {
  private rows: StoredRecord[] = [];
  private head = 0;
  private heldBytes = 0;

  /** At most maxBytes of rows (counted as the store's budget counts them), at most maxRows rows. */
  constructor(
    private readonly maxBytes: number,
    private readonly maxRows: number,
    private readonly sizeOf: (r: StoredRecord) => number,
  ) {}

  get size(): number {
    return this.rows.length - this.head;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  first(): StoredRecord | undefined {
    return this.rows[this.head];
  }

  /** A committed row (ids only grow). */
  push(r: StoredRecord): void {
    this.rows.push(r);
    this.heldBytes += this.sizeOf(r);
    while (this.size > 0 && (this.heldBytes > this.maxBytes || this.size > this.maxRows)) this.dropHead();
  }

  /** The oldest `limit` rows held. */
  take(limit: number): StoredRecord[] {
    return this.rows.slice(this.head, this.head + limit);
  }

  /** The oldest `limit` rows held with an id above `afterId`. */
  after(afterId: number, limit: number): StoredRecord[] {
    const from = this.indexAbove(afterId);
    return this.rows.slice(from, from + limit);
  }

  /** Rows with an id in [firstId, lastId] stop waiting. */
  removeRange(firstId: number, lastId: number): void {
    if (this.size === 0 || lastId < firstId) return;
    const from = this.indexAbove(firstId - 1);
    const to = this.indexAbove(lastId);
    if (to <= from) return;
    for (let i = from; i < to; i++) this.heldBytes -= this.sizeOf(this.rows[i]!);
    if (from === this.head) {
      this.head = to;
      this.compact();
    } else {
      this.rows.splice(from, to - from);
    }
  }

  /** Rows with an id in `ids` stop waiting (EdgeStore.remove: any set of ids). */
  removeIds(ids: ReadonlySet<number>): void {
    if (this.size === 0 || ids.size === 0) return;
    const kept: StoredRecord[] = [];
    for (let i = this.head; i < this.rows.length; i++) {
      const r = this.rows[i]!;
      if (ids.has(r.id)) this.heldBytes -= this.sizeOf(r);
      else kept.push(r);
    }
    this.rows = kept;
    this.head = 0;
  }

  clear(): void {
    this.rows = [];
    this.head = 0;
    this.heldBytes = 0;
  }

  private dropHead(): void {
    this.heldBytes -= this.sizeOf(this.rows[this.head]!);
    this.head++;
    this.compact();
  }

  /** Index of the first row held with an id above `id` (binary search: ids are increasing). */
  private indexAbove(id: number): number {
    let lo = this.head;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    if (this.head === this.rows.length) {
      this.rows = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.rows.length) {
      this.rows = this.rows.slice(this.head);
      this.head = 0;
    }
  }
}
