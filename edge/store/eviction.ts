import type { Gap } from '../../shared/index.ts';

/** One evicted reading row, as selected for eviction (oldest first). */
export interface EvictedRow {
  id: number;
  meter_id: string | null;
  ts: number;
  seq: number | null;
}

/**
 * One gap per meter for one eviction chunk: the range of event time and seq it lost and how many
 * readings. Pure, so the ranges are tested without SQLite. gapId is stable for the same chunk
 * (edge, meter, first and last row id), so a re-sent gap is recognisably the same gap.
 */
export function gapsForEviction(rows: readonly EvictedRow[], edgeId: string, recordedAt: number): Gap[] {
  const byMeter = new Map<string, { fromTs: number; toTs: number; fromSeq: number | null; toSeq: number | null; count: number; firstId: number; lastId: number }>();
  for (const r of rows) {
    const meterId = r.meter_id ?? 'unknown';
    const g = byMeter.get(meterId);
    if (g === undefined) {
      byMeter.set(meterId, { fromTs: r.ts, toTs: r.ts, fromSeq: r.seq, toSeq: r.seq, count: 1, firstId: r.id, lastId: r.id });
      continue;
    }
    g.fromTs = Math.min(g.fromTs, r.ts);
    g.toTs = Math.max(g.toTs, r.ts);
    if (r.seq !== null) {
      g.fromSeq = g.fromSeq === null ? r.seq : Math.min(g.fromSeq, r.seq);
      g.toSeq = g.toSeq === null ? r.seq : Math.max(g.toSeq, r.seq);
    }
    g.count++;
    g.lastId = r.id;
  }
  const gaps: Gap[] = [];
  for (const [meterId, g] of byMeter) {
    gaps.push({
      gapId: `${edgeId}:evicted:${meterId}:${g.firstId}-${g.lastId}`,
      edgeId,
      meterId,
      reason: 'evicted',
      detail: 'outbox disk budget reached while Kafka was unreachable; oldest readings evicted',
      fromTs: g.fromTs,
      toTs: g.toTs,
      fromSeq: g.fromSeq,
      toSeq: g.toSeq,
      count: g.count,
      recordedAt,
    });
  }
  return gaps;
}
