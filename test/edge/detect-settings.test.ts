import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics, silentLogger } from '../../shared/index.ts';
import { loadEdgeConfig } from '../../edge/config.ts';
import { DEFAULT_DETECT_CONFIG } from '../../edge/detect/config.ts';
import { EdgeGateway } from '../../edge/gateway.ts';
import { offlineEdgeEnv } from './offline-env.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-detect-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('detector thresholds as edge settings', () => {
  it('defaults to the detector\'s documented defaults', () => {
    expect(loadEdgeConfig({ env: {} }).detect).toEqual(DEFAULT_DETECT_CONFIG);
  });

  it('a 15-minute-meter, 60 Hz utility tunes them from variables and a file section, no code', () => {
    const file = join(dir, 'edge.yaml');
    writeFileSync(file, ['defaultNominalFrequency: 60', 'defaultReadingIntervalMs: 900000', 'detect:', '  driftLongReadings: 672', '  sigmaFloor: { frequency: 0.0005 }', '  stuckReadings: { voltage: 8 }', ''].join('\n'));
    const c = loadEdgeConfig({ file, env: { GRIDWATCH_DETECT_SUSTAINED_MS: '1800000', GRIDWATCH_DETECT_DROPOUT_INTERVALS: '2', GRIDWATCH_DETECT_DRIFT_FRACTION_VOLTAGE: '0.05' } });
    expect(c.defaultNominalFrequency).toBe(60);
    expect(c.detect.driftLongReadings).toBe(672);
    expect(c.detect.sustainedMs).toBe(1_800_000);
    expect(c.detect.dropoutIntervals).toBe(2);
    expect(c.detect.sigmaFloor).toEqual({ ...DEFAULT_DETECT_CONFIG.sigmaFloor, frequency: 0.0005 });
    expect(c.detect.stuckReadings.voltage).toBe(8);
    expect(c.detect.driftFraction.voltage).toBe(0.05);
    expect(c.detect.sigmaEnter).toBe(DEFAULT_DETECT_CONFIG.sigmaEnter);
  });

  it('refuses a bad threshold naming its variable, and a broken cross-field rule naming the section', () => {
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_DETECT_SIGMA_ENTER: 'high' } })).toThrow(/GRIDWATCH_DETECT_SIGMA_ENTER="high": expected a number/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_DETECT_SAG_PU: '-1' } })).toThrow(/GRIDWATCH_DETECT_SAG_PU/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_DETECT_SIGMA_EXIT: '6' } })).toThrow(/detect \(GRIDWATCH_DETECT_\* or file section "detect"\): .*sigmaExit/);
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'detect:\n  sigmaEntr: 4\n');
    expect(() => loadEdgeConfig({ file, env: {} })).toThrow(/unknown key "detect.sigmaEntr"/);
  });

  it('reach the gateway\'s detector', async () => {
    const p = new EdgeGateway({
      config: loadEdgeConfig({
        env: offlineEdgeEnv(join(dir, 'data'), {
          GRIDWATCH_DETECT_SIGMA_ENTER: '4.5',
          GRIDWATCH_DETECT_WINDOW_SIZE: '96',
        }),
      }),
      logger: silentLogger(),
      metrics: new Metrics('edge', { defaultMetrics: false }),
    });
    await p.start();
    try {
      expect(p.detector.config.sigmaEnter).toBe(4.5);
      expect(p.detector.config.windowSize).toBe(96);
    } finally {
      await p.stop();
    }
  });
});

describe('edge schedules', () => {
  it('refuses a bad cron schedule when the configuration is read', () => {
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_RETENTION_CRON: '*/61 * * *' } })).toThrow(/GRIDWATCH_RETENTION_CRON: .*node-cron schedule/);
    expect(() => loadEdgeConfig({ env: { GRIDWATCH_HEARTBEAT_CRON: 'every minute' } })).toThrow(/GRIDWATCH_HEARTBEAT_CRON/);
  });

  it('names the budget schedule for what it does and still reads GRIDWATCH_CHECKPOINT_CRON, with a warning', () => {
    expect(loadEdgeConfig({ env: {} }).budgetCron).toBe('*/30 * * * * *');
    const warnings: string[] = [];
    const c = loadEdgeConfig({ env: { GRIDWATCH_CHECKPOINT_CRON: '*/5 * * * * *' }, warnings });
    expect(c.budgetCron).toBe('*/5 * * * * *');
    expect(warnings).toEqual([expect.stringMatching(/GRIDWATCH_CHECKPOINT_CRON .*deprecated: use GRIDWATCH_BUDGET_CRON/)]);
    // The new name wins, without a warning.
    const both: string[] = [];
    expect(loadEdgeConfig({ env: { GRIDWATCH_BUDGET_CRON: '0 * * * * *', GRIDWATCH_CHECKPOINT_CRON: '*/5 * * * * *' }, warnings: both }).budgetCron).toBe('0 * * * * *');
    expect(both).toEqual([]);
  });
});
