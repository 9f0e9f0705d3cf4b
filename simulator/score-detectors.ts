/**
 * Per-detector scoring (issue 11): every rule detector and every model version judged on the same
 * truth, in one table. Pure, like score.ts; `gridwatch score` prints it beside its report and
 * `gridwatch score --learned` on the held-out grids of the training plan.
 *
 * Detectors: a `pattern` anomaly belongs to `model:<first 12 hex of modelVersion>`; any other
 * anomaly to the rule detector of its class (`rules:sag/undervoltage`, ... the classes of
 * score.ts), and all rule anomalies together to `rules:all`.
 *
 * Matching, per detector (any anomaly of the detector counts for any fault type: the rules never
 * say `pattern`, so they are given every chance):
 * - a (fault, meter) pair is found when the detector opened an anomaly on that meter starting in
 *   [fault start - tolerance, fault end);
 * - an anomaly is matched to the fault type of every fault it finds; one starting in
 *   [fault end, fault end + tolerance] on that fault's meter and finding none is incidental (the
 *   step back to normal at a fault's end: a repair, not a detection) and counts neither way;
 *   every other anomaly is false.
 * - unclosed anomalies are open until the horizon: the latest fault end + tolerance, anomaly
 *   start or anomaly end.
 * - per fault type and scope: recall = found pairs / pairs; precision = anomalies matched to the
 *   type / (those + the detector's false anomalies: a false anomaly cannot be credited to a type,
 *   so it counts against each); F1 of the two.
 * ROC-AUC and PR-AUC (models only, when window scores are given): over the scored windows, a
 * window positive for a type when a fault of that type covers its meter at the window's middle
 * (`visibleAt`, default: within the fault), negatives the windows no fault covers.
 */
import type { Anomaly } from '../shared/contracts/index.ts';
import { anomalyClass } from './score.ts';
import type { TruthRecord } from './truth.ts';

export interface WindowScore {
  modelVersion: string;
  meterId: string;
  windowStart: number;
  windowMs: number;
  score: number;
}

export interface DetectorCell {
  detector: string;
  faultType: string;
  scope: string;
  pairs: number;
  found: number;
  matched: number;
  falsePositives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  rocAuc: number | null;
  prAuc: number | null;
  /**
   * Over time instead of pairs: the share of the type's visible windows (windowMs) during which
   * the detector had an anomaly open on the meter (recall), against the detector's anomaly time
   * outside every fault (false windows, counted against each type like false anomalies). A spike
   * at a fault's onset finds the pair but covers a minute of a five-hour fault.
   */
  timeRecall: number | null;
  timePrecision: number | null;
  timeF1: number | null;
}

export interface DetectorTable {
  toleranceMs: number;
  detectors: { detector: string; anomalies: number; falsePositives: number; incidental: number }[];
  cells: DetectorCell[];
}

export interface DetectorTableOptions {
  toleranceMs?: number;
  scores?: readonly WindowScore[];
  /** Whether fault f is visible at time t (labels of the AUCs); default: t in [start, end). */
  visibleAt?: (f: TruthRecord, t: number) => boolean;
  /** Step of the time figures (default 10 min, the learned windows). */
  windowMs?: number;
}

export const detectorOf = (a: Pick<Anomaly, 'type' | 'modelVersion'>): string => (a.type === 'pattern' ? `model:${(a.modelVersion ?? 'unknown').slice(0, 12)}` : `rules:${anomalyClass(a.type)}`);

/** ROC-AUC (rank statistic, ties halved) and PR-AUC (average precision) of scores against 0/1 labels. */
export function aucs(scores: readonly number[], labels: readonly number[]): { rocAuc: number | null; prAuc: number | null } {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const pos = labels.reduce((s, l) => s + l, 0);
  const neg = labels.length - pos;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    let tpHere = 0;
    while (j < idx.length && scores[idx[j]!] === scores[idx[i]!]) tpHere += labels[idx[j++]!]!;
    const fpHere = j - i - tpHere;
    rankSum += tpHere * (neg - fp - fpHere / 2);
    tp += tpHere;
    fp += fpHere;
    if (tpHere > 0) ap += (tpHere / pos) * (tp / (tp + fp));
    i = j;
  }
  return { rocAuc: pos && neg ? rankSum / (pos * neg) : null, prAuc: pos ? ap : null };
}

const f1Of = (p: number | null, r: number | null) => (p === null || r === null ? null : p + r > 0 ? (2 * p * r) / (p + r) : 0);

