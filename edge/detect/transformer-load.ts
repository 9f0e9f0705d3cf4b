import type { DetectConfig } from './config.ts';
import { track, type Emitter, type Severity } from './lifecycle.ts';
import type { MeterState } from './state.ts';
import type { ReadingIn } from './types.ts';

/** Apparent power of a reading, kVA: |V x I| when current is known, else |P| / power factor, else 0. */
export function apparentKva(r: ReadingIn): number {
  if (r.current !== undefined) return Math.abs(r.voltage * r.current) / 1000;
  if (r.power !== undefined) {
    const pf = r.powerFactor;
    return Math.abs(r.power) / (pf !== undefined && Math.abs(pf) > 0.05 ? Math.abs(pf) : 1);
  }
  return 0;
}

interface Transformer {
  kva: number;
  /** Sum of the latest apparent power of every meter heard under it. */
  sum: number;
  /** Event time of the first reading counted (since start or restart). */
  firstTs: number;
  /** Event time the sum first went above overloadPu in the current run of such readings; -1 if not above. */
  overSince: number;
}

/**
 * Transformer overload (GRID.md: "summed load under a transformer above its rating"). An edge
 * gateway sees every meter of its substation, so it can sum a transformer's load where a central
 * instance, which gets readings partitioned by meter, cannot. Per transformer: a running sum of
 * each meter's latest apparent power (O(1) per reading). When the sum stays above overloadPu x
 * rating for overloadHoldIntervals expected intervals of event time, every meter under it opens
 * an `overcurrent` anomaly (channel power, observed = the sum in kVA, baseline = the rating) on its
 * next reading, so that central rolls them up to one transformer `overload` event; they close
 * below overloadExitPu.
 *
 * Limits: the sum uses the labelled topology (a mislabelled meter counts under its labelled
 * transformer); a meter that falls silent keeps its last load in the sum until it reads again
 * (an outage or interruption counts as 0). The sums are not checkpointed: after a restart they
 * rebuild from the first interval of readings, and nothing opens or closes before that interval
 * has passed (no flapping of anomalies restored open).
 */
export class TransformerLoad {
  private readonly transformers = new Map<string, Transformer>();

  constructor(private readonly cfg: DetectConfig) {}

  onReading(em: Emitter, m: MeterState, kva: number, ts: number): void {
    const cfg = this.cfg;
    const id = m.ctx.transformerId!;
    let t = this.transformers.get(id);
    if (t === undefined) {
      t = { kva: m.ctx.transformerKva!, sum: 0, firstTs: ts, overSince: -1 };
      this.transformers.set(id, t);
    }
    t.sum = Math.max(0, t.sum + kva - m.loadKva);
    m.loadKva = kva;
    const interval = m.ctx.expectedIntervalMs;
    const pu = t.sum / t.kva;
    if (pu > cfg.overloadPu) {
      if (t.overSince < 0) t.overSince = ts;
    } else if (pu < cfg.overloadExitPu) t.overSince = -1;
    const warm = ts - t.firstTs >= interval;
    const over = warm && t.overSince >= 0 && ts - t.overSince >= cfg.overloadHoldIntervals * interval;
    const o = m.overload;
    if (over) {
      const sev: Severity = pu > cfg.overloadCriticalPu ? 'critical' : pu > cfg.overloadMajorPu ? 'major' : 'minor';
      if (o === null) m.overload = em.open(m, 'overcurrent', 'power', t.overSince, t.sum, t.kva, sev);
      else track(o, t.sum, sev);
    } else if (o !== null && warm && t.overSince < 0) {
      em.close(m, o, ts);
      m.overload = null;
    }
  }

  /** Transformers tracked, and those whose sum is above the rating now (for tests and status). */
  stats(): { transformers: number; above: number } {
    let above = 0;
    for (const t of this.transformers.values()) if (t.overSince >= 0) above++;
    return { transformers: this.transformers.size, above };
  }
}
