// What a partition has archived, by record identity, so that a record repeated upstream (an edge
// re-sending its unacknowledged outbox after a crash) is dropped even when its copy lands in a
// later flush or after a restart. The index is a pure function of the records archived, in offset
// order, and it is saved in the progress marker with each flush (docs/archive.md), so a replayed
// flush sees exactly the index the original saw and writes the same bytes.
import type { ArchiveKind, ArchiveRecord } from './layout.ts';

/** Seq ranges of one meter: [seqLo, seqHi, tsLo, tsHi]. */
type Range = [number, number, number, number];

/** Ranges kept per meter (the oldest dropped first) and other identities kept per partition. */
export const MAX_RANGES_PER_METER = 8;
export const MAX_OTHER_IDENTITIES = 20_000;

export interface SeenJson {
  meters: Record<string, Range[]>;
  others: string[];
}

const SEQ_ID = /^(.*):(\d{1,15})$/;

export class SeenIndex {
  private constructor(
    private readonly meters: Map<string, Range[]>,
    /** Insertion-ordered (offset order), so dropping the oldest is deterministic. */
    private readonly others: Set<string>,
  ) {}

  static empty(): SeenIndex {
    return new SeenIndex(new Map(), new Set());
  }

  static fromJson(j: SeenJson | undefined | null): SeenIndex {
    if (!j) return SeenIndex.empty();
    return new SeenIndex(new Map(Object.entries(j.meters).map(([m, r]) => [m, r.map((x) => [...x] as Range)])), new Set(j.others));
  }

  toJson(): SeenJson {
    return { meters: Object.fromEntries(this.meters), others: [...this.others] };
  }

  clone(): SeenIndex {
    return new SeenIndex(new Map([...this.meters].map(([m, r]) => [m, r.map((x) => [...x] as Range)])), new Set(this.others));
  }

  /**
   * A reading `<meterId>:<seq>` counts as seen when a range of its meter holds its seq and its
   * event time: a meter whose counter restarted (same seqs, later times) is not mistaken for a repeat.
   */
  has(r: ArchiveRecord, kind: ArchiveKind | null): boolean {
    if (r.identity === null) return false;
    const reading = this.readingKey(r, kind);
    if (reading === null) return this.others.has(r.identity);
    const ranges = this.meters.get(reading.meter);
    return ranges?.some(([lo, hi, tlo, thi]) => reading.seq >= lo && reading.seq <= hi && r.eventTs >= tlo && r.eventTs <= thi) ?? false;
  }

  add(r: ArchiveRecord, kind: ArchiveKind | null): void {
    if (r.identity === null) return;
    const reading = this.readingKey(r, kind);
    if (reading === null) {
      this.others.delete(r.identity);
      this.others.add(r.identity);
      if (this.others.size > MAX_OTHER_IDENTITIES) this.others.delete(this.others.values().next().value as string);
      return;
    }
    const { meter, seq } = reading;
    const ts = r.eventTs;
    const ranges = this.meters.get(meter) ?? [];
    // Extend the range this reading continues (next seq, not earlier in time), else start one.
    const last = ranges.find(([, hi, , thi]) => seq === hi + 1 && ts >= thi);
    if (last) {
      last[1] = seq;
      last[3] = ts;
    } else {
      ranges.push([seq, seq, ts, ts]);
      if (ranges.length > MAX_RANGES_PER_METER) {
        ranges.sort((a, b) => a[3] - b[3]);
        ranges.shift();
      }
    }
    this.meters.set(meter, ranges);
  }

  private readingKey(r: ArchiveRecord, kind: ArchiveKind | null): { meter: string; seq: number } | null {
    if (kind !== 'readings' || r.identity === null) return null;
    const m = SEQ_ID.exec(r.identity);
    return m ? { meter: m[1]!, seq: Number(m[2]) } : null;
  }
}
