/**
 * The one shape every benchmark part reports its figures in, so `gridwatch bench` can print one
 * table (figure, value, yardstick, ratio, goal, met) and `--compare FILE` can flag a figure that
 * got 20 % worse. A part returns `{ figures: BenchFigure[], load: MachineLoad, ...details }`.
 */
export interface BenchFigure {
  /** stable key, used by --compare: "edge.intake.single_qos1" */
  id: string;
  /** what a person reads: "edge intake, single QoS 1 readings into the durable outbox" */
  figure: string;
  value: number;
  /** "readings/s", "µs/reading", "MB", "ms", "bytes/reading", "ratio" */
  unit: string;
  /** true when a larger value is better (throughput), false for costs and latencies */
  higherIsBetter: boolean;
  /** the yardstick measured in the same process or run, when the figure has one */
  yardstick?: { name: string; value: number };
  /** value / yardstick.value (or the figure's own ratio) */
  ratio?: number;
  /** the goal in words and as a bound on value or ratio: ">= 0.7 x bare aedes" */
  goal?: { text: string; on: 'value' | 'ratio'; min?: number; max?: number };
}

/** What the machine was doing while a part ran (2 shared cores: figures are only comparable as ratios). */
export interface MachineLoad {
  loadavg1Start: number;
  loadavg1End: number;
  cpus: number;
}

export function goalMet(f: BenchFigure): boolean | undefined {
  if (!f.goal) return undefined;
  const v = f.goal.on === 'ratio' ? f.ratio : f.value;
  if (v === undefined || !Number.isFinite(v)) return false;
  if (f.goal.min !== undefined && v < f.goal.min) return false;
  if (f.goal.max !== undefined && v > f.goal.max) return false;
  return true;
}
