import { describe, expect, it } from 'vitest';
import { DEFAULT_CORRELATE_CONFIG, resolveConfig } from '../../../central/correlate/index.ts';

describe('correlator config', () => {
  it('merges partial level rules onto the defaults', () => {
    const c = resolveConfig({ transformer: { share: 0.6, minCount: 2, clearShare: 0.1 }, windowMs: 60_000 });
    expect(c.transformer).toEqual({ share: 0.6, minCount: 2, clearShare: 0.1 });
    expect(c.feeder).toEqual(DEFAULT_CORRELATE_CONFIG.feeder);
    expect(c.windowMs).toBe(60_000);
  });

  it('has the flood rules on by default, with their holds', () => {
    expect(DEFAULT_CORRELATE_CONFIG).toMatchObject({ coincidentDeviations: true, deviationHoldMs: 30_000, momentaryHoldMs: 30_000, momentaryEvents: true, adoptStrays: true });
  });

  it.each([
    [{ windowMs: 0 }, 'windowMs'],
    [{ feeder: { share: 1.5, minCount: 5, clearShare: 0.2 } }, 'feeder.share'],
    [{ substation: { share: 0.5, minCount: 10, clearShare: 0.6 } }, 'substation.clearShare'],
    [{ maxOpenAnomalies: 0 }, 'maxOpenAnomalies'],
    [{ meterEventMinSeverity: 'huge' as never }, 'meterEventMinSeverity'],
    [{ deviationHoldMs: -1 }, 'deviationHoldMs'],
    [{ momentaryHoldMs: Number.NaN }, 'momentaryHoldMs'],
    [{ coincidentDeviations: 'yes' as never }, 'coincidentDeviations'],
    [{ momentaryEvents: 1 as never }, 'momentaryEvents'],
  ])('rejects %o naming %s', (partial, key) => {
    expect(() => resolveConfig(partial)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(key) }));
  });
});
