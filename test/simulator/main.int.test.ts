// `gridwatch simulate --broker ...` end to end against Mosquitto from the harness: the CLI's flags
// reach the flood, and a subscriber sees every reading and last gasp it reports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as simulate } from '../../simulator/main.ts';
import { readTruthFile } from '../../simulator/truth.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-sim-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gridwatch simulate --broker', () => {
  it('floods Mosquitto in fast mode with QoS 1 and reports what it sent', async () => {
    const url = testEndpoints().mqttUrl;
    const scenario = join(dir, 's.json');
    writeFileSync(scenario, JSON.stringify({ faults: [{ type: 'outage', scope: 'transformer', target: 'sub-01-f01-t001', start: '2m', duration: '3m' }] }));
    const truthPath = join(dir, 'truth.jsonl');
    const sub = await mqtt.connectAsync(url, { clientId: uniqueName('cli-count'), reconnectPeriod: 0 });
    let readings = 0;
    let gasps = 0;
    sub.on('message', (topic, payload) => {
      const v = JSON.parse(payload.toString()) as { meterId: string; type?: string; seq?: number };
      if (!/^m-0000[0-9][0-9]$/.test(v.meterId) || (v.seq === undefined && v.type === undefined)) return;
      if (topic.endsWith('/reading')) readings++;
      else if (v.type === 'last_gasp') gasps++;
    });
    await sub.subscribeAsync(['meters/+/reading', 'meters/+/event'], { qos: 1 });
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await simulate(['--meters', '60', '--seed', '4', '--duration', '6m', '--scenario', scenario, '--truth', truthPath, '--broker', url, '--qos', '1', '--rate', '1500', '--connections', '8', '--quiet']);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(0);
    const report = JSON.parse(lines.at(-1)!) as { sent: number; acked: number; errors: number; readings: number; events: number };
    expect(report.errors).toBe(0);
    expect(report.acked).toBe(report.sent);
    const truth = readTruthFile(truthPath);
    expect(report.events).toBe(2 * truth[0]!.meters.length);
    const deadline = Date.now() + 30_000;
    while (readings < report.readings && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sub.endAsync();
    expect(readings).toBe(report.readings);
    expect(gasps).toBe(truth[0]!.meters.length);
  });
});
