// What `gridwatch soak` makes of its samples: per process, RSS and open handles after the warm-up
// against the end of the run (flat means within the tolerance, 5 %), consumer lag, and a table.
// Pure functions, so the unit test checks the verdicts on made-up samples.

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
  flat: boolean;
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
export function trends(samples: ProcessSample[], o: { warmupMs: number; windowMs: number; tolerancePct: number; notJudged?: ReadonlySet<string> }): ProcessTrend[] {
  const byName = new Map<string, ProcessSample[]>();
  for (const s of samples) if (s.t >= o.warmupMs) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
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
      flat: rssChangePct <= o.tolerancePct && handlesChangePct <= o.tolerancePct,
      judged: !(o.notJudged?.has(name) ?? false),
      samples: xs.length,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function trendTable(ts: ProcessTrend[], tolerancePct: number): string {
  const rows = [['process', 'RSS MiB (after warm-up -> end, max)', 'RSS %', 'handles (-> end, max)', 'handles %', `flat (<= ${tolerancePct} %)`]];
  for (const t of ts) rows.push([t.name, `${t.rssStartMiB} -> ${t.rssEndMiB} (${t.rssMaxMiB})`, `${t.rssChangePct}`, `${t.handlesStart} -> ${t.handlesEnd} (${t.handlesMax})`, `${t.handlesChangePct}`, t.flat ? 'yes' : t.judged ? 'NO' : 'no (server, not judged)']);
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