export function detectorTable(truth: readonly TruthRecord[], anomalies: readonly Anomaly[], opts: DetectorTableOptions = {}): DetectorTable {
  const tol = opts.toleranceMs ?? 120_000;
  // One entry per anomaly id (open and closed records), earliest start.
  const byId = new Map<string, { meterId: string; startTs: number; endTs: number; detector: string }>();
  let horizon = Math.max(0, ...truth.map((f) => f.endTs + tol));
  for (const a of anomalies) {
    const end = a.state === 'closed' && a.endTs !== null ? a.endTs : Infinity;
    const d = byId.get(a.anomalyId);
    if (!d) byId.set(a.anomalyId, { meterId: a.meterId, startTs: a.startTs, endTs: end, detector: detectorOf(a) });
    else {
      d.startTs = Math.min(d.startTs, a.startTs);
      d.endTs = Math.min(d.endTs, end);
    }
    // Not detectedAt: a replay's detectors may stamp wall-clock time, far past the data's own.
    horizon = Math.max(horizon, a.startTs, a.state === 'closed' && a.endTs !== null ? a.endTs : a.startTs);
  }
  const faultsByMeter = new Map<string, number[]>();
  truth.forEach((f, i) => {
    for (const m of f.meters) (faultsByMeter.get(m) ?? faultsByMeter.set(m, []).get(m)!).push(i);
  });
  const groups = [...new Set(truth.map((f) => `${f.type}\u0000${f.scope}`))].sort();
  const pairsOf = new Map<string, number>();
  for (const f of truth) pairsOf.set(`${f.type}\u0000${f.scope}`, (pairsOf.get(`${f.type}\u0000${f.scope}`) ?? 0) + f.meters.length);

  type Span = { meterId: string; startTs: number; endTs: number };
  type Tally = { anomalies: number; falsePositives: number; incidental: number; found: Map<string, Set<string>>; matched: Map<string, number>; spans: Map<string, Span[]>; falseMs: number };
  const tallies = new Map<string, Tally>();
  const tallyOf = (det: string) => tallies.get(det) ?? tallies.set(det, { anomalies: 0, falsePositives: 0, incidental: 0, found: new Map(), matched: new Map(), spans: new Map(), falseMs: 0 }).get(det)!;
  const judge = (det: string, d: Span) => {
    const t = tallyOf(det);
    t.anomalies++;
    const span = { meterId: d.meterId, startTs: d.startTs, endTs: Math.min(d.endTs, horizon) };
    (t.spans.get(d.meterId) ?? t.spans.set(d.meterId, []).get(d.meterId)!).push(span);
    // Time under this anomaly outside every fault window (with its tolerance) on its meter.
    let outside = Math.max(0, span.endTs - span.startTs);
    for (const i of faultsByMeter.get(d.meterId) ?? []) {
      const f = truth[i]!;
      outside -= Math.max(0, Math.min(span.endTs, f.endTs + tol) - Math.max(span.startTs, f.startTs - tol));
    }
    t.falseMs += Math.max(0, outside);
    const hitGroups = new Set<string>();
    let incidental = false;
    for (const i of faultsByMeter.get(d.meterId) ?? []) {
      const f = truth[i]!;
      if (d.startTs >= f.startTs - tol && d.startTs < f.endTs) {
        const g = `${f.type}\u0000${f.scope}`;
        hitGroups.add(g);
        (t.found.get(g) ?? t.found.set(g, new Set()).get(g)!).add(`${i}\u0000${d.meterId}`);
      } else if (d.startTs >= f.endTs && d.startTs <= f.endTs + tol) incidental = true;
    }
    for (const g of hitGroups) t.matched.set(g, (t.matched.get(g) ?? 0) + 1);
    if (hitGroups.size === 0) {
      if (incidental) t.incidental++;
      else t.falsePositives++;
    }
  };
  for (const d of byId.values()) {
    judge(d.detector, d);
    if (d.detector.startsWith('rules:')) judge('rules:all', d);
  }
  // Every model that scored windows has a row, even with no anomaly.
  for (const s of opts.scores ?? []) tallyOf(`model:${s.modelVersion.slice(0, 12)}`);
  tallyOf('rules:all');

  const visible = opts.visibleAt ?? ((f: TruthRecord, t: number) => t >= f.startTs && t < f.endTs);
  const step = opts.windowMs ?? 600_000;
  const detectors = [...tallies.keys()].sort((a, b) => (a === 'rules:all' ? -1 : b === 'rules:all' ? 1 : a.localeCompare(b)));
  const cells: DetectorCell[] = [];
  for (const det of detectors) {
    const t = tallies.get(det)!;
    const scores = det.startsWith('model:') ? (opts.scores ?? []).filter((s) => `model:${s.modelVersion.slice(0, 12)}` === det) : [];
    // Each window's label per group: the groups of the faults visible on its meter at its middle.
    const windowGroups = scores.map((s) => {
      const mid = s.windowStart + s.windowMs / 2;
      return new Set((faultsByMeter.get(s.meterId) ?? []).filter((i) => visible(truth[i]!, mid)).map((i) => `${truth[i]!.type}\u0000${truth[i]!.scope}`));
    });
    const healthy = windowGroups.map((g, i) => (g.size === 0 ? i : -1)).filter((i) => i >= 0);
    for (const g of groups) {
      const [faultType, scope] = g.split('\u0000') as [string, string];
      const pairs = pairsOf.get(g) ?? 0;
      const found = t.found.get(g)?.size ?? 0;
      const matched = t.matched.get(g) ?? 0;
      const precision = matched + t.falsePositives > 0 ? matched / (matched + t.falsePositives) : null;
      const recall = pairs > 0 ? found / pairs : null;
      let auc: { rocAuc: number | null; prAuc: number | null } = { rocAuc: null, prAuc: null };
      if (scores.length > 0) {
        const idx = [...windowGroups.map((w, i) => (w.has(g) ? i : -1)).filter((i) => i >= 0), ...healthy];
        auc = aucs(idx.map((i) => scores[i]!.score), idx.map((i) => (windowGroups[i]!.has(g) ? 1 : 0)));
      }
      // Time figures: the type's visible windows under an open anomaly of this detector.
      let windows = 0;
      let covered = 0;
      truth.forEach((f) => {
        if (`${f.type}\u0000${f.scope}` !== g) return;
        for (let w = f.startTs; w < f.endTs; w += step) {
          const mid = w + step / 2;
          if (!visible(f, mid)) continue;
          for (const m of f.meters) {
            windows++;
            if ((t.spans.get(m) ?? []).some((sp) => sp.startTs <= mid && mid < sp.endTs)) covered++;
          }
        }
      });
      const falseWindows = t.falseMs / step;
      const timeRecall = windows > 0 ? covered / windows : null;
      const timePrecision = covered + falseWindows > 0 ? covered / (covered + falseWindows) : null;
      cells.push({ detector: det, faultType, scope, pairs, found, matched, falsePositives: t.falsePositives, precision, recall, f1: f1Of(precision, recall), ...auc, timeRecall, timePrecision, timeF1: f1Of(timePrecision, timeRecall) });
    }
  }
  return { toleranceMs: tol, detectors: detectors.map((d) => ({ detector: d, anomalies: tallies.get(d)!.anomalies, falsePositives: tallies.get(d)!.falsePositives, incidental: tallies.get(d)!.incidental })), cells };
}

