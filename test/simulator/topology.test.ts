import { describe, expect, it } from 'vitest';
import { parseTopology, topologyToCsv, validators } from '../../shared/index.ts';
import { generateTopology } from '../../simulator/topology.ts';

describe('generateTopology', () => {
  it('builds valid entries with the requested size, reproducibly for a seed', () => {
    const a = generateTopology({ meters: 1000, seed: 7, substations: 3 });
    const b = generateTopology({ meters: 1000, seed: 7, substations: 3 });
    const c = generateTopology({ meters: 1000, seed: 8, substations: 3 });
    expect(a.actual).toHaveLength(1000);
    expect(a.actual.every((e) => validators.topologyEntry.check(e))).toBe(true);
    expect(new Set(a.actual.map((e) => e.meterId)).size).toBe(1000);
    expect(new Set(a.actual.map((e) => e.substationId)).size).toBe(3);
    expect(a).toEqual(b);
    expect(c.actual.map((e) => e.transformerId)).not.toEqual(a.actual.map((e) => e.transformerId));
  });

  it('defaults to 10,000 meters over several substations and feeders', () => {
    const t = generateTopology({ meters: 10_000, seed: 1 });
    expect(new Set(t.actual.map((e) => e.substationId)).size).toBe(4);
    expect(new Set(t.actual.map((e) => e.feederId)).size).toBeGreaterThanOrEqual(12);
  });

  it('uses the European and North American profiles', () => {
    const eu = generateTopology({ meters: 500, seed: 1, profile: 'eu' }).actual;
    const na = generateTopology({ meters: 500, seed: 1, profile: 'na' }).actual;
    expect(eu.every((e) => e.nominalVoltage === 230 && e.nominalFrequency === 50)).toBe(true);
    expect(na.every((e) => e.nominalVoltage === 240 && e.nominalFrequency === 60)).toBe(true);
    const perTransformer = (list: typeof na) => [...list.reduce((m, e) => m.set(e.transformerId, (m.get(e.transformerId) ?? 0) + 1), new Map<string, number>()).values()];
    expect(Math.max(...perTransformer(na))).toBeLessThanOrEqual(8);
    expect(Math.max(...perTransformer(eu))).toBeGreaterThan(8);
    const mixed = generateTopology({ meters: 1000, seed: 1, profile: 'mixed', substations: 2 }).actual;
    expect(new Set(mixed.map((e) => e.nominalFrequency))).toEqual(new Set([50, 60]));
  });

  it('mislabels the requested share of meters in the records only', () => {
    const t = generateTopology({ meters: 2000, seed: 3, mislabelShare: 0.2 });
    expect(t.mislabelled.length).toBeGreaterThan(300);
    expect(t.mislabelled.length).toBeLessThan(500);
    for (const m of t.mislabelled.slice(0, 50)) {
      expect(t.actual.find((e) => e.meterId === m.meterId)!.transformerId).toBe(m.trueTransformerId);
      expect(t.recorded.find((e) => e.meterId === m.meterId)!.transformerId).toBe(m.recordedTransformerId);
      expect(m.recordedTransformerId).not.toBe(m.trueTransformerId);
    }
  });

  it('round-trips through the shared topology file format', () => {
    const t = generateTopology({ meters: 100, seed: 1, readingIntervalMs: 10_000 });
    expect(parseTopology(topologyToCsv(t.recorded), 'csv')).toEqual(t.recorded);
  });
});
