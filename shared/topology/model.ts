import type { TopologyEntry } from '../contracts/index.ts';

export type Level = 'meter' | 'transformer' | 'feeder' | 'substation' | 'grid';

/**
 * The grid as the programs need it: meter -> transformer -> feeder -> substation, indexed both
 * ways. Entries can be replaced one at a time (a topology update from `grid.topology`), so the
 * indexes are kept per child, never rebuilt wholesale.
 */
export class Topology {
  private readonly meters = new Map<string, TopologyEntry>();
  // One map per level (id -> meter ids), not one map of `${level}:${id}` keys: four string
  // concatenations and hashes of new strings per meter were a third of a 1,000,000-meter load.
  private readonly under: Record<'transformer' | 'feeder' | 'substation', Map<string, Set<string>>> = { transformer: new Map(), feeder: new Map(), substation: new Map() };
  // `grid` holds every meter: a view of `meters`, not a second set of a million ids.
  private readonly grid: ReadonlySet<string> = new MeterIdsView(this.meters);

  constructor(entries: Iterable<TopologyEntry> = []) {
    for (const e of entries) this.upsert(e);
  }

  get size(): number {
    return this.meters.size;
  }

  meter(meterId: string): TopologyEntry | undefined {
    return this.meters.get(meterId);
  }

  entries(): IterableIterator<TopologyEntry> {
    return this.meters.values();
  }

  /** Adds or replaces one meter's entry. Returns the previous entry, if any. */
  upsert(entry: TopologyEntry): TopologyEntry | undefined {
    const previous = this.meters.get(entry.meterId);
    if (previous) this.unindex(previous);
    this.meters.set(entry.meterId, entry);
    this.index(entry);
    return previous;
  }

  remove(meterId: string): boolean {
    const previous = this.meters.get(meterId);
    if (!previous) return false;
    this.unindex(previous);
    this.meters.delete(meterId);
    return true;
  }

  /** Meter ids under a device (a meter is under itself; `grid` holds every meter). */
  metersUnder(level: Level, id: string): ReadonlySet<string> {
    if (level === 'meter') return this.meters.has(id) ? new Set([id]) : new Set();
    if (level === 'grid') return id === 'grid' && this.meters.size > 0 ? this.grid : new Set();
    return this.under[level].get(id) ?? new Set();
  }

  /** The chain of ancestors of a meter, lowest first: transformer, feeder, substation, grid. */
  ancestors(meterId: string): { level: Level; id: string }[] {
    const e = this.meters.get(meterId);
    if (!e) return [];
    return [
      { level: 'transformer', id: e.transformerId },
      { level: 'feeder', id: e.feederId },
      { level: 'substation', id: e.substationId },
      { level: 'grid', id: 'grid' },
    ];
  }

  ids(level: Exclude<Level, 'meter' | 'grid'>): string[] {
    return [...this.under[level].keys()];
  }

  substations(): string[] {
    return this.ids('substation');
  }

  /** Parent of a transformer or feeder (its feeder or substation), from any meter under it. */
  parentOf(level: 'transformer' | 'feeder', id: string): string | undefined {
    const any = this.under[level].get(id)?.values().next().value;
    if (any === undefined) return undefined;
    const e = this.meters.get(any);
    return level === 'transformer' ? e?.feederId : e?.substationId;
  }

  private index(e: TopologyEntry): void {
    add(this.under.transformer, e.transformerId, e.meterId);
    add(this.under.feeder, e.feederId, e.meterId);
    add(this.under.substation, e.substationId, e.meterId);
  }

  private unindex(e: TopologyEntry): void {
    drop(this.under.transformer, e.transformerId, e.meterId);
    drop(this.under.feeder, e.feederId, e.meterId);
    drop(this.under.substation, e.substationId, e.meterId);
  }
}

function add(m: Map<string, Set<string>>, id: string, meterId: string): void {
  let set = m.get(id);
  if (!set) m.set(id, (set = new Set()));
  set.add(meterId);
}

function drop(m: Map<string, Set<string>>, id: string, meterId: string): void {
  const set = m.get(id);
  if (!set) return;
  set.delete(meterId);
  if (set.size === 0) m.delete(id);
}

/** Every meter id of the topology as a read-only set (live: it follows upserts and removals). */
class MeterIdsView implements ReadonlySet<string> {
  constructor(private readonly meters: Map<string, TopologyEntry>) {}
  get size(): number {
    return this.meters.size;
  }
  has(id: string): boolean {
    return this.meters.has(id);
  }
  keys(): IterableIterator<string> {
    return this.meters.keys();
  }
  values(): IterableIterator<string> {
    return this.meters.keys();
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of this.meters.keys()) yield [k, k];
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const k of this.meters.keys()) fn.call(thisArg, k, k, this);
  }
  [Symbol.iterator](): IterableIterator<string> {
    return this.meters.keys();
  }
}