const num = (x: number | null, w = 6) => (x === null ? '-'.padStart(w) : x.toFixed(3).padStart(w));

export function formatDetectorTable(t: DetectorTable): string {
  const lines = [
    `per detector (tolerance ${t.toleranceMs / 1000}s; precision counts each false anomaly against every fault type; t-: over time, the share of visible windows under an open anomaly)`,
    `  ${'detector'.padEnd(26)} ${'fault type'.padEnd(22)} ${'scope'.padEnd(11)} ${'pairs'.padStart(6)} ${'found'.padStart(6)} ${'FP'.padStart(5)} ${'prec'.padStart(6)} ${'recall'.padStart(6)} ${'F1'.padStart(6)} ${'ROC'.padStart(6)} ${'PR'.padStart(6)}  ${'t-prec'.padStart(6)} ${'t-rec'.padStart(6)} ${'t-F1'.padStart(6)}`,
  ];
  for (const c of t.cells) {
    lines.push(`  ${c.detector.padEnd(26)} ${c.faultType.padEnd(22)} ${c.scope.padEnd(11)} ${String(c.pairs).padStart(6)} ${String(c.found).padStart(6)} ${String(c.falsePositives).padStart(5)} ${num(c.precision)} ${num(c.recall)} ${num(c.f1)} ${num(c.rocAuc)} ${num(c.prAuc)}  ${num(c.timePrecision)} ${num(c.timeRecall)} ${num(c.timeF1)}`);
  }
  lines.push(`  anomalies per detector: ${t.detectors.map((d) => `${d.detector} ${d.anomalies} (false ${d.falsePositives}, incidental ${d.incidental})`).join('; ')}`);
  return lines.join('\n');
}
