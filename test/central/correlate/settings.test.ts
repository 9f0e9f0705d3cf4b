import { describe, expect, it } from 'vitest';
import { loadCentralConfig } from '../../../central/config.ts';
import { DEFAULT_CORRELATE_CONFIG } from '../../../central/correlate/config.ts';

describe('correlator thresholds as central settings', () => {
  it('defaults to the correlator\'s documented defaults', () => {
    expect(loadCentralConfig({ env: {} }).correlate).toEqual(DEFAULT_CORRELATE_CONFIG);
  });

  it('are tuned from GRIDWATCH_CORRELATE_* (15-minute meters need a wider window)', () => {
    const c = loadCentralConfig({ env: { GRIDWATCH_CORRELATE_WINDOW_MS: '2700000', GRIDWATCH_CORRELATE_TRANSFORMER_MIN_COUNT: '2', GRIDWATCH_CORRELATE_METER_EVENT_MIN_SEVERITY: 'critical', GRIDWATCH_CORRELATE_ADOPT_STRAYS: 'false' } });
    expect(c.correlate.windowMs).toBe(2_700_000);
    expect(c.correlate.transformer).toEqual({ ...DEFAULT_CORRELATE_CONFIG.transformer, minCount: 2 });
    expect(c.correlate.meterEventMinSeverity).toBe('critical');
    expect(c.correlate.adoptStrays).toBe(false);
  });

  it('refuses bad values naming the variable or the rule', () => {
    expect(() => loadCentralConfig({ env: { GRIDWATCH_CORRELATE_METER_EVENT_MIN_SEVERITY: 'huge' } })).toThrow(/GRIDWATCH_CORRELATE_METER_EVENT_MIN_SEVERITY/);
    expect(() => loadCentralConfig({ env: { GRIDWATCH_CORRELATE_FEEDER_CLEAR_SHARE: '0.9' } })).toThrow(/correlate \(GRIDWATCH_CORRELATE_\*.*feeder\.clearShare/);
    expect(() => loadCentralConfig({ env: { GRIDWATCH_CORRELATE_WINDOW_SLOTS: '2.5' } })).toThrow(/windowSlots/);
  });
});
