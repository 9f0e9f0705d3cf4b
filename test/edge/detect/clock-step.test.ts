import { describe, expect, it } from 'vitest';
import { EU, STEP, T0, makeDetector, normal, warm } from './helpers.ts';

// An NTP step of the gateway's clock is not silence: clockStepped moves the instants silence is
// measured from, so neither a step forward nor one back raises (or hides) a dropout.
describe('the gateway clock stepped (detector.clockStepped)', () => {
  const HOUR = 3_600_000;

  it('a step an hour forward raises no dropout; a meter silent across it still does, on time', () => {
    const { detector, clock } = makeDetector(EU);
    const z = warm(detector, EU, 0).z;
    for (let i = 0; i < 5; i++) {
      clock.set(T0 + i * STEP);
      detector.onReading(normal(EU, i, z));
    }
    const before = clock.now();
    clock.set(before + 1000 + HOUR);
    detector.clockStepped(HOUR, before, clock.now());
    expect(detector.tick()).toEqual([]);
    // Without readings it opens after 3 intervals of real silence, not sooner and not an hour late.
    clock.set(before + HOUR + 3 * STEP - 1);
    expect(detector.tick()).toEqual([]);
    clock.set(before + HOUR + 3 * STEP + 1);
    expect(detector.tick().map((a) => a.type)).toEqual(['dropout']);
  });

  it('a step an hour back hides no dropout, and a reading heard after the step is not moved', () => {
    const { detector, clock } = makeDetector(EU);
    const z = warm(detector, EU, 0).z;
    for (let i = 0; i < 5; i++) {
      clock.set(T0 + HOUR + i * STEP);
      detector.onReading(normal(EU, i, z));
    }
    const before = clock.now();
    clock.set(before - HOUR + 500);
    // A reading arrives between the step and the tick that notices it.
    detector.onReading(normal(EU, 5, z));
    clock.advance(500);
    detector.clockStepped(-HOUR, before, clock.now());
    expect(detector.tick()).toEqual([]);
    clock.set(before - HOUR + 500 + 3 * STEP + 1);
    expect(detector.tick().map((a) => a.type)).toEqual(['dropout']);
  });
});
