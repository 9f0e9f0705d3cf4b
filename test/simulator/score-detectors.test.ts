import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../../shared/index.ts';
import { aucs, detectorTable, formatDetectorTable, type WindowScore } from '../../simulator/score-detectors.ts';
import type { TruthRecord } from '../../simulator/truth.ts';

const T0 = Date.UTC(2026, 10, 2, 6, 0, 0);
const MIN = 60_000;
const V = 'a'.repeat(64);

const diversion: TruthRecord = { faultId: 'f1', type: 'diversion', scope: 'meter', rootId: 'm1', substationId: 's1', meters: ['m1'], startTs: T0, endTs: T0 + 60 * MIN, magnitude: 0.35, expect: { anomalyTypes: ['pattern'] } };
const degrading: TruthRecord = { faultId: 'f2', type: 'transformer_degrading', scope: 'transformer', rootId: 't1', substationId: 's1', meters: ['m2', 'm3'], startTs: T0, endTs: T0 + 120 * MIN, magnitude: 0.06, expect: { anomalyTypes: ['pattern'], eventType: 'pattern' } };

function anomaly(meterId: string, type: Anomaly['type'], startTs: number, model = false): Anomaly {
  return { anomalyId: `${type}:${meterId}:${startTs}`, edgeId: 'e1', meterId, substationId: 's1', feederId: null, transformerId: null, type, channel: model ? 'none' : 'voltage', state: 'open', severity: 'minor', startTs, endTs: null, observed: null, baseline: null, detectedAt: startTs, ...(model ? { score: 0.9, threshold: 0.5, modelVersion: V } : {}) };
}

const anomalies: Anomaly[] = [
  anomaly('m1', 'pattern', T0 + 10 * MIN, true), // finds the diversion
  anomaly('m2', 'pattern', T0 + 5 * MIN, true), // finds one of the transformer's two meters
  anomaly('m9', 'pattern', T0, true), // false: no fault on m9
  anomaly('m1', 'pattern', T0 + 61 * MIN, true), // after the end, within the tolerance: incidental
  anomaly('m3', 'pattern', T0 - 5 * MIN, true), // before start - tolerance: false
  anomaly('m1', 'spike', T0 + MIN), // a rule finds the diversion's onset
  anomaly('m5', 'sag', T0), // false
  // Closing records (same ids): the time figures use the spans.
  closed(anomaly('m1', 'pattern', T0 + 10 * MIN, true), T0 + 62 * MIN),
  closed(anomaly('m1', 'pattern', T0 + 61 * MIN, true), T0 + 62 * MIN),
  closed(anomaly('m2', 'pattern', T0 + 5 * MIN, true), T0 + 65 * MIN),
  closed(anomaly('m9', 'pattern', T0, true), T0 + 20 * MIN),
  closed(anomaly('m3', 'pattern', T0 - 5 * MIN, true), T0 + 20 * MIN),
];
function closed(a: Anomaly, endTs: number): Anomaly {
  return { ...a, state: 'closed', endTs, detectedAt: endTs };
}
const scores: WindowScore[] = [
  { modelVersion: V, meterId: 'm1', windowStart: T0, windowMs: 10 * MIN, score: 0.9 }, // diversion
  { modelVersion: V, meterId: 'm1', windowStart: T0 - 20 * MIN, windowMs: 10 * MIN, score: 0.2 }, // healthy
  { modelVersion: V, meterId: 'm9', windowStart: T0, windowMs: 10 * MIN, score: 0.8 }, // healthy
  { modelVersion: V, meterId: 'm2', windowStart: T0, windowMs: 10 * MIN, score: 0.7 }, // degrading
  { modelVersion: V, meterId: 'm3', windowStart: T0, windowMs: 10 * MIN, score: 0.1 }, // degrading
];

