import { describe, expect, it } from 'vitest';
import { GridwatchError } from '../../../shared/errors.ts';
import { DEFAULT_DETECT_CONFIG, Detector, anomalyId, resolveDetectConfig } from '../../../edge/detect/index.ts';
import { ManualClock } from '../../../shared/clock.ts';
import { validators } from '../../../shared/contracts/index.ts';
import { EU, context } from './helpers.ts';

describe('detect config', () => {
  it('defaults are valid and partial overrides merge per channel', () => {
    expect(resolveDetectConfig()).toEqual(DEFAULT_DETECT_CONFIG);
    const c = resolveDetectConfig({ windowSize: 30, warmupReadings: 30, stuckReadings: { frequency: 50 } });
    expect(c.windowSize).toBe(30);
    expect(c.stuckReadings).toEqual({ voltage: 20, current: 30, power: 30, frequency: 50 });
  });

  it.each([
    [{ windowSize: 1 }, /windowSize/],
    [{ warmupReadings: 61 }, /warmupReadings/],
    [{ sigmaExit: 6 }, /sigmaExit/],
    [{ sagExitPu: 0.85 }, /sagPu/],
    [{ swellExitPu: 1.2 }, /swellExitPu/],
    [{ latenessMs: -1 }, /latenessMs/],
    [{ sigmaFloor: { voltage: Number.NaN } }, /sigmaFloor.voltage/],
    [{ stuckReadings: { voltage: 1 } }, /stuckReadings.voltage/],
    [{ driftLongReadings: 10 }, /driftLongReadings/],
  ])('refuses %j with CONFIG_INVALID naming the setting', (input, msg) => {
    const f = () => resolveDetectConfig(input);
    expect(f).toThrow(GridwatchError);
    expect(f).toThrow(msg);
  });

  it('refuses a meter context it cannot judge against, and non-finite readings', () => {
    const d = new Detector({ edgeId: 'e', clock: new ManualClock(), context: (id) => context(EU, id === 'bad' ? { nominalVoltage: 0 } : {}) });
    expect(() => d.onReading({ meterId: 'bad', ts: 1, voltage: 230 })).toThrow(/TOPOLOGY|nominalVoltage/);
    expect(() => d.onReading({ meterId: 'ok', ts: 1, voltage: Number.NaN })).toThrow(/finite/);
    expect(() => d.onReading({ meterId: 'ok', ts: 1, voltage: 230, power: Number.POSITIVE_INFINITY })).toThrow(/finite/);
  });

  it('anomaly ids from the longest legal ids fit the contract', () => {
    const id = 'x'.repeat(64);
    const aid = anomalyId(id, id, 'frequency_deviation', 'frequency', 8_640_000_000_000_000);
    expect(aid.length).toBeLessThanOrEqual(200);
    const v = validators.anomaly.validate({
      anomalyId: aid, edgeId: id, meterId: id, substationId: null, feederId: null, transformerId: null, type: 'frequency_deviation', channel: 'frequency',
      state: 'open', severity: 'major', startTs: 0, endTs: null, observed: 1, baseline: 1, detectedAt: 0,
    });
    expect(v.ok).toBe(true);
  });
});
