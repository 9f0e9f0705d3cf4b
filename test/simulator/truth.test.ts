import { describe, expect, it } from 'vitest';
import { GridwatchError } from '../../shared/index.ts';
import { expectationOf, parseTruthJsonl, truthToJsonl, type TruthRecord } from '../../simulator/truth.ts';

const at = (type: TruthRecord['type'], magnitude: number, durationMs: number, scope: TruthRecord['scope'] = 'meter') => expectationOf({ type, scope, magnitude, startTs: 0, endTs: durationMs });

describe('ground truth', () => {
  it('expects what a detector can see for each fault', () => {
    expect(at('spike', 0.25, 10_000).anomalyTypes).toEqual(['spike', 'swell']);
    expect(at('spike', 0.08, 10_000).anomalyTypes).toEqual(['spike']);
    expect(at('spike', -0.25, 10_000).anomalyTypes).toEqual(['dip', 'sag']);
    expect(at('spike', -0.08, 10_000).anomalyTypes).toEqual(['dip']);
    expect(at('sag', 0.82, 30_000, 'feeder')).toEqual({ anomalyTypes: ['sag'], eventType: 'sag' });
    expect(at('sag', 0.82, 180_000, 'feeder')).toEqual({ anomalyTypes: ['sag', 'undervoltage'], eventType: 'undervoltage' });
    expect(at('swell', 1.13, 180_000, 'feeder')).toEqual({ anomalyTypes: ['swell', 'overvoltage'], eventType: 'overvoltage' });
    expect(at('overload', 1.35, 300_000, 'transformer')).toEqual({ anomalyTypes: [], eventType: 'overload' });
    expect(at('outage', 0, 300_000, 'substation')).toEqual({ anomalyTypes: ['outage'], eventType: 'outage' });
    // Meter-local data faults: anomalies, no operator event (central keeps minor meter conditions archived).
    expect(at('dropout', 0, 300_000)).toEqual({ anomalyTypes: ['dropout'] });
    expect(at('stuck', 0, 300_000)).toEqual({ anomalyTypes: ['stuck'] });
    expect(at('spike', 0.25, 10_000).eventType).toBeUndefined();
    expect(at('tamper', 0.02, 300_000)).toEqual({ anomalyTypes: ['tamper'], eventType: 'tamper' });
    expect(at('frequency', -0.015, 120_000, 'grid')).toEqual({ anomalyTypes: ['frequency_deviation'], eventType: 'frequency_deviation' });
  });

  it('round-trips JSONL and names the bad line', () => {
    const rec: TruthRecord = { faultId: 'f1', type: 'sag', scope: 'feeder', rootId: 'f', substationId: 's', meters: ['m1'], startTs: 1, endTs: 2, magnitude: 0.82, expect: { anomalyTypes: ['sag'], eventType: 'sag' } };
    expect(parseTruthJsonl(truthToJsonl([rec, rec]))).toEqual([rec, rec]);
    expect(truthToJsonl([])).toBe('');
    expect(() => parseTruthJsonl(`${JSON.stringify(rec)}\n{"faultId":"x"}\n`, 't.jsonl')).toThrow(/t.jsonl:2/);
    expect(() => parseTruthJsonl('nope')).toThrow(GridwatchError);
  });
});
