/**
 * The one table of `gridwatch bench` over every part's figures, and `--compare FILE`: each figure
 * of this run against the same id in an earlier JSON, flagged when 20 % worse in its own direction
 * (higherIsBetter). Parts that do not yet return `figures` still print their JSON line.
 */
import { loadavg, cpus } from 'node:os';
import { goalMet, type BenchFigure, type MachineLoad } from './figures.ts';

/** A part's result as written to --json: `{ figures, load, ...details }` (older parts: details only). */
export type PartResult = { figures?: BenchFigure[]; load?: MachineLoad } & Record<string, unknown>;

/** Load sampler for a part: call at its start, `end()` at its end. */
export function loadProbe(): { end(): MachineLoad } {
  const start = loadavg()[0]!;
  return { end: () => ({ loadavg1Start: round2(start), loadavg1End: round2(loadavg()[0]!), cpus: cpus().length }) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return (Math.round(n * 10) / 10).toString();
  return (Math.round(n * 100) / 100).toString();
}

/** Rows of the table: one per figure of every part, in run order. */
export function table(results: Record<string, PartResult>): string {
  const rows: string[][] = [['figure', 'value', 'yardstick', 'ratio', 'goal', 'met']];
  for (const [part, r] of Object.entries(results)) {
    for (const f of r.figures ?? []) {
      const met = goalMet(f);
      rows.push([f.figure, `${fmt(f.value)} ${f.unit}`, f.yardstick ? `${f.yardstick.name} ${fmt(f.yardstick.value)}` : '-', fmt(f.ratio), f.goal?.text ?? '-', met === undefined ? '-' : met ? 'yes' : 'NO']);
    }
    if (r.load) rows.push([`(${part}: load ${r.load.loadavg1Start} -> ${r.load.loadavg1End} on ${r.load.cpus} cpus)`, '', '', '', '', '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row, k) => {
    const line = row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export interface Regression {
  id: string;
  figure: string;
  before: number;
  now: number;
  /** now / before in the figure's good direction: below 0.8 is flagged. */
  relative: number;
}

/** Figures 20 % worse than in `before` (same id), in each figure's own direction. */
export function regressions(before: Record<string, PartResult>, now: Record<string, PartResult>, tolerance = 0.2): { flagged: Regression[]; compared: number; missing: string[] } {
  const old = new Map<string, BenchFigure>();
  for (const r of Object.values(before)) for (const f of r.figures ?? []) old.set(f.id, f);
  const flagged: Regression[] = [];
  const missing: string[] = [];
  let compared = 0;
  for (const r of Object.values(now)) {
    for (const f of r.figures ?? []) {
      const b = old.get(f.id);
      if (b === undefined) continue;
      compared++;
      old.delete(f.id);
      if (!Number.isFinite(b.value) || !Number.isFinite(f.value) || b.value === 0) continue;
      // Good direction: higher is better -> now/before; lower is better -> before/now.
      const relative = f.higherIsBetter ? f.value / b.value : f.value === 0 ? Infinity : b.value / f.value;
      if (relative < 1 - tolerance) flagged.push({ id: f.id, figure: f.figure, before: b.value, now: f.value, relative: round2(relative) });
    }
  }
  for (const id of old.keys()) missing.push(id);
  return { flagged, compared, missing };
}
