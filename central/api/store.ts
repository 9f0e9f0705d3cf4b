// What the API shows, kept in memory with hard bounds (see central/README.md "Memory"): grid events
// (every open one, plus a ring of recently closed ones), recent anomalies, each meter's recent
// readings, and each edge gateway's last heartbeat.
import type { Anomaly, EdgeStatus, GridEvent } from '../../shared/index.ts';

/** Deletes the oldest entries (insertion order) of a Map until it holds at most `max`. */
function trim<K, V>(map: Map<K, V>, max: number): number {
  let evicted = 0;
  while (map.size > max) {
    map.delete(map.keys().next().value as K);
    evicted++;
  }
  return evicted;
}

export interface EventFilter {
  state?: 'open' | 'closed';
  scope?: GridEvent['scope'];
  substation?: string;
  type?: string;
  from?: number;
  to?: number;
  limit: number;
}

/** Overlap of [startTs, endTs ?? now] with [from, to]. */
export function overlaps(startTs: number, endTs: number | null, from: number | undefined, to: number | undefined): boolean {
  if (to !== undefined && startTs > to) return false;
  if (from !== undefined && endTs !== null && endTs < from) return false;
  return true;
}

/** Whether an event passes a filter (all but `limit`): memory's and the archive's one predicate. */
export function eventMatches(e: GridEvent, f: Omit<EventFilter, 'limit'>): boolean {
  if (f.state !== undefined && e.state !== f.state) return false;
  if (f.scope !== undefined && e.scope !== f.scope) return false;
  if (f.substation !== undefined && e.substationId !== f.substation) return false;
  if (f.type !== undefined && e.type !== f.type) return false;
  return overlaps(e.startTs, e.endTs, f.from, f.to);
}

export class EventStore {
  private readonly open = new Map<string, GridEvent>();
  private readonly closed = new Map<string, GridEvent>();
  private readonly listeners = new Set<(e: GridEvent) => void>();
  // What the operators did (central/workflow) is laid over each event as it is read, so a new
  // version of the event keeps its acknowledgement, assignee and notes.
  private decorate: (e: GridEvent) => GridEvent = (e) => e;
  stale = 0;

  constructor(private readonly maxClosed: number) {}

  decorateWith(fn: (e: GridEvent) => GridEvent): void {
    this.decorate = fn;
  }

  /** Tells the listeners again about an event whose workflow changed (same version); false when unknown. */
  touch(eventId: string): boolean {
    const e = this.open.get(eventId) ?? this.closed.get(eventId);
    if (!e) return false;
    const shown = this.decorate(e);
    for (const l of this.listeners) l(shown);
    return true;
  }

  /** Keeps the highest version per eventId. Returns true (and tells listeners) when `e` is news. */
  upsert(e: GridEvent): boolean {
    const prev = this.open.get(e.eventId) ?? this.closed.get(e.eventId);
    if (prev && (prev.version > e.version || (prev.version === e.version && prev.state === e.state))) {
      this.stale++;
      return false;
    }
    this.open.delete(e.eventId);
    this.closed.delete(e.eventId);
    if (e.state === 'open') this.open.set(e.eventId, e);
    else {
      this.closed.set(e.eventId, e);
      trim(this.closed, this.maxClosed);
    }
    if (this.listeners.size > 0) {
      const shown = this.decorate(e);
      for (const l of this.listeners) l(shown);
    }
    return true;
  }

