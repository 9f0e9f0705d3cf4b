import { describe, expect, it } from 'vitest';
import { cpuCores, trendTable, trends, type ProcessSample } from '../../cli/soak-report.ts';

const MiB = 1048576;
const series = (name: string, rss: (t: number) => number, handles: (t: number) => number): ProcessSample[] =>
  Array.from({ length: 61 }, (_, i) => ({ t: i * 1000, name, pid: 1, rssBytes: rss(i * 1000) * MiB, handles: handles(i * 1000) }));

describe('soak trends', () => {
  const o = { warmupMs: 10_000, windowMs: 10_000, tolerancePct: 5 };
  it('calls a process flat when it grows during the warm-up only and breathes after', () => {
    const s = series('central', (t) => (t < 10_000 ? 100 + t / 100 : 200 + (t % 3000 === 0 ? 8 : 0)), () => 40);
    const [c] = trends(s, o);
    expect(c?.flat).toBe(true);
    expect(c?.rssStartMiB).toBe(200);
    expect(c?.rssMaxMiB).toBe(208);
  });
  it('finds a leak of RSS or of handles past the tolerance', () => {
    const leak = trends(series('edge-1', (t) => 200 + t / 2000, () => 40), o)[0];
    expect(leak?.flat).toBe(false);
    expect(leak?.rssChangePct).toBeGreaterThan(5);
    const fds = trends(series('edge-2', () => 200, (t) => 40 + Math.floor(t / 5000)), o)[0];
    expect(fds?.flat).toBe(false);
    expect(trendTable([leak!, fds!], 5)).toContain('NO');
  });
  it('reports a server that grows without judging it', () => {
    const [kafka] = trends(series('kafka', (t) => 200 + t / 2000, () => 40), { ...o, notJudged: new Set(['kafka']) });
    expect(kafka).toMatchObject({ flat: false, judged: false });
    expect(trendTable([kafka!], 5)).toContain('not judged');
    expect(trends(series('central', () => 200, () => 40), { ...o, notJudged: new Set(['kafka']) })[0]?.judged).toBe(true);
  });
});

describe('soak trends through the heap\'s breathing', () => {
  // A sawtooth like an edge's RSS between major collections: 250 -> 420 MiB over 60 s, then back.
  const breathing = (t: number) => 250 + ((t % 60_000) / 60_000) * 170;
  const long = (name: string, rss: (t: number) => number, minutes: number): ProcessSample[] =>
    Array.from({ length: minutes * 12 + 1 }, (_, i) => ({ t: i * 5000, name, pid: 1, rssBytes: rss(i * 5000) * MiB, handles: 40 }));
  it('does not decide RSS from windows shorter than the GC cycle, and judges handles and the budget', () => {
    // One judged minute, windows of 12 s: the phases differ (+50 % here) though nothing leaks.
    const short = Array.from({ length: 30 }, (_, i) => ({ t: 60_000 + i * 2000, name: 'edge-sub-01', pid: 1, rssBytes: breathing(i * 2000) * MiB, handles: 100 }));
    const [e] = trends(short, { warmupMs: 60_000, windowMs: 12_000, tolerancePct: 5, minRssWindowMs: 120_000, budgetMiB: () => 512 });
    expect(e?.rssChangePct).toBeGreaterThan(5);
    expect(e).toMatchObject({ rssDecided: false, flat: true, withinBudget: true, passed: true });
    expect(trendTable([e!], 5)).toContain('RSS not decided');
    const [over] = trends(short, { warmupMs: 60_000, windowMs: 12_000, tolerancePct: 5, minRssWindowMs: 120_000, budgetMiB: () => 400 });
    expect(over).toMatchObject({ withinBudget: false, passed: false, rssBudgetMiB: 400 });
    expect(trendTable([over!], 5)).toContain('OVER');
  });
  it('decides RSS over windows of several cycles: breathing alone is flat, a slow leak is not', () => {
    const o = { warmupMs: 120_000, windowMs: 660_000, tolerancePct: 5, minRssWindowMs: 120_000 };
    const [flat] = trends(long('edge-sub-01', breathing, 60), o);
    expect(flat).toMatchObject({ rssDecided: true, flat: true, passed: true });
    expect(Math.abs(flat!.rssChangePct)).toBeLessThan(5);
    // 3 MiB a minute under the same breathing: +15 % of the median over the hour's judged time.
    const [leak] = trends(long('edge-sub-02', (t) => breathing(t) + (t / 60_000) * 3, 60), o);
    expect(leak).toMatchObject({ rssDecided: true, flat: false, passed: false });
    expect(leak!.rssChangePct).toBeGreaterThan(5);
  });
  it('counts the warm-up in the peak held against the budget', () => {
    const s = long('central', (t) => (t < 60_000 ? 1100 : 700), 10);
    const [c] = trends(s, { warmupMs: 120_000, windowMs: 60_000, tolerancePct: 5, budgetMiB: (n) => (n === 'central' ? 1024 : undefined) });
    expect(c).toMatchObject({ rssPeakMiB: 1100, withinBudget: false, passed: false });
  });
});

describe('soak CPU', () => {
  it('gives the cores each process used after a time, busiest first', () => {
    const at = (t: number, name: string, cpuSeconds: number): ProcessSample => ({ t, name, pid: 1, rssBytes: 1, handles: 1, cpuSeconds });
    const samples = [at(0, 'edge', 0), at(10_000, 'edge', 3), at(20_000, 'edge', 13), at(10_000, 'central', 1), at(20_000, 'central', 5), at(20_000, 'lonely', 9)];
    expect(cpuCores(samples, 10_000)).toEqual([{ name: 'edge', cores: 1 }, { name: 'central', cores: 0.4 }]);
  });
});
