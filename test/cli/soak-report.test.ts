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

describe('soak CPU', () => {
  it('gives the cores each process used after a time, busiest first', () => {
    const at = (t: number, name: string, cpuSeconds: number): ProcessSample => ({ t, name, pid: 1, rssBytes: 1, handles: 1, cpuSeconds });
    const samples = [at(0, 'edge', 0), at(10_000, 'edge', 3), at(20_000, 'edge', 13), at(10_000, 'central', 1), at(20_000, 'central', 5), at(20_000, 'lonely', 9)];
    expect(cpuCores(samples, 10_000)).toEqual([{ name: 'edge', cores: 1 }, { name: 'central', cores: 0.4 }]);
  });
});
