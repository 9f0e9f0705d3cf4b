// Pure: per-feeder one-minute aggregates of readings, and how InfluxDB points are identified.
// An aggregate carries the Kafka offset it is complete through, so that folding the same readings
// in again after a crash is recognised (see docs/archive.md, "InfluxDB").
import type { ForwardedReading } from '../../shared/index.ts';

export const MINUTE_MS = 60_000;

export interface FeederMinute {
  /** Kafka partition of grid.readings the readings came from, or `none`. */
  partition: string;
  substation: string;
  feeder: string;
  /** Minute start, epoch ms (event time). */
  minute: number;
  count: number;
  vSum: number;
  vMin: number;
  vMax: number;
  loadCount: number;
  loadSum: number;
  /** Highest offset folded in; null when the readings had no Kafka provenance. */
  lastOffset: bigint | null;
}

export function feederMinuteKey(a: Pick<FeederMinute, 'partition' | 'substation' | 'feeder' | 'minute'>): string {
  return `${a.partition}|${a.substation}|${a.feeder}|${a.minute}`;
}

const tagValue = (v: unknown, none: string): string => (typeof v === 'string' && v !== '' ? v : none);

/** Folds readings into partial aggregates, one per feeder and minute of event time. */
export function foldReadings(readings: ForwardedReading[], partition: string): Map<string, FeederMinute> {
  const out = new Map<string, FeederMinute>();
  for (const r of readings) {
    const v = r.voltage;
    if (typeof r.ts !== 'number' || !Number.isFinite(r.ts) || typeof v !== 'number' || !Number.isFinite(v)) continue;
    const minute = Math.floor(r.ts / MINUTE_MS) * MINUTE_MS;
    const id = { partition, substation: tagValue(r.substationId, 'none'), feeder: tagValue(r.feederId, 'none'), minute };
    const k = feederMinuteKey(id);
    let a = out.get(k);
    if (a === undefined) {
      a = { ...id, count: 0, vSum: 0, vMin: Infinity, vMax: -Infinity, loadCount: 0, loadSum: 0, lastOffset: null };
      out.set(k, a);
    }
    a.count += 1;
    a.vSum += v;
    if (v < a.vMin) a.vMin = v;
    if (v > a.vMax) a.vMax = v;
    if (typeof r.power === 'number' && Number.isFinite(r.power)) {
      a.loadCount += 1;
      a.loadSum += r.power;
    }
  }
  return out;
}

/** Adds partial `b` into `a` (same key). */
export function mergeInto(a: FeederMinute, b: FeederMinute): void {
  a.count += b.count;
  a.vSum += b.vSum;
  a.vMin = Math.min(a.vMin, b.vMin);
  a.vMax = Math.max(a.vMax, b.vMax);
  a.loadCount += b.loadCount;
  a.loadSum += b.loadSum;
}

/** FNV-1a, 32 bit: a stable hash for sub-millisecond timestamp offsets. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Nanosecond timestamp of a point that must not collide with the points of other records in the
 * same series and millisecond (two meters of one feeder opening the same kind of anomaly at the
 * same instant): the event time in ms plus a stable 0..999,999 ns offset from the record's id.
 * The same record always gets the same timestamp, so a replay overwrites it.
 */
export function pointTimeNs(eventMs: number, id: string): string {
  return (BigInt(Math.trunc(eventMs)) * 1_000_000n + BigInt(fnv1a(id) % 1_000_000)).toString();
}
