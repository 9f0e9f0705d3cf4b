import { describe, expect, it } from 'vitest';
import { gapsForEviction } from '../../../edge/store/index.ts';
import { validators } from '../../../shared/index.ts';

describe('gapsForEviction', () => {
  it('makes one gap per meter with its ts and seq range and count', () => {
    const rows = [
      { id: 1, meter_id: 'm1', ts: 100, seq: 5 },
      { id: 2, meter_id: 'm2', ts: 90, seq: null },
      { id: 3, meter_id: 'm1', ts: 110, seq: 6 },
      { id: 4, meter_id: 'm1', ts: 95, seq: 4 },
    ];
    const gaps = gapsForEviction(rows, 'edge-1', 1000);
    expect(gaps).toHaveLength(2);
    const g1 = gaps.find((g) => g.meterId === 'm1')!;
    expect(g1).toMatchObject({ reason: 'evicted', fromTs: 95, toTs: 110, fromSeq: 4, toSeq: 6, count: 3, edgeId: 'edge-1', recordedAt: 1000 });
    expect(g1.gapId).toBe('edge-1:evicted:m1:1-4');
    const g2 = gaps.find((g) => g.meterId === 'm2')!;
    expect(g2).toMatchObject({ fromTs: 90, toTs: 90, fromSeq: null, toSeq: null, count: 1 });
    for (const g of gaps) expect(validators.gap.validate(g).ok).toBe(true);
  });
});
