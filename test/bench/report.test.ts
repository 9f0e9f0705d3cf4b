import { describe, expect, it } from 'vitest';
import type { BenchFigure } from '../../bench/figures.ts';
import { regressions, table } from '../../bench/report.ts';

const fig = (id: string, value: number, higherIsBetter: boolean, extra: Partial<BenchFigure> = {}): BenchFigure => ({ id, figure: id, value, unit: 'x', higherIsBetter, ...extra });
const load = { loadavg1Start: 1, loadavg1End: 1.5, cpus: 2 };

describe('bench report', () => {
  it('flags a figure 20 % worse in its own direction, and only that', () => {
    const before = { edge: { figures: [fig('rate', 100, true), fig('cost', 10, false), fig('steady', 50, true), fig('gone', 1, true)], load } };
    const now = { edge: { figures: [fig('rate', 79, true), fig('cost', 12.6, false), fig('steady', 41, true), fig('new', 3, true)], load } };
    const c = regressions(before, now);
    expect(c.flagged.map((r) => r.id).sort()).toEqual(['cost', 'rate']);
    expect(c.compared).toBe(3);
    expect(c.missing).toEqual(['gone']);
    // A cost that fell and a rate that rose are improvements, never flagged.
    expect(regressions({ p: { figures: [fig('cost', 10, false), fig('rate', 10, true)] } }, { p: { figures: [fig('cost', 1, false), fig('rate', 100, true)] } }).flagged).toEqual([]);
  });

  it('prints one row per figure with its goal and whether it is met', () => {
    const out = table({
      edge: { figures: [fig('a', 0.8, true, { yardstick: { name: 'bare', value: 100 }, ratio: 0.8, goal: { text: '>= 0.7 x bare', on: 'ratio', min: 0.7 } }), fig('b', 30, false, { goal: { text: '<= 25', on: 'value', max: 25 } })], load },
      old: { something: 1 },
    });
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^figure\s+value\s+yardstick\s+ratio\s+goal\s+met$/);
    expect(lines.find((l) => l.startsWith('a '))).toMatch(/bare 100\s+0\.8\s+>= 0\.7 x bare\s+yes$/);
    expect(lines.find((l) => l.startsWith('b '))).toMatch(/<= 25\s+NO$/);
    expect(out).toContain('edge: load 1 -> 1.5 on 2 cpus');
  });
});