  onChange(listener: (e: GridEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(eventId: string): GridEvent | undefined {
    const e = this.open.get(eventId) ?? this.closed.get(eventId);
    return e && this.decorate(e);
  }

  counts(): { open: number; closed: number } {
    return { open: this.open.size, closed: this.closed.size };
  }

  /** The open events, in no particular order. */
  openEvents(): IterableIterator<GridEvent> {
    return this.open.values();
  }

  query(f: EventFilter): GridEvent[] {
    const sources = f.state === 'open' ? [this.open] : f.state === 'closed' ? [this.closed] : [this.open, this.closed];
    const out: GridEvent[] = [];
    for (const src of sources) {
      for (const e of src.values()) if (eventMatches(e, { ...f, state: undefined })) out.push(e);
    }
    return out.sort((a, b) => b.updatedAt - a.updatedAt || a.eventId.localeCompare(b.eventId)).slice(0, f.limit).map((e) => this.decorate(e));
  }
}

export interface AnomalyFilter {
  state?: 'open' | 'closed';
  type?: string;
  meter?: string;
  substation?: string;
  from?: number;
  to?: number;
  limit: number;
}

/** Whether an anomaly passes a filter (all but `limit`): memory's and the archive's one predicate. */
export function anomalyMatches(a: Anomaly, f: Omit<AnomalyFilter, 'limit'>): boolean {
  if (f.state !== undefined && a.state !== f.state) return false;
  if (f.type !== undefined && a.type !== f.type) return false;
  if (f.meter !== undefined && a.meterId !== f.meter) return false;
  if (f.substation !== undefined && a.substationId !== f.substation) return false;
  return overlaps(a.startTs, a.endTs, f.from, f.to);
}

export class AnomalyStore {
  private readonly byId = new Map<string, Anomaly>();
  duplicates = 0;

  constructor(private readonly max: number) {}

  /** A re-delivered (anomalyId, state) pair, or an open after its close, changes nothing. */
  add(a: Anomaly): boolean {
    const prev = this.byId.get(a.anomalyId);
    if (prev && (prev.state === a.state || prev.state === 'closed')) {
      this.duplicates++;
      return false;
    }
    this.byId.delete(a.anomalyId);
    this.byId.set(a.anomalyId, a);
    trim(this.byId, this.max);
    return true;
  }

  openForMeter(meterId: string): Anomaly[] {
    const out: Anomaly[] = [];
    for (const a of this.byId.values()) if (a.meterId === meterId && a.state === 'open') out.push(a);
    return out;
  }

  get size(): number {
    return this.byId.size;
  }

  query(f: AnomalyFilter): Anomaly[] {
    const out: Anomaly[] = [];
    // Newest last in the Map: walk backwards so that `limit` keeps the most recent.
    const all = [...this.byId.values()];
    for (let i = all.length - 1; i >= 0 && out.length < f.limit; i--) {
      const a = all[i] as Anomaly;
      if (anomalyMatches(a, f)) out.push(a);
    }
    return out;
  }
}

/** Per slot of a ring: value length, readingId hash, readingId start and length (NO_ID: none). */
const SLOT_FIELDS = 4;
const NO_ID = 0xffffffff;
/** A value longer than this is kept in a Buffer of its own rather than widening every slot of its meter. */
const MAX_SLOT_BYTES = 2048;
const READING_ID = Buffer.from('"readingId":"');

interface MeterRing {
  /** `capacity` slots of `slot` bytes each, one value per slot (off the JavaScript heap: no GC copying). */
  bytes: Buffer;
  slot: number;
  capacity: number;
  /** SLOT_FIELDS numbers per slot. */
  meta: Uint32Array;
  /** Values too long for a slot, by slot (rare). */
  big: Map<number, Buffer> | null;
  count: number;
  next: number;
  received: number;
  lastReceivedAt: number;
  /** The store's add counter at this meter's last reading (recency). */
  touched: number;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** FNV-1a of buf[from, to). */
function hashBytes(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  return h >>> 0;
}

/** Where the readingId's text lies in a value's bytes, or null (none, or with an escape: not compared). */
function readingIdRange(v: Buffer): [number, number] | null {
  const at = v.indexOf(READING_ID);
  if (at < 0) return null;
  const start = at + READING_ID.length;
  const end = v.indexOf(0x22, start);
  if (end < 0) return null;
  for (let i = start; i < end; i++) if (v[i] === 0x5c) return null;
  return [start, end];
}

/**
 * Recent readings per meter, kept as the value's JSON bytes (parsed only when the API asks) in a
 * ring of `perMeter` slots per meter: one Buffer per meter, so 10,000 meters are 10,000 objects for
 * the garbage collector, not 320,000 strings copied from the young generation to the old one (the
 * store was a tenth of the consumer thread's time that way). At most `maxMeters` meters are kept;
 * the one updated least recently goes first. Bound: maxMeters * perMeter readings (default
 * 200,000 * 32, ~6.4 M readings of ~300 B at worst; lower both for small hosts); a meter's slots
 * are as wide as its longest reading (rounded up to 64 bytes). The store fills for `perMeter`
 * reading intervals after a meter first reports (32 s at 1 s readings, ~100 MB for 10,000 meters)
 * and then stays the same size; `held`, `textBytes` and `fullMeters` (gauges
 * central_recent_readings*) show where it is, so a soak judges memory only once it is full
 * (docs/reliability.md "Soak").
 */
export class ReadingStore {
  private readonly meters = new Map<string, MeterRing>();
  duplicates = 0;
  evictedMeters = 0;
  /** Readings held, the length of their text, and meters whose ring holds `perMeter` readings. */
  held = 0;
  textBytes = 0;
  fullMeters = 0;
  private tick = 0;
  /**
   * Whether the Map is kept in recency order (least recently updated first). Moving a meter to the
   * end on every reading (a delete and a set) was a microsecond per reading: it is done only once
   * the store holds more than half its meters, when eviction can come; the Map is sorted by
   * `touched` at that moment, so the order is exact whenever it is used.
   */
  private ordered = false;

  constructor(private readonly perMeter: number, private readonly maxMeters: number) {}

  /** Adds one grid.readings value (its JSON, as text or bytes). Returns false for a readingId already in the meter's ring. */
  add(meterId: string, value: string | Buffer, now: number): boolean {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const idr = readingIdRange(v);
    const hash = idr === null ? 0 : hashBytes(v, idr[0], idr[1]);
    let ring = this.meters.get(meterId);
    if (ring) {
      if (idr !== null && this.holds(ring, v, idr, hash)) {
        this.duplicates++;
        return false;
      }
      if (this.ordered) {
        // Move to the end: the Map's order is least recently updated first.
        this.meters.delete(meterId);
        this.meters.set(meterId, ring);
      }
    } else {
      ring = { bytes: Buffer.alloc(0), slot: 0, capacity: 0, meta: new Uint32Array(0), big: null, count: 0, next: 0, received: 0, lastReceivedAt: 0, touched: 0 };
      this.meters.set(meterId, ring);
    }
    ring.touched = ++this.tick;
    if (!this.ordered && this.meters.size > this.maxMeters / 2) this.order();
    let at: number;
    if (ring.count < this.perMeter) {
      at = ring.count++;
      this.held++;
      if (ring.count === this.perMeter) this.fullMeters++;
    } else {
      at = ring.next;
      ring.next = (ring.next + 1) % this.perMeter;
      this.textBytes -= ring.meta[at * SLOT_FIELDS] as number;
    }
    this.put(ring, at, v, idr, hash);
    this.textBytes += v.length;
    ring.received++;
    ring.lastReceivedAt = now;
    while (this.meters.size > this.maxMeters) this.evictLeastRecent();
    return true;
  }

  /** Sorts the Map by recency, once: from now on every reading moves its meter to the end. */
  private order(): void {
    const byRecency = [...this.meters].sort((a, b) => a[1].touched - b[1].touched);
    this.meters.clear();
    for (const [id, ring] of byRecency) this.meters.set(id, ring);
    this.ordered = true;
  }

  private holds(ring: MeterRing, v: Buffer, [start, end]: [number, number], hash: number): boolean {
    const m = ring.meta;
    for (let i = 0; i < ring.count; i++) {
      const f = i * SLOT_FIELDS;
      if (m[f + 1] !== hash || m[f + 2] === NO_ID || m[f + 3] !== end - start) continue;
      const { buf, base } = this.slotOf(ring, i);
      const idAt = base + (m[f + 2] as number);
      if (v.compare(buf, idAt, idAt + (m[f + 3] as number), start, end) === 0) return true;
    }
    return false;
  }

  private slotOf(ring: MeterRing, i: number): { buf: Buffer; base: number } {
    const big = ring.big?.get(i);
    return big ? { buf: big, base: 0 } : { buf: ring.bytes, base: i * ring.slot };
  }

  private put(ring: MeterRing, at: number, v: Buffer, idr: [number, number] | null, hash: number): void {
    ring.big?.delete(at);
    if (v.length > ring.slot && v.length <= MAX_SLOT_BYTES) this.widen(ring, roundUp(v.length + 16, 64), ring.capacity);
    if (at >= ring.capacity) this.widen(ring, ring.slot, ring.capacity === 0 ? Math.min(this.perMeter, 8) : this.perMeter);
    if (v.length > ring.slot) (ring.big ??= new Map()).set(at, Buffer.from(v));
    else ring.bytes.set(v, at * ring.slot);
    const f = at * SLOT_FIELDS;
    ring.meta[f] = v.length;
    ring.meta[f + 1] = hash;
    ring.meta[f + 2] = idr === null ? NO_ID : idr[0];
    ring.meta[f + 3] = idr === null ? 0 : idr[1] - idr[0];
  }

  /** Re-lays a ring's slots at a new width and capacity (a meter's first readings, or a longer one). */
  private widen(ring: MeterRing, slot: number, capacity: number): void {
    const bytes = Buffer.allocUnsafeSlow(slot * capacity);
    for (let i = 0; i < ring.count; i++) {
      if (ring.big?.has(i)) continue;
      ring.bytes.copy(bytes, i * slot, i * ring.slot, i * ring.slot + (ring.meta[i * SLOT_FIELDS] as number));
    }
    const meta = new Uint32Array(capacity * SLOT_FIELDS);
    meta.set(ring.meta.subarray(0, Math.min(ring.meta.length, meta.length)));
    ring.bytes = bytes;
    ring.slot = slot;
    ring.capacity = capacity;
    ring.meta = meta;
  }

  private evictLeastRecent(): void {
    const [meterId, ring] = this.meters.entries().next().value as [string, MeterRing];
    this.meters.delete(meterId);
    this.held -= ring.count;
    if (ring.count === this.perMeter) this.fullMeters--;
    for (let i = 0; i < ring.count; i++) this.textBytes -= ring.meta[i * SLOT_FIELDS] as number;
    this.evictedMeters++;
  }

  get size(): number {
    return this.meters.size;
  }

  /** The meter's recent readings, oldest first by event time, or null when none are kept. */
  recent(meterId: string): { readings: Record<string, unknown>[]; received: number; lastReceivedAt: number } | null {
    const ring = this.meters.get(meterId);
    if (!ring) return null;
    const readings: Record<string, unknown>[] = [];
    for (let k = 0; k < ring.count; k++) {
      const i = (ring.next + k) % ring.count;
      const { buf, base } = this.slotOf(ring, i);
      readings.push(JSON.parse(buf.toString('utf8', base, base + (ring.meta[i * SLOT_FIELDS] as number))) as Record<string, unknown>);
    }
    readings.sort((a, b) => Number(a.ts) - Number(b.ts));
    return { readings, received: ring.received, lastReceivedAt: ring.lastReceivedAt };
  }
}

export type CommsState = 'ok' | 'late' | 'lost';

export interface EdgeView {
  edgeId: string;
  substationId: string | null;
  lastStatus: EdgeStatus;
  lastSeenAt: number;
  ageMs: number;
  comms: CommsState;
}

export class EdgeStatusStore {
  private readonly edges = new Map<string, { status: EdgeStatus; seenAt: number }>();

  /** `lateMs`: a heartbeat older than this is late; `lostMs`: communications are considered lost. */
  constructor(private readonly opts: { lateMs: number; lostMs: number; maxEdges: number }) {}

  update(s: EdgeStatus, now: number): void {
    const prev = this.edges.get(s.edgeId);
    if (prev && prev.status.ts > s.ts) return; // an older heartbeat re-delivered
    this.edges.delete(s.edgeId);
    this.edges.set(s.edgeId, { status: s, seenAt: now });
    trim(this.edges, this.opts.maxEdges);
  }

  list(now: number): EdgeView[] {
    return [...this.edges.entries()]
      .map(([edgeId, { status, seenAt }]) => {
        const ageMs = Math.max(0, now - seenAt);
        const comms: CommsState = ageMs >= this.opts.lostMs ? 'lost' : ageMs >= this.opts.lateMs ? 'late' : 'ok';
        return { edgeId, substationId: status.substationId, lastStatus: status, lastSeenAt: seenAt, ageMs, comms };
      })
      .sort((a, b) => a.edgeId.localeCompare(b.edgeId));
  }
}