describe('detectorTable', () => {
  const t = detectorTable([diversion, degrading], anomalies, { toleranceMs: 2 * MIN, scores });
  const cell = (det: string, type: string) => t.cells.find((c) => c.detector === det && c.faultType === type)!;

  it('names a detector per rule class, all rules together, and per model version', () => {
    expect(t.detectors.map((d) => d.detector)).toEqual(['rules:all', 'model:aaaaaaaaaaaa', 'rules:sag/undervoltage', 'rules:spike/dip']);
    expect(t.detectors.find((d) => d.detector === 'model:aaaaaaaaaaaa')).toEqual({ detector: 'model:aaaaaaaaaaaa', anomalies: 5, falsePositives: 2, incidental: 1 });
  });

  it('gives the hand-computed precision, recall and F1 per fault type and scope', () => {
    // Model: diversion 1 matched, 2 false -> precision 1/3, recall 1/1, F1 0.5.
    expect(cell('model:aaaaaaaaaaaa', 'diversion')).toMatchObject({ scope: 'meter', pairs: 1, found: 1, matched: 1, falsePositives: 2, recall: 1 });
    expect(cell('model:aaaaaaaaaaaa', 'diversion').precision).toBeCloseTo(1 / 3, 10);
    expect(cell('model:aaaaaaaaaaaa', 'diversion').f1).toBeCloseTo(0.5, 10);
    // Model: degrading 1 of 2 pairs, precision 1/3 -> F1 2(1/3)(1/2)/(5/6) = 0.4.
    expect(cell('model:aaaaaaaaaaaa', 'transformer_degrading')).toMatchObject({ scope: 'transformer', pairs: 2, found: 1, recall: 0.5 });
    expect(cell('model:aaaaaaaaaaaa', 'transformer_degrading').f1).toBeCloseTo(0.4, 10);
    // All rules: the spike finds the diversion, the sag is false -> 0.5, 1, 2/3; nothing finds the transformer.
    expect(cell('rules:all', 'diversion')).toMatchObject({ precision: 0.5, recall: 1 });
    expect(cell('rules:all', 'diversion').f1).toBeCloseTo(2 / 3, 10);
    expect(cell('rules:all', 'transformer_degrading')).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    // The spike rule alone: no false anomaly; nothing matched on the transformer -> precision undefined.
    expect(cell('rules:spike/dip', 'diversion')).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    expect(cell('rules:spike/dip', 'transformer_degrading')).toMatchObject({ precision: null, recall: 0, f1: null });
    expect(cell('rules:sag/undervoltage', 'diversion')).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('gives the hand-computed ROC-AUC and PR-AUC of a model over its windows, none for rules', () => {
    // Diversion: its window (0.9) above both healthy ones (0.2, 0.8).
    expect(cell('model:aaaaaaaaaaaa', 'diversion')).toMatchObject({ rocAuc: 1, prAuc: 1 });
    // Degrading: positives 0.7, 0.1 against 0.8, 0.2: one of four pairs ordered -> 0.25; AP = 0.5 * 0.5 + 0.5 * 0.5.
    expect(cell('model:aaaaaaaaaaaa', 'transformer_degrading')).toMatchObject({ rocAuc: 0.25, prAuc: 0.5 });
    expect(cell('rules:all', 'diversion')).toMatchObject({ rocAuc: null, prAuc: null });
    expect(formatDetectorTable(t)).toContain('model:aaaaaaaaaaaa');
  });

  it('gives the hand-computed time figures: visible windows under an open anomaly against anomaly time outside every fault', () => {
    // Model false time: m9 20 min + m3's 3 min before start - tolerance = 2.3 windows of 10 min.
    // Diversion: m1 open T0+10..T0+62 covers the windows with middles T0+15..T0+55: 5 of 6.
    const d = cell('model:aaaaaaaaaaaa', 'diversion');
    expect(d.timeRecall).toBeCloseTo(5 / 6, 10);
    expect(d.timePrecision).toBeCloseTo(5 / 7.3, 10);
    // Degrading: 12 windows x 2 meters; m2 covers middles T0+5..T0+55 (6), m3 T0+5 and T0+15 (2).
    const g = cell('model:aaaaaaaaaaaa', 'transformer_degrading');
    expect(g.timeRecall).toBeCloseTo(8 / 24, 10);
    expect(g.timePrecision).toBeCloseTo(8 / 10.3, 10);
    expect(g.timeF1).toBeCloseTo((2 * (8 / 10.3) * (1 / 3)) / (8 / 10.3 + 1 / 3), 10);
    // The rules' spike never closes: open to the horizon (the truth's last end + tolerance), it covers all 6.
    expect(cell('rules:all', 'diversion').timeRecall).toBe(1);
    expect(cell('rules:all', 'diversion').timePrecision).toBeCloseTo(6 / (6 + 6 + 12.2), 10);
  });

  it('halves ties in the ROC-AUC', () => {
    expect(aucs([0.5, 0.5], [1, 0]).rocAuc).toBe(0.5);
    expect(aucs([0.9, 0.5, 0.1], [1, 0, 1])).toEqual({ rocAuc: 0.5, prAuc: 0.5 * 1 + 0.5 * (2 / 3) });
  });
});
