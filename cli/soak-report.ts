// What `gridwatch soak` makes of its samples: per process, RSS and open handles after the warm-up
// against the end of the run (flat means within the tolerance, 5 %), the peak RSS against a
// budget, consumer lag, and a table. Pure functions, so the unit test checks the verdicts on
// made-up samples.
//
// Why RSS flatness needs long windows: a garbage-collected process's RSS breathes between major
// collections. In the soaks here an edge's V8 heap in use went 50 -> 170-220 MiB and back every
// 30-100 s (RSS 250 -> 420 MiB), the simulator's RSS 183 -> 241 MiB. Two windows of 12 s (a fifth
// of the minute a 2-minute soak can judge) then compare two phases of that cycle, not the start and
// the end of a leak: the same code measured -32 % to +8 % from run to run. So RSS flatness is
// decided only when each window spans at least `minRssWindowMs` (default in cli/soak.ts: 2 min,
// longer than one cycle); a shorter run reports the change and is judged on what it can decide:
// handles (no breathing), the RSS budget, lag and loss.

export interface ProcessSample {
  /** Milliseconds since the flood began. */
  t: number;
  name: string;
  pid: number;
  rssBytes: number;
  handles: number;
  /** CPU seconds the process has used since it started (user + system): what limits the rate. */
  cpuSeconds?: number;
}

export interface ProcessTrend {
  name: string;
  /** Medians of the first and last windows after the warm-up. */
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  handlesStart: number;
  handlesEnd: number;
  handlesMax: number;
  /** (end - start) / start, in percent. */
  rssChangePct: number;
  handlesChangePct: number;
  /** Whether the judged time held two windows of at least `minRssWindowMs`, so RSS flatness was decided. */
  rssDecided: boolean;
  /** Within the tolerance: handles always, RSS when decided. */
  flat: boolean;
  /** The highest RSS of every sample (warm-up included) and the budget it must stay under (null: none). */
  rssPeakMiB: number;
  rssBudgetMiB: number | null;
  withinBudget: boolean;
  /** Flat and within the budget: what the soak asserts for every judged process. */
  passed: boolean;
  /** False for the servers (Kafka, MinIO, InfluxDB): reported, not judged (they are shared and not gridwatch's code). */
  judged: boolean;
  samples: number;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const pct = (a: number, b: number): number => (a === 0 ? (b === 0 ? 0 : Infinity) : ((b - a) / a) * 100);
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;

/**
 * Trend of every process that was sampled after `warmupMs`: the median of the samples in the first
 * `windowMs` after the warm-up against the median of the last `windowMs`. Medians, because a
 * collector's heap breathes between samples; a leak moves the median, a GC does not.
 */
export interface TrendOptions {
  warmupMs: number;
  windowMs: number;
  tolerancePct: number;
  notJudged?: ReadonlySet<string>;
  /** RSS flatness is decided only when both windows are at least this long (the header says why); 0: always. */
  minRssWindowMs?: number;
  /** The RSS budget of a process, MiB, or undefined for none. */
  budgetMiB?: (name: string) => number | undefined;
}

export function trends(samples: ProcessSample[], o: TrendOptions): ProcessTrend[] {
  const byName = new Map<string, ProcessSample[]>();
  const peak = new Map<string, number>();
  for (const s of samples) {
    peak.set(s.name, Math.max(peak.get(s.name) ?? 0, s.rssBytes));
    if (s.t >= o.warmupMs) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  }
  const out: ProcessTrend[] = [];
  for (const [name, xs] of byName) {
    const end = Math.max(...xs.map((s) => s.t));
    const first = xs.filter((s) => s.t < o.warmupMs + o.windowMs);
    const last = xs.filter((s) => s.t > end - o.windowMs);
    const rssStart = median(first.map((s) => s.rssBytes));
    const rssEnd = median(last.map((s) => s.rssBytes));
    const hStart = median(first.map((s) => s.handles));
    const hEnd = median(last.map((s) => s.handles));
    const rssChangePct = pct(rssStart, rssEnd);
    const handlesChangePct = pct(hStart, hEnd);
    // Both windows long enough, and not overlapping: the judged time is at least two of them.
    const rssDecided = o.windowMs >= (o.minRssWindowMs ?? 0) && end - o.warmupMs >= 2 * o.windowMs;
    const flat = handlesChangePct <= o.tolerancePct && (!rssDecided || rssChangePct <= o.tolerancePct);
    const rssPeak = peak.get(name) ?? 0;
    const budget = o.budgetMiB?.(name);
    const withinBudget = budget === undefined || rssPeak <= budget * 1048576;
    out.push({
      name,
      rssStartMiB: mib(rssStart),
      rssEndMiB: mib(rssEnd),
      rssMaxMiB: mib(Math.max(...xs.map((s) => s.rssBytes))),
      handlesStart: hStart,
      handlesEnd: hEnd,
      handlesMax: Math.max(...xs.map((s) => s.handles)),
      rssChangePct: Math.round(rssChangePct * 10) / 10,
      handlesChangePct: Math.round(handlesChangePct * 10) / 10,
      rssDecided,
      flat,
      rssPeakMiB: mib(rssPeak),
      rssBudgetMiB: budget ?? null,
      withinBudget,
      passed: flat && withinBudget,
      judged: !(o.notJudged?.has(name) ?? false),
      samples: xs.length,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function trendTable(ts: ProcessTrend[], tolerancePct: number): string {
  const rows = [['process', 'RSS MiB (after warm-up -> end, max)', 'RSS %', 'handles (-> end, max)', 'handles %', `flat (<= ${tolerancePct} %)`, 'RSS peak / budget MiB']];
  for (const t of ts) {
    const flat = t.flat ? (t.rssDecided ? 'yes' : 'handles yes; RSS not decided (windows shorter than a GC cycle)') : t.judged ? 'NO' : 'no (server, not judged)';
    const budget = t.rssBudgetMiB === null ? `${t.rssPeakMiB} / -` : `${t.rssPeakMiB} / ${t.rssBudgetMiB}${t.withinBudget ? '' : t.judged ? ' OVER' : ' over (server, not judged)'}`;
    rows.push([t.name, `${t.rssStartMiB} -> ${t.rssEndMiB} (${t.rssMaxMiB})`, `${t.rssChangePct}`, `${t.handlesStart} -> ${t.handlesEnd} (${t.handlesMax})`, `${t.handlesChangePct}`, flat, budget]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i] as number)).join('  ')).join('\n');
}

/**
 * Cores each process used between `fromMs` and its last sample (CPU seconds over wall seconds):
 * which process limits the rate when the flood falls short (the machine has few cores to share).
 */
export function cpuCores(samples: ProcessSample[], fromMs: number): { name: string; cores: number }[] {
  const byName = new Map<string, ProcessSample[]>();
  for (const s of samples) if (s.t >= fromMs && Number.isFinite(s.cpuSeconds)) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const out: { name: string; cores: number }[] = [];
  for (const [name, xs] of byName) {
    const a = xs[0] as ProcessSample;
    const b = xs.at(-1) as ProcessSample;
    if (b.t > a.t) out.push({ name, cores: Math.round((((b.cpuSeconds as number) - (a.cpuSeconds as number)) / ((b.t - a.t) / 1000)) * 100) / 100 });
  }
  return out.sort((x, y) => y.cores - x.cores);
}
