/**
 * Rules against the learned scorer on the same truth: the held-out test grids of the training
 * plan (seeds the model never saw), run through the edge's rule detector and through the
 * LearnedScorer. `gridwatch score --learned` prints it.
 *
 * Figures per detector and subtle fault type, over (fault, meter) pairs like the scorer's recall:
 * a pair is found when the detector opened any anomaly (of any type: the rules never say
 * `pattern`, so they are given every chance) on that meter within [start - tolerance, end). Not
 * after the end: the simulator ends a fault as a step back to normal, which a statistical rule
 * sees as a spike; that is the repair, not a detection, and such an anomaly counts as incidental
 * (neither right nor false). Precision is over the detector's opened anomalies: matching / all. F1 per type uses
 * that type's recall and the detector's overall precision. ROC-AUC and PR-AUC are the model's
 * over windows, labelled by `subtleVisibleAt`. Coverage is the share of a fault's visible windows
 * during which the detector had an anomaly open on the meter (a transient spike at a fault's onset
 * finds the pair but covers little); `falseTimeShare` the share of healthy meters' time under one.
 */
import type { Anomaly } from '../../shared/contracts/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { Detector } from '../../edge/detect/index.ts';
import { createSimulation } from '../../simulator/generate.ts';
import { subtleVisibleAt } from '../../simulator/subtle-faults.ts';
import { generateTopology } from '../../simulator/topology.ts';
import { FULL_PLAN, faultsOf, type DatasetPlan } from './dataset.ts';
import { LearnedScorer } from './scorer.ts';
import { aucs, detectorTable, formatDetectorTable, type DetectorTable, type WindowScore } from '../../simulator/score-detectors.ts';
import { toTruth, type TruthRecord } from '../../simulator/truth.ts';

const DAY = 86_400_000;

export interface DetectorFigures { opened: number; precision: number; types: Record<string, number>; perType: Record<string, { pairs: number; recall: number; f1: number; coverage: number }>; falseTimeShare: number }
export interface Comparison { grids: number[]; toleranceMs: number; rules: DetectorFigures; model: DetectorFigures & { rocAuc: number; prAuc: number; version: string; threshold: number }; readingsPerSec: number; table: DetectorTable }

