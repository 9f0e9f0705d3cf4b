import type { TopologyEntry } from '../contracts/index.ts';

export type Level = 'meter' | 'transformer' | 'feeder' | 'substation' | 'grid';

/**
 * The grid as the programs need it: meter -> transformer -> feeder -> substation, indexed both
 * ways. Entries can be replaced one at a time (a topology update from `grid.topology`), so the
 * indexes are kept per child, never rebuilt wholesale.
 */
export class Topology {
  private readonly meters = new Map<string, TopologyEntry>();
  private readonly under = new Map<string, Set<string>>(); // key `${level}:${id}`

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
    return this.under.get(`${level}:${id}`) ?? new Set();
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
    const prefix = `${level}:`;
    return [...this.under.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  substations(): string[] {
    return this.ids('substation');
  }

  /** Parent of a transformer or feeder (its feeder or substation), from any meter under it. */
  parentOf(level: 'transformer' | 'feeder', id: string): string | undefined {
    const any = this.under.get(`${level}:${id}`)?.values().next().value;
    if (any === undefined) return undefined;
    const e = this.meters.get(any);
    return level === 'transformer' ? e?.feederId : e?.substationId;
  }

  private keys(e: TopologyEntry): string[] {
    return [`transformer:${e.transformerId}`, `feeder:${e.feederId}`, `substation:${e.substationId}`, 'grid:grid'];
  }

  private index(e: TopologyEntry): void {
    for (const k of this.keys(e)) {
      let set = this.under.get(k);
      if (!set) this.under.set(k, (set = new Set()));
      set.add(e.meterId);
    }
  }

  private unindex(e: TopologyEntry): void {
    for (const k of this.keys(e)) {
      const set = this.under.get(k);
      set?.delete(e.meterId);
      if (set && set.size === 0) this.under.delete(k);
    }
  }
}
