// A feeder's voltage profile over time from the `feeder_1m` aggregates in InfluxDB: each archive
// partition writes its own point per minute (docs/archive.md), so the partitions of one minute
// and the minutes of one bucket are combined here the way Grafana does (sum, min, max, mean).
import type { FeederMinuteRow } from '../archive/index.ts';

export const MAX_PROFILE_RANGE_MS = 31 * 86_400_000;
export const MAX_PROFILE_BUCKETS = 5000;

export interface ProfileBucket {
  ts: number;
  readings: number;
  vMin: number | null;
  vMax: number | null;
  vMean: number | null;
  loadKwMean: number | null;
}

export function combineProfile(rows: FeederMinuteRow[], from: number, to: number, everyMs: number): ProfileBucket[] {
  const buckets = new Map<number, { readings: number; vMin: number; vMax: number; vSum: number; loadSum: number; loadCount: number }>();
  for (const r of rows) {
    if (r.minute < from || r.minute >= to) continue;
    const ts = from + Math.floor((r.minute - from) / everyMs) * everyMs;
    const b = buckets.get(ts) ?? { readings: 0, vMin: Infinity, vMax: -Infinity, vSum: 0, loadSum: 0, loadCount: 0 };
    b.readings += r.readings;
    b.vMin = Math.min(b.vMin, r.vMin);
    b.vMax = Math.max(b.vMax, r.vMax);
    b.vSum += r.vSum;
    b.loadSum += r.loadSum;
    b.loadCount += r.loadCount;
    buckets.set(ts, b);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, b]) => ({
      ts,
      readings: b.readings,
      vMin: Number.isFinite(b.vMin) ? b.vMin : null,
      vMax: Number.isFinite(b.vMax) ? b.vMax : null,
      vMean: b.readings > 0 ? Math.round((b.vSum / b.readings) * 1000) / 1000 : null,
      loadKwMean: b.loadCount > 0 ? Math.round((b.loadSum / b.loadCount) * 1000) / 1000 : null,
    }));
}
