/**
 * Feature drift of a served model against its training data: the population stability index
 * (PSI) per feature, PSI = sum over bins of (served - reference) * ln(served / reference), with
 * the reference bins the manifest carries (central/learn/reference.ts writes them at train time).
 * The field's rule of thumb: under 0.1 stable, 0.1-0.25 a shift worth a look, over 0.25 a shift
 * that calls for retraining (the alert rule uses 0.25, deploy/prometheus/alerts.yml).
 *
 * The served side is a sliding window of recent windows in two halves: the PSI covers the last
 * `span` to 2 x `span` rows, so an old distribution ages out and a new one shows within `span`.
 */
import type { FeatureReference, ModelReference } from './model-file.ts';

/** Shares below this count as this, so an empty bin on either side gives a large but finite PSI. */
const FLOOR = 1e-4;

/** The bin of x: bin i holds edges[i-1] < x <= edges[i]; below the first edge bin 0, above the last the last bin. */
export function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function psi(reference: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return 0;
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const e = Math.max(FLOOR, reference[i]!);
    const a = Math.max(FLOOR, (counts[i] ?? 0) / total);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Checks the reference of one feature: fractions one more than edges, each finite, summing to about 1. */
export function validReference(r: FeatureReference | undefined): r is FeatureReference {
  if (!r || !Array.isArray(r.edges) || !Array.isArray(r.fractions) || r.fractions.length !== r.edges.length + 1) return false;
  if (![...r.edges, ...r.fractions].every((x) => Number.isFinite(x))) return false;
  const s = r.fractions.reduce((a, b) => a + b, 0);
  return Math.abs(s - 1) < 1e-3;
}

export class PsiTracker {
  private readonly refs: { index: number; name: string; ref: FeatureReference }[];
  private current: Float64Array[];
  private previous: Float64Array[];
  private rowsCurrent = 0;
  private rowsPrevious = 0;
  /** Feature names the reference lacks or has malformed (PSI not computed for them). */
  readonly missing: string[] = [];

  constructor(features: readonly string[], reference: ModelReference, private readonly span = 5000) {
    this.refs = [];
    features.forEach((name, index) => {
      const ref = reference.features?.[name];
      if (validReference(ref)) this.refs.push({ index, name, ref });
      else this.missing.push(name);
    });
    this.current = this.refs.map((r) => new Float64Array(r.ref.fractions.length));
    this.previous = this.refs.map((r) => new Float64Array(r.ref.fractions.length));
  }

  /** One served feature vector. */
  add(values: ArrayLike<number>): void {
    for (let k = 0; k < this.refs.length; k++) {
      const r = this.refs[k]!;
      this.current[k]![binOf(r.ref.edges, values[r.index]!)]! += 1;
    }
    if (++this.rowsCurrent >= this.span) {
      this.previous = this.current;
      this.rowsPrevious = this.rowsCurrent;
      this.current = this.refs.map((r) => new Float64Array(r.ref.fractions.length));
      this.rowsCurrent = 0;
    }
  }

  get rows(): number {
    return this.rowsCurrent + this.rowsPrevious;
  }

  /** PSI per feature over the served window; empty until `minRows` rows were seen (too few to judge). */
  values(minRows = 500): Map<string, number> {
    const out = new Map<string, number>();
    if (this.rows < minRows) return out;
    this.refs.forEach((r, k) => {
      const counts = this.current[k]!.map((c, i) => c + this.previous[k]![i]!);
      out.set(r.name, psi(r.ref.fractions, counts));
    });
    return out;
  }
}
