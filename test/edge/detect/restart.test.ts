import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import { Detector } from '../../../edge/detect/index.ts';
import { EU, STEP, T0, checked, context, noise, normal } from './helpers.ts';

// Dropout after a restart (edge/detect/README.md): silence is counted from max(last reading, the
// moment the gateway started listening), so a long stop does not raise dropout for every meter.
const HOUR = 3_600_000;
const LIMIT = 3 * STEP; // dropoutIntervals x expectedIntervalMs

function make(clock: ManualClock): Detector {
  return new Detector({ edgeId: 'edge-1', clock, context: () => context(EU) });
}

/** A detector that heard meters a, b, c every STEP up to T0 + 9 STEP, and its snapshot. */
function beforeStop() {
  const clock = new ManualClock(T0);
  const d = make(clock);
  const z = noise(3);
  for (let i = 0; i < 10; i++) {
    clock.set(T0 + i * STEP + 100);
    for (const id of ['a', 'b', 'c']) d.onReading(normal(EU, i, z, id));
    expect(d.tick()).toEqual([]);
  }
  return { z, snapshot: JSON.parse(JSON.stringify(d.exportAll())) as ReturnType<Detector['exportAll']> };
}

function restoredAt(restart: number, snapshot: ReturnType<Detector['exportAll']>) {
  const clock = new ManualClock(restart);
  const d = make(clock);
  d.importAll(snapshot);
  d.listeningSince(restart);
  return { clock, d };
}

describe('dropout after a restart', () => {
  it('a detector restored 1 hour after its checkpoint raises no dropout on the first tick', () => {
    const { snapshot } = beforeStop();
    const restart = T0 + 9 * STEP + 100 + HOUR;
    const { d } = restoredAt(restart, snapshot);
    expect(d.tick()).toEqual([]);
    // Without the rule every meter would have raised dropout here:
    const naive = make(new ManualClock(restart));
    naive.importAll(snapshot);
    expect(naive.tick().map((a) => `${a.meterId}/${a.type}`)).toEqual(['a/dropout', 'b/dropout', 'c/dropout']);
  });

  it('a meter still silent a full dropout window after the restart raises dropout, counted from the restart', () => {
    const { snapshot, z } = beforeStop();
    const restart = T0 + 9 * STEP + 100 + HOUR;
    const { clock, d } = restoredAt(restart, snapshot);
    // a and b talk again after the restart; c stays silent.
    for (let i = 1; i <= 3; i++) {
      clock.set(restart + i * STEP);
      for (const id of ['a', 'b']) d.onReading(normal(EU, 10 + i, z, id));
      expect(d.tick()).toEqual([]);
    }
    clock.set(restart + LIMIT);
    expect(d.tick()).toEqual([]); // exactly the window: not yet
    clock.set(restart + LIMIT + 1);
    const out = d.tick().map(checked);
    expect(out).toMatchObject([{ meterId: 'c', type: 'dropout', state: 'open', startTs: restart, observed: LIMIT + 1, baseline: LIMIT }]);
    expect(d.tick()).toEqual([]);
    // It closes as any dropout does.
    const back = d.onReading(normal(EU, 20, z, 'c')).anomalies.map(checked);
    expect(back).toMatchObject([{ meterId: 'c', type: 'dropout', state: 'closed' }]);
  });

  it('after a short restart too the window runs from the restart (at most one stop longer, never a false dropout)', () => {
    const { snapshot } = beforeStop();
    const heard = T0 + 9 * STEP + 100;
    const restart = heard + STEP; // back after 5 s, before the window ran out
    const { clock, d } = restoredAt(restart, snapshot);
    clock.set(heard + LIMIT + 1);
    expect(d.tick()).toEqual([]);
    clock.set(restart + LIMIT + 1);
    expect(d.tick().map((a) => ({ id: a.meterId, startTs: a.startTs }))).toEqual(['a', 'b', 'c'].map((id) => ({ id, startTs: restart })));
  });

  it('a dropout open at the checkpoint stays the same anomaly (no second open) and closes on the next reading', () => {
    const clock = new ManualClock(T0);
    const d = make(clock);
    const z = noise(4);
    d.onReading(normal(EU, 0, z, 'a'));
    clock.advance(LIMIT + 1);
    const [open] = d.tick();
    expect(open?.state).toBe('open');
    const { clock: c2, d: r } = restoredAt(clock.now() + HOUR, JSON.parse(JSON.stringify(d.exportAll())) as ReturnType<Detector['exportAll']>);
    c2.advance(10 * LIMIT);
    expect(r.tick()).toEqual([]);
    expect(r.openAnomalies().map((a) => a.anomalyId)).toEqual([open?.anomalyId]);
    expect(r.onReading(normal(EU, 1, z, 'a')).anomalies).toMatchObject([{ anomalyId: open?.anomalyId, state: 'closed' }]);
  });

  it('a meter that first reports after the start is judged from its own readings', () => {
    const clock = new ManualClock(T0);
    const d = make(clock);
    d.listeningSince(T0);
    clock.advance(HOUR);
    d.onReading(normal(EU, 0, noise(5), 'new'));
    clock.advance(LIMIT + 1);
    expect(d.tick().map((a) => ({ id: a.meterId, startTs: a.startTs }))).toEqual([{ id: 'new', startTs: T0 + HOUR }]);
  });
});
