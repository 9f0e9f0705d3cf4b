import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import { Correlator } from '../../../central/correlate/index.ts';
import type { Anomaly, GridEvent } from '../../../shared/contracts/index.ts';
import { T0, anomaly, closed, heartbeat, metersOf, smallGrid } from './fixtures.ts';

type Step = { advance: number; records: Anomaly[]; tick: boolean };

function play(c: Correlator, clock: ManualClock, steps: Step[]): GridEvent[][] {
  return steps.map((s) => {
    clock.advance(s.advance);
    const out = s.records.flatMap((r) => c.onAnomaly(r));
    return s.tick ? [...out, ...c.tick()] : out;
  });
}

describe('Correlator hand-over (exportState / importState)', () => {
  it('a substation moved to another instance mid-event produces identical subsequent output', () => {
    const topology = smallGrid();
    const clockA = new ManualClock(T0);
    const a = new Correlator({ topology, clock: clockA });
    // Before the rebalance: a transformer event published, a feeder building up, a pending meter,
    // duplicates remembered and an edge heard.
    a.onEdgeStatus(heartbeat('E-S1', 'S1', T0));
    const t1 = metersOf('T1').map((m) => anomaly(m, 'sag', T0));
    for (const r of t1) a.onAnomaly(r);
    a.onAnomaly(anomaly('T5.1', 'outage', T0));
    clockA.advance(10_000);
    expect(a.tick().map((e) => e.rootId)).toEqual(['T1']);
    a.onAnomaly(anomaly('T2.1', 'sag', T0 + 5_000));

    const state = JSON.parse(JSON.stringify(a.exportState('S1')));
    const clockB = new ManualClock(clockA.now());
    const b = new Correlator({ topology, clock: clockB });
    b.importState(state);
    expect(b.openEvents()).toEqual(a.openEvents());
    expect(JSON.parse(JSON.stringify(b.exportState('S1')))).toEqual(state);

    const steps: Step[] = [
      { advance: 1_000, records: [t1[0]!, ...metersOf('T2').slice(1).map((m) => anomaly(m, 'sag', T0 + 6_000))], tick: true },
      { advance: 10_000, records: [...metersOf('T3').map((m) => anomaly(m, 'sag', T0 + 20_000))], tick: true },
      { advance: 60_000, records: [], tick: true },
      { advance: 30_000, records: [...t1.map((r) => closed(r, T0 + 100_000))], tick: true },
      { advance: 60_000, records: [], tick: true },
    ];
    const outA = play(a, clockA, steps);
    const outB = play(b, clockB, steps);
    expect(outB).toEqual(outA);
    // The steps did something: the feeder absorbed T1 and grew with T3, a meter outage for
    // T5.1, comms loss once the edge was quiet.
    expect(outA.flat().map((e) => `${e.scope}:${e.rootId}:${e.type}:${e.state}:v${e.version}:${e.affectedCount}`)).toEqual([
      'feeder:F1:sag:open:v1:11', // published by the first T3 record, when its hold had passed
      'transformer:T1:sag:closed:v2:5',
      'meter:T5.1:outage:open:v1:1',
      'feeder:F1:sag:open:v2:15',
      'substation:S1:comms_loss:open:v1:0',
    ]);
    expect(b.stats().duplicates).toBe(1);
  });

  it('dropSubstation forgets everything of that substation', () => {
    const clock = new ManualClock(T0);
    const c = new Correlator({ topology: smallGrid(), clock });
    for (const m of metersOf('T1')) c.onAnomaly(anomaly(m, 'outage', T0));
    clock.advance(10_000);
    expect(c.tick().length).toBe(1);
    c.dropSubstation('S1');
    expect(c.openEvents()).toEqual([]);
    expect(c.exportState('S1').tracked).toEqual([]);
  });
});
