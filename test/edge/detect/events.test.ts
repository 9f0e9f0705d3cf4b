import { describe, expect, it } from 'vitest';
import { EU, NA, STEP, T0, checked, feed, makeDetector, normal, summary, warm } from './helpers.ts';

describe('meter events', () => {
  it('last_gasp opens an outage at once; repeats are ignored; power_restored closes it', () => {
    const { detector, clock } = makeDetector(EU);
    warm(detector, EU, 10);
    clock.set(T0 + 60_000);
    const open = detector.onMeterEvent({ meterId: 'm1', ts: T0 + 55_000, type: 'last_gasp' }).map(checked);
    expect(summary(open)).toEqual(['outage/none/open']);
    expect(open[0]).toMatchObject({ anomalyId: `edge-1:m1:outage:none:${T0 + 55_000}`, severity: 'critical', startTs: T0 + 55_000, detectedAt: T0 + 60_000, observed: null, baseline: null });
    expect(detector.onMeterEvent({ meterId: 'm1', ts: T0 + 56_000, type: 'last_gasp' })).toEqual([]);
    clock.set(T0 + 200_000);
    const closed = detector.onMeterEvent({ meterId: 'm1', ts: T0 + 175_000, type: 'power_restored' }).map(checked);
    expect(closed).toMatchObject([{ anomalyId: open[0]?.anomalyId, state: 'closed', endTs: T0 + 175_000, durationMs: 120_000, detectedAt: T0 + 200_000 }]);
    expect(detector.onMeterEvent({ meterId: 'm1', ts: T0 + 176_000, type: 'power_restored' })).toEqual([]);
    // A replayed last gasp from before the restoration opens nothing.
    expect(detector.onMeterEvent({ meterId: 'm1', ts: T0 + 55_000, type: 'last_gasp' })).toEqual([]);
    expect(detector.openAnomalies()).toEqual([]);
  });

  it('a reading with voltage back closes the outage when power_restored was lost (120 V)', () => {
    const { detector } = makeDetector(NA);
    const { next, z } = warm(detector, NA);
    const gaspTs = T0 + next * STEP;
    detector.onMeterEvent({ meterId: 'm1', ts: gaspTs, type: 'last_gasp' });
    const dead = { ...normal(NA, next + 1, z), voltage: 0, current: 0, power: 0, frequency: 0 };
    const out = feed(detector, [dead, normal(NA, next + 2, z)]);
    expect(summary(out)).toEqual(['interruption/voltage/open', 'outage/none/closed', 'interruption/voltage/closed']);
    expect(out[1]).toMatchObject({ endTs: T0 + (next + 2) * STEP, durationMs: 2 * STEP });
  });

  it('tamper, cover_open and magnet make one tamper anomaly that closes after a quiet hour', () => {
    const { detector, clock } = makeDetector(EU);
    const a = detector.onMeterEvent({ meterId: 'm9', ts: T0, type: 'cover_open' });
    expect(summary(a)).toEqual(['tamper/none/open']);
    expect(a[0]?.severity).toBe('major');
    clock.advance(600_000);
    expect(detector.onMeterEvent({ meterId: 'm9', ts: T0 + 600_000, type: 'magnet' })).toEqual([]);
    expect(detector.onMeterEvent({ meterId: 'm9', ts: T0 + 500_000, type: 'tamper' })).toEqual([]);
    clock.advance(3_600_000 - 1);
    expect(detector.tick()).toEqual([]);
    clock.advance(1);
    const closed = detector.tick();
    expect(closed).toMatchObject([{ type: 'tamper', state: 'closed', endTs: T0 + 600_000, durationMs: 600_000 }]);
    // A meter known only from events never raises dropout.
    clock.advance(10 * 3_600_000);
    expect(detector.tick()).toEqual([]);
  });

  it('clock_set changes nothing', () => {
    const { detector } = makeDetector(EU);
    expect(detector.onMeterEvent({ meterId: 'm1', ts: T0, type: 'clock_set' })).toEqual([]);
  });
});

describe('dropout (tick with a manual clock)', () => {
  it('opens after N expected intervals of silence and closes when readings return', () => {
    const { detector, clock } = makeDetector(EU);
    const z = warm(detector, EU, 0).z;
    for (let i = 0; i < 10; i++) {
      clock.set(T0 + i * STEP + 100);
      detector.onReading(normal(EU, i, z));
      expect(detector.tick()).toEqual([]);
    }
    const heard = T0 + 9 * STEP + 100;
    clock.set(heard + 3 * STEP);
    expect(detector.tick()).toEqual([]); // exactly N intervals: not yet
    clock.advance(1);
    const open = detector.tick().map(checked);
    expect(open).toMatchObject([{ type: 'dropout', channel: 'none', state: 'open', startTs: heard, observed: 3 * STEP + 1, baseline: 3 * STEP, severity: 'minor', detectedAt: heard + 3 * STEP + 1 }]);
    clock.advance(60_000);
    expect(detector.tick()).toEqual([]);
    expect(detector.openAnomalies().map((a) => a.type)).toEqual(['dropout']);
    const back = detector.onReading(normal(EU, 30, z)).anomalies.map(checked);
    expect(back).toMatchObject([{ anomalyId: open[0]?.anomalyId, state: 'closed', endTs: heard + 3 * STEP + 60_001, durationMs: 3 * STEP + 60_001 }]);
    expect(detector.tick()).toEqual([]);
  });

  it('is not raised while an outage explains the silence, and counts from power_restored', () => {
    const { detector, clock } = makeDetector(EU);
    const z = warm(detector, EU, 0).z;
    detector.onReading(normal(EU, 0, z));
    detector.onMeterEvent({ meterId: 'm1', ts: T0 + 1000, type: 'last_gasp' });
    clock.advance(3_600_000);
    expect(detector.tick()).toEqual([]);
    detector.onMeterEvent({ meterId: 'm1', ts: T0 + 3_600_000, type: 'power_restored' });
    clock.advance(3 * STEP);
    expect(detector.tick()).toEqual([]);
    clock.advance(1);
    expect(summary(detector.tick())).toEqual(['dropout/none/open']);
  });

  it('takeDirty names each changed meter once', () => {
    const { detector, clock } = makeDetector(EU);
    const z = warm(detector, EU, 0).z;
    detector.onReading(normal(EU, 0, z, 'a'));
    detector.onReading(normal(EU, 0, z, 'b'));
    detector.onReading(normal(EU, 1, z, 'a'));
    expect(detector.takeDirty()).toEqual(['a', 'b']);
    expect(detector.takeDirty()).toEqual([]);
    expect(detector.meterCount()).toBe(2);
    clock.advance(4 * STEP);
    detector.onReading(normal(EU, 2, z, 'b'));
    expect(detector.tick().map((x) => x.meterId)).toEqual(['a']);
    expect(detector.takeDirty().sort()).toEqual(['a', 'b']);
  });
});