export async function compare(opts: { modelDir: string; plan?: DatasetPlan; toleranceMs?: number }): Promise<Comparison> {
  const plan = opts.plan ?? FULL_PLAN;
  const tol = opts.toleranceMs ?? plan.windowMs;
  const found = { rules: new Map<string, Set<string>>(), model: new Map<string, Set<string>>() };
  const opened = { rules: 0, model: 0 };
  const types = { rules: {} as Record<string, number>, model: {} as Record<string, number> };
  const matched = { rules: 0, model: 0 };
  const pairs = new Map<string, number>();
  const coverage = { rules: new Map<string, { windows: number; covered: number }>(), model: new Map<string, { windows: number; covered: number }>() };
  const falseTime = { rules: 0, model: 0 };
  let healthyTime = 0;
  const winScores: number[] = [];
  const winLabels: number[] = [];
  let readings = 0;
  const t0 = Date.now();
  let version = '';
  let threshold = 0;
  // The same run as one truth for the per-detector table; meters are named per grid (two grids share meter ids).
  const allTruth: TruthRecord[] = [];
  const allAnomalies: Anomaly[] = [];
  const allScores: WindowScore[] = [];
  for (const grid of plan.test) {
    const topo = generateTopology({ meters: plan.meters, seed: grid.seed, profile: grid.profile, substations: 1, readingIntervalMs: plan.intervalMs });
    const where = new Map(topo.actual.map((e) => [e.meterId, e]));
    const sim = createSimulation({ topology: topo.actual, faults: faultsOf(grid.seed, topo.actual.map((e) => e.meterId), [...new Set(topo.actual.map((e) => e.transformerId))]), from: plan.from, to: plan.from + 2 * DAY, intervalMs: plan.intervalMs, seed: grid.seed });
    for (const f of sim.faults) pairs.set(f.type, (pairs.get(f.type) ?? 0) + f.meters.length);
    const spans = { rules: new Map<string, { meterId: string; start: number; end: number }>(), model: new Map<string, { meterId: string; start: number; end: number }>() };
    for (const f of sim.faults) { const t = toTruth(f); allTruth.push({ ...t, faultId: `${grid.seed}/${t.faultId}`, meters: t.meters.map((m) => `${grid.seed}/${m}`) }); }
    const judge = (who: 'rules' | 'model', a: Anomaly) => {
      if (a.startTs >= plan.from + DAY) allAnomalies.push({ ...a, anomalyId: `${grid.seed}/${a.anomalyId}`, meterId: `${grid.seed}/${a.meterId}` });
      if (a.state === 'closed') {
        const span = spans[who].get(a.anomalyId);
        if (span) span.end = a.endTs ?? a.startTs;
        return;
      }
      spans[who].set(a.anomalyId, { meterId: a.meterId, start: a.startTs, end: Infinity });
      opened[who]++;
      // Day 1 is the model's warm-up; the rules are judged on the same day 2 only.
      if (a.startTs < plan.from + DAY) {
        opened[who]--;
        return;
      }
      types[who][a.type] = (types[who][a.type] ?? 0) + 1;
      let hit = false;
      for (const f of sim.faults) {
        if (!f.meters.includes(a.meterId) || a.startTs < f.startTs - tol || a.startTs >= f.endTs) continue;
        hit = true;
        const key = `${grid.seed}:${f.faultId}`;
        const set = found[who].get(f.type) ?? found[who].set(f.type, new Set()).get(f.type)!;
        set.add(`${key}:${a.meterId}`);
      }
      if (hit) matched[who]++;
      // Within the tolerance after a fault's end on its meter: the step back (incidental), neither right nor false.
      else if (sim.faults.some((f) => f.meters.includes(a.meterId) && a.startTs >= f.endTs && a.startTs <= f.endTs + tol)) opened[who]--;
    };
    const clock = new ManualClock(plan.from);
    const rules = new Detector({ edgeId: 'compare', clock, context: (id) => { const e = where.get(id)!; return { edgeId: 'compare', substationId: e.substationId, feederId: e.feederId, transformerId: e.transformerId, nominalVoltage: e.nominalVoltage, nominalFrequency: e.nominalFrequency, expectedIntervalMs: plan.intervalMs, ...(e.transformerKva !== undefined ? { transformerKva: e.transformerKva } : {}) }; } });
    const faultsByMeter = new Map<string, typeof sim.faults>();
    for (const f of sim.faults) for (const m of f.meters) (faultsByMeter.get(m) ?? faultsByMeter.set(m, []).get(m)!).push(f);
    const scorer = new LearnedScorer({ modelDir: opts.modelDir, intervalMs: plan.intervalMs, nominalOf: (id) => where.get(id)?.nominalVoltage, onAnomaly: (a) => judge('model', a),
      // Window scores for the AUCs, labelled like the training sets.
      onScore: (r, score) => {
        if (r.windowStart < plan.from + DAY) return;
        allScores.push({ modelVersion: scorer.version, meterId: `${grid.seed}/${r.meterId}`, windowStart: r.windowStart, windowMs: plan.windowMs, score });
        winScores.push(score);
        winLabels.push((faultsByMeter.get(r.meterId) ?? []).some((f) => subtleVisibleAt(f, r.windowStart + plan.windowMs / 2)) ? 1 : 0);
      },
    });
    await scorer.start();
    version = scorer.version;
    threshold = scorer.threshold;
    for (const item of sim.items()) {
      if (item.kind !== 'reading') continue;
      readings++;
      const e = where.get(item.meterId)!;
      const r = item.reading;
      clock.set(item.at);
      for (const a of rules.onReading({ meterId: r.meterId, ts: r.ts as number, ...(r.seq !== undefined ? { seq: r.seq } : {}), voltage: r.voltage, ...(r.current !== undefined ? { current: r.current } : {}), ...(r.power !== undefined ? { power: r.power } : {}), ...(r.frequency !== undefined ? { frequency: r.frequency } : {}) }).anomalies) judge('rules', a);
      scorer.add({ meterId: r.meterId, ts: r.ts as number, voltage: r.voltage, power: r.power, transformerId: e.transformerId, feederId: e.feederId, substationId: e.substationId });
    }
    await scorer.flush();
    await scorer.stop();
    // Coverage: the share of a fault's visible windows during which the detector had an anomaly
    // open on the meter, and the share of healthy meters' day-2 time under a (false) anomaly.
    const faultedMeters = new Set(sim.faults.flatMap((f) => f.meters));
    for (const who of ['rules', 'model'] as const) {
      const byMeter = new Map<string, { start: number; end: number }[]>();
      for (const sp of spans[who].values()) (byMeter.get(sp.meterId) ?? byMeter.set(sp.meterId, []).get(sp.meterId)!).push(sp);
      for (const f of sim.faults) {
        for (const m of f.meters) {
          for (let w = plan.from + DAY; w < plan.from + 2 * DAY; w += plan.windowMs) {
            const mid = w + plan.windowMs / 2;
            if (!subtleVisibleAt(f, mid)) continue;
            const c = coverage[who].get(f.type) ?? coverage[who].set(f.type, { windows: 0, covered: 0 }).get(f.type)!;
            c.windows++;
            if ((byMeter.get(m) ?? []).some((sp) => sp.start <= mid && mid < sp.end)) c.covered++;
          }
        }
      }
      for (const [m, list] of byMeter) {
        if (faultedMeters.has(m)) continue;
        for (const sp of list) falseTime[who] += Math.max(0, Math.min(sp.end, plan.from + 2 * DAY) - Math.max(sp.start, plan.from + DAY));
      }
    }
    healthyTime += (topo.actual.length - faultedMeters.size) * DAY;
  }
  const figures = (who: 'rules' | 'model'): DetectorFigures => {
    const precision = opened[who] ? matched[who] / opened[who] : 0;
    const perType: DetectorFigures['perType'] = {};
    for (const [type, n] of pairs) {
      const recall = (found[who].get(type)?.size ?? 0) / n;
      const c = coverage[who].get(type);
      perType[type] = { pairs: n, recall: round(recall), f1: round(precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0), coverage: round(c && c.windows ? c.covered / c.windows : 0) };
    }
    return { opened: opened[who], precision: round(precision), types: types[who], perType, falseTimeShare: round(healthyTime ? falseTime[who] / healthyTime : 0) };
  };
  const { rocAuc, prAuc } = aucs(winScores, winLabels);
  const table = detectorTable(allTruth, allAnomalies, { toleranceMs: tol, scores: allScores, visibleAt: subtleVisibleAt });
  return {
    table, grids: plan.test.map((g) => g.seed), toleranceMs: tol, rules: figures('rules'), model: { ...figures('model'), rocAuc: round(rocAuc ?? 0), prAuc: round(prAuc ?? 0), version, threshold }, readingsPerSec: Math.round(readings / ((Date.now() - t0) / 1000)) };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

export function formatComparison(c: Comparison): string {
  const types = Object.keys(c.model.perType);
  const cell = (f: DetectorFigures, t: string) => `${f.perType[t]!.recall.toFixed(2)} ${f.perType[t]!.f1.toFixed(2)} ${f.perType[t]!.coverage.toFixed(2)}`;
  return [
    `held-out grids ${c.grids.join(', ')}; tolerance ${c.toleranceMs / 1000}s; model ${c.model.version.slice(0, 12)} threshold ${c.model.threshold.toFixed(4)}`,
    `model windows: ROC-AUC ${c.model.rocAuc.toFixed(4)}  PR-AUC ${c.model.prAuc.toFixed(4)}`,
    `detector  opened precision falseTime  ${types.map((t) => t.padEnd(22)).join('')}`,
    `                                      ${types.map(() => 'recall F1  coverage'.padEnd(22)).join('')}`,
    ...(['rules', 'model'] as const).map((w) => `${w.padEnd(9)} ${String(c[w].opened).padStart(6)} ${c[w].precision.toFixed(3).padStart(9)} ${c[w].falseTimeShare.toFixed(4).padStart(9)}  ${types.map((t) => cell(c[w], t).padEnd(22)).join('')}`),
    `types opened: rules ${JSON.stringify(c.rules.types)}, model ${JSON.stringify(c.model.types)}`,
    '',
    formatDetectorTable(c.table),
  ].join('\n');
}
