import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadTopologyFile, validators } from '../../shared/index.ts';
import { run as simulate } from '../../simulator/main.ts';
import { run as scoreMain } from '../../simulator/score-main.ts';
import { truthToDetections } from '../../simulator/score.ts';
import { readTruthFile } from '../../simulator/truth.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const cerr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return { code: await fn(), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
    cerr.mockRestore();
  }
}

describe('gridwatch simulate and score (no broker)', () => {
  const truthPath = join(dir, 'truth.jsonl');
  const topoPath = join(dir, 'topology.csv');
  const outPath = join(dir, 'messages.jsonl');
  const scenario = join(dir, 'scenario.yaml');

  it('writes topology, truth and messages', async () => {
    writeFileSync(scenario, 'faults:\n  - type: sag\n    scope: feeder\n    target: sub-01-f01\n    start: 15m\n    duration: 3m\n  - { type: outage, scope: transformer, target: sub-01-f02-t001, start: 20m, duration: 4m }\n');
    const args = ['--meters', '150', '--seed', '3', '--mislabel', '0.1', '--duration', '30m', '--from', '2026-11-23T12:00:00Z', '--scenario', scenario, '--truth', truthPath, '--topology-out', topoPath, '--output', outPath];
    const { code, out } = await capture(() => simulate(args));
    expect(code).toBe(0);
    const summary = JSON.parse(out) as { readings: number; events: number; faults: number };
    expect(summary.faults).toBe(2);
    expect(loadTopologyFile(topoPath).size).toBe(150);
    const truth = readTruthFile(truthPath);
    expect(truth.map((t) => t.type)).toEqual(['sag', 'outage']);
    const lines = readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { topic: string; payload: unknown });
    expect(lines).toHaveLength(summary.readings + summary.events);
    for (const l of lines.slice(0, 500)) {
      expect(l.topic.endsWith('/reading') ? validators.reading.check(l.payload) : validators.meterEvent.check(l.payload)).toBe(true);
    }
    expect(lines.filter((l) => l.topic.endsWith('/event')).length).toBe(2 * truth[1]!.meters.length);
  });

  it('scores the perfect detections of its own truth as perfect (table and JSON)', async () => {
    const truth = readTruthFile(truthPath);
    const { anomalies, events } = truthToDetections(truth);
    const detected = join(dir, 'detected.jsonl');
    writeFileSync(detected, [...anomalies, ...events].map((r) => JSON.stringify(r)).join('\n') + '\n{"not":"a detection"}\n');
    const json = await capture(() => scoreMain(['--truth', truthPath, '--detected', detected, '--json']));
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as { anomalyTotal: { f1: number }; eventTotal: { f1: number }; rootAttribution: { accuracy: number }; invalidRecords: number };
    expect(report.anomalyTotal.f1).toBe(1);
    expect(report.eventTotal.f1).toBe(1);
    expect(report.rootAttribution.accuracy).toBe(1);
    expect(report.invalidRecords).toBe(1);
    // The per-detector table on the same truth: the perfect detections' rule classes find every pair.
    const detectors = (JSON.parse(json.out) as { detectors: { cells: { detector: string; recall: number | null; falsePositives: number }[] } }).detectors;
    const all = detectors.cells.filter((c) => c.detector === 'rules:all');
    expect(all.length).toBeGreaterThan(0);
    for (const c of all) expect(c).toMatchObject({ recall: 1, falsePositives: 0 });
    const table = await capture(() => scoreMain(['--truth', truthPath, '--detected', detected]));
    expect(table.out).toContain('per detector');
    expect(table.out).toContain('rules:sag/undervoltage');
    expect(table.out).toContain('sag/undervoltage');
    expect(table.out).toContain('root attribution: 2/2');
  });

  it('says how many random faults fit in a short span, and the span all of them need', async () => {
    const stderr: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const truth = join(dir, 'few.jsonl');
    const args = ['--meters', '40', '--seed', '5', '--interval', '10s', '--from', '2026-11-23T12:00:00Z', '--faults', '10', '--truth', truth];
    try {
      await simulate([...args, '--duration', '20m']);
      const said = stderr.join('');
      const m = /only (\d+) of the 10 random faults asked for fit in 20m .*; all 10 need --duration (\S+) or more/.exec(said);
      expect(m, said).not.toBeNull();
      expect(Number(m![1])).toBe(readTruthFile(truth).length);
      expect(Number(m![1])).toBeLessThan(10);
      // The span it names is enough for all ten, and nothing is said then.
      stderr.length = 0;
      await simulate([...args, '--duration', m![2]!]);
      expect(readTruthFile(truth)).toHaveLength(10);
      expect(stderr.join('')).not.toContain('random faults asked');
    } finally {
      err.mockRestore();
      log.mockRestore();
    }
  });

  it('refuses bad flags with a message naming them', async () => {
    await expect(simulate(['--interval', 'often'])).rejects.toThrow(/--interval/);
    await expect(simulate(['--duration', '120'])).rejects.toThrow(/--duration: a duration needs a unit, like 120s, 2m/);
    await expect(scoreMain(['--truth', 't.jsonl', '--detected', 'd.jsonl', '--tolerance', '30'])).rejects.toThrow(/--tolerance: a duration needs a unit/);
    await expect(simulate(['--mode', 'slow'])).rejects.toThrow(/--mode/);
    const { code } = await capture(() => scoreMain([]));
    expect(code).toBe(2);
  });
});
