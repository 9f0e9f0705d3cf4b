// IEEE 1366 distribution reliability indices from interruptions. Pure. Customers are meters.
//   SAIFI  = Σ customers interrupted (sustained)           / customers served
//   SAIDI  = Σ customer minutes of interruption (sustained) / customers served
//   CAIDI  = SAIDI / SAIFI  (minutes per interrupted customer; null without any interruption)
//   MAIFI-E = Σ customer momentary interruption events     / customers served
// An interruption of a meter is momentary when it lasts under 5 minutes (IEEE 1366's boundary);
// a `momentary` grid event is momentary for all its meters whatever its length. Each event counts
// once per meter (one momentary *event*, the "-E" in MAIFI-E, however many recloser operations).
// Planned and unplanned interruptions are summed apart; the unplanned figures are the ones
// regulators compare (IEEE 1366 leaves planned interruptions out).

export const MOMENTARY_LIMIT_MS = 5 * 60_000;

export type Level = 'feeder' | 'substation' | 'system';
export type Period = 'day' | 'month' | 'range';

export interface MeterPlace {
  feederId: string | null;
  substationId: string | null;
}

/** One meter's part of an interruption. */
export interface MeterInterruption {
  meterId: string;
  /** When the meter's supply came back; the event's end when not known per meter. */
  restoredAt: number;
}

export interface Interruption {
  eventId: string;
  startTs: number;
  endTs: number;
  planned: boolean;
  /** True for a `momentary` grid event: momentary whatever its length. */
  momentary: boolean;
  meters: MeterInterruption[];
  /** Meters counted in affectedCount but not listed (beyond the event's list bound): the event's duration, at `unlistedAt`. */
  unlisted: number;
  unlistedAt: MeterPlace;
}

export interface Totals {
  /** Sustained interruption events touching the area. */
  interruptions: number;
  customersInterrupted: number;
  customerMinutes: number;
  momentaryEvents: number;
  customerMomentaryEvents: number;
}

export interface Indices extends Totals {
  saifi: number;
  saidi: number;
  caidi: number | null;
  maifiE: number;
}

export interface ReliabilityRow {
  level: Level;
  id: string;
  /** `2026-11-23` (day), `2026-11` (month) or `<from>/<to>` ISO (range). */
  period: string;
  customersServed: number;
  unplanned: Indices;
  planned: Indices;
}

const zero = (): Totals => ({ interruptions: 0, customersInterrupted: 0, customerMinutes: 0, momentaryEvents: 0, customerMomentaryEvents: 0 });

/** Rounds to 6 decimals so that sums of many small fractions print the same in JSON and CSV. */
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function indices(t: Totals, served: number): Indices {
  const n = served > 0 ? served : NaN;
  const saifi = t.customersInterrupted / n;
  const saidi = t.customerMinutes / n;
  return {
    ...t,
    customerMinutes: r6(t.customerMinutes),
    saifi: Number.isFinite(saifi) ? r6(saifi) : 0,
    saidi: Number.isFinite(saidi) ? r6(saidi) : 0,
    caidi: t.customersInterrupted > 0 ? r6(t.customerMinutes / t.customersInterrupted) : null,
    maifiE: Number.isFinite(t.customerMomentaryEvents / n) ? r6(t.customerMomentaryEvents / n) : 0,
  };
}

export function periodOf(ts: number, period: Period, range: { from: number; to: number }): string {
  if (period === 'range') return `${new Date(range.from).toISOString()}/${new Date(range.to).toISOString()}`;
  const iso = new Date(ts).toISOString();
  return period === 'day' ? iso.slice(0, 10) : iso.slice(0, 7);
}

function areaOf(level: Level, p: MeterPlace): string | null {
  if (level === 'system') return 'system';
  return level === 'feeder' ? p.feederId : p.substationId;
}

export interface ComputeOptions {
  level: Level;
  period: Period;
  from: number;
  to: number;
  /** Where each meter is (the topology). A meter it does not know is counted at system level only. */
  placeOf: (meterId: string) => MeterPlace | undefined;
  /** Customers served per area id at `level` (system: under the id `system`). */
  served: Map<string, number>;
}

/**
 * Sums the interruptions that start in [from, to) per area and period. Every area of `served`
 * gets a row for every period that has an interruption anywhere, so a feeder without
 * interruptions shows zeros rather than being absent.
 */
export function computeReliability(list: Interruption[], o: ComputeOptions): ReliabilityRow[] {
  const acc = new Map<string, { area: string; period: string; unplanned: Totals; planned: Totals }>();
  const periods = new Set<string>();
  const get = (area: string, period: string) => {
    const k = `${period}\u0000${area}`;
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { area, period, unplanned: zero(), planned: zero() }));
    return a;
  };
  for (const it of list) {
    if (it.startTs < o.from || it.startTs >= o.to) continue;
    const period = periodOf(it.startTs, o.period, o);
    periods.add(period);
    const touched = new Map<string, { sustained: number; momentary: number }>();
    const add = (place: MeterPlace | undefined, durationMs: number) => {
      const area = place ? areaOf(o.level, place) : o.level === 'system' ? 'system' : null;
      if (area === null) return;
      const t = get(area, period)[it.planned ? 'planned' : 'unplanned'];
      const seen = touched.get(area) ?? { sustained: 0, momentary: 0 };
      touched.set(area, seen);
      if (it.momentary || durationMs < MOMENTARY_LIMIT_MS) {
        t.customerMomentaryEvents++;
        seen.momentary++;
      } else {
        t.customersInterrupted++;
        t.customerMinutes += durationMs / 60_000;
        seen.sustained++;
      }
    };
    for (const m of it.meters) add(o.placeOf(m.meterId), Math.max(0, m.restoredAt - it.startTs));
    for (let i = 0; i < it.unlisted; i++) add(it.unlistedAt, Math.max(0, it.endTs - it.startTs));
    for (const [area, seen] of touched) {
      const t = get(area, period)[it.planned ? 'planned' : 'unplanned'];
      if (seen.sustained > 0) t.interruptions++;
      if (seen.momentary > 0) t.momentaryEvents++;
    }
  }
  for (const period of periods) for (const area of o.served.keys()) get(area, period);
  return [...acc.values()]
    .map((a) => {
      const served = o.served.get(a.area) ?? 0;
      return { level: o.level, id: a.area, period: a.period, customersServed: served, unplanned: indices(a.unplanned, served), planned: indices(a.planned, served) };
    })
    .sort((x, y) => x.period.localeCompare(y.period) || x.id.localeCompare(y.id));
}

export const CSV_HEADER = [
  'period', 'level', 'id', 'customersServed',
  ...['unplanned', 'planned'].flatMap((k) => ['saifi', 'saidi', 'caidi', 'maifiE', 'interruptions', 'customersInterrupted', 'customerMinutes', 'customerMomentaryEvents'].map((f) => `${k}_${f}`)),
];

export function toCsv(rows: ReliabilityRow[]): string {
  const cells = (i: Indices) => [i.saifi, i.saidi, i.caidi ?? '', i.maifiE, i.interruptions, i.customersInterrupted, i.customerMinutes, i.customerMomentaryEvents];
  return [CSV_HEADER.join(','), ...rows.map((r) => [r.period, r.level, r.id, r.customersServed, ...cells(r.unplanned), ...cells(r.planned)].join(','))].join('\n') + '\n';
}
