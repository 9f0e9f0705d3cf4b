import { describe, expect, it } from 'vitest';
import { GridwatchError } from '../../shared/index.ts';
import { parseDuration, parseScenario, randomFaults, resolveFaults, RANDOM_KINDS } from '../../simulator/faults.ts';
import { generateTopology } from '../../simulator/topology.ts';

const FROM = Date.UTC(2026, 10, 23, 12, 0, 0);
const topo = generateTopology({ meters: 300, seed: 2, substations: 2 }).actual;

describe('scenario files', () => {
  it('reads YAML and JSON alike', () => {
    const yaml = `
seed: 9
faults:
  - type: sag
    scope: feeder
    target: ${topo[0]!.feederId}
    start: 10m
    duration: 2m
    magnitude: 0.83
  - type: outage
    scope: substation
    start: 2026-11-23T12:30:00Z
    duration: 5m
random:
  count: 3
`;
    const s = parseScenario(yaml, 'yaml');
    expect(s.seed).toBe(9);
    expect(s.random).toEqual({ count: 3 });
    expect(parseScenario(JSON.stringify(s), 'json')).toEqual(s);
    const [sag, outage] = resolveFaults(s.faults, topo, FROM, 1);
    expect(sag).toMatchObject({ type: 'sag', scope: 'feeder', rootId: topo[0]!.feederId, startTs: FROM + 600_000, endTs: FROM + 720_000, magnitude: 0.83 });
    expect(outage!.scope).toBe('substation');
    expect(outage!.startTs).toBe(Date.UTC(2026, 10, 23, 12, 30));
    expect(outage!.meters.length).toBe(150);
  });

  it('reports every bad fault with its index', () => {
    try {
      parseScenario(JSON.stringify({ faults: [{ type: 'sag', scope: 'grid', start: 0, duration: 1 }, { type: 'melt', start: 0, duration: 1 }, { type: 'spike' }] }), 'json', 's.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GridwatchError);
      const msg = (err as Error).message;
      expect(msg).toContain('faults[0]: sag cannot be injected at scope grid');
      expect(msg).toContain('faults[1]: unknown type "melt"');
      expect(msg).toContain('faults[2]: start and duration are required');
    }
  });

  it('refuses a target that is not in the topology', () => {
    expect(() => resolveFaults([{ type: 'sag', scope: 'feeder', target: 'nope', start: 0, duration: 1000 }], topo, FROM, 1)).toThrow(/no feeder nope/);
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(' 2m ')).toBe(120_000);
    expect(() => parseDuration('soon')).toThrow(GridwatchError);
  });

  it('refuses a duration without a unit, showing the accepted forms', () => {
    // `--duration 120` used to run 120 ms.
    expect(() => parseDuration('120', '--duration')).toThrow(/--duration: a duration needs a unit, like 120s, 2m/);
    expect(() => parseDuration(250, 'fault duration')).toThrow(/needs a unit, like 120s, 2m/);
    expect(() => parseScenario('faults:\n  - { type: sag, scope: feeder, start: 10s, duration: 40 }\n', 'yaml')).toThrow(/faults\[0\]: duration: a duration needs a unit, like 120s, 2m/);
    expect(() => parseScenario('faults:\n  - { type: sag, scope: feeder, start: 10, duration: 40s }\n', 'yaml')).toThrow(/faults\[0\]: start .*needs a unit/);
  });
});

describe('random faults', () => {
  it('are reproducible, non-overlapping, after the warm-up, and cover every kind', () => {
    const opts = { count: 12, from: FROM, to: FROM + 6 * 3_600_000, intervalMs: 10_000, seed: 4 };
    const a = randomFaults(opts);
    expect(randomFaults(opts)).toEqual(a);
    expect(randomFaults({ ...opts, seed: 5 })).not.toEqual(a);
    expect(a).toHaveLength(12);
    expect(new Set(a.map((f) => `${f.type}:${f.scope}`)).size).toBe(RANDOM_KINDS.length);
    const resolved = resolveFaults(a, topo, FROM, 4).sort((x, y) => x.startTs - y.startTs);
    expect(resolved[0]!.startTs).toBeGreaterThanOrEqual(FROM + 70 * 10_000);
    for (let i = 1; i < resolved.length; i++) expect(resolved[i]!.startTs).toBeGreaterThanOrEqual(resolved[i - 1]!.endTs);
    for (const f of resolved) if (f.type === 'outage') expect(f.endTs - f.startTs).toBeGreaterThanOrEqual(120_000);
  });

  it('draw fewer faults when the span is too short for them', () => {
    expect(randomFaults({ count: 50, from: FROM, to: FROM + 3_600_000, intervalMs: 10_000, seed: 1 }).length).toBeLessThan(50);
  });
});

describe('simulation from a scenario', () => {
  it('takes the scenario faults and its random count', async () => {
    const { createSimulation } = await import('../../simulator/generate.ts');
    const scenario = parseScenario('faults:\n  - { type: dropout, target: m-000001, start: 20m, duration: 5m }\nrandom: { count: 2 }\n', 'yaml');
    const sim = createSimulation({ topology: topo, from: FROM, to: FROM + 2 * 3_600_000, intervalMs: 10_000, seed: 1, scenario });
    expect(sim.truth).toHaveLength(3);
    expect(sim.truth[0]).toMatchObject({ type: 'dropout', rootId: 'm-000001', startTs: FROM + 20 * 60_000 });
  });

  it('leaves out of the truth a scenario fault that starts after the simulated span', async () => {
    const { createSimulation } = await import('../../simulator/generate.ts');
    const scenario = parseScenario('faults:\n  - { id: early, type: stuck, start: 1m, duration: 5m }\n  - { id: late, type: stuck, start: 30m, duration: 5m }\n', 'yaml');
    const sim = createSimulation({ topology: topo, from: FROM, to: FROM + 20 * 60_000, intervalMs: 10_000, seed: 1, scenario });
    expect(sim.truth.map((t) => t.faultId)).toEqual(['early']);
    expect(sim.skipped.map((f) => f.faultId)).toEqual(['late']);
  });
});
