// The rules against alarm floods (issue 15), each on the small grid with a fake clock: shared
// deviations roll up, momentary interruptions are recorded, strays are adopted when the event is
// published.
import { describe, expect, it } from 'vitest';
import { validators, type Anomaly, type GridEvent } from '../../../shared/contracts/index.ts';
import { T0, anomaly, closed, metersOf, setup } from './fixtures.ts';

const brief = (e: GridEvent) => ({ scope: e.scope, rootId: e.rootId, type: e.type, state: e.state, affectedCount: e.affectedCount, version: e.version, severity: e.severity });

function valid(events: GridEvent[]): GridEvent[] {
  for (const e of events) expect(validators.gridEvent.validate(e).ok, JSON.stringify(e)).toBe(true);
  return events;
}

/** A voltage dip as the edge reports it: 7 % below the meter's moving average, major (beyond 2 x 5 sigma). */
const dip = (meterId: string, ts: number, over: Partial<Anomaly> = {}) => anomaly(meterId, 'dip', ts, { observed: 214, baseline: 230, severity: 'major', ...over });
const F1 = ['T1', 'T2', 'T3', 'T4'].flatMap(metersOf);

describe('coincident deviations', () => {
  it('a dip on every meter of a feeder is one feeder event of the voltage class, minor, and no meter event', () => {
    const { c, clock } = setup();
    const out: GridEvent[] = [];
    for (const [i, m] of F1.entries()) out.push(...c.onAnomaly(dip(m, T0 + (i % 5) * 200)));
    clock.advance(10_000);
    out.push(...c.tick());
    expect(out).toEqual([]); // held deviationHoldMs (30 s): stronger evidence of the cause may still come
    clock.advance(20_000);
    const opened = valid(c.tick());
    expect(opened.map(brief)).toEqual([{ scope: 'feeder', rootId: 'F1', type: 'sag', state: 'open', affectedCount: 20, version: 1, severity: 'minor' }]);
    expect(opened[0]?.summary).toBe('Voltage sag at feeder F1: 20 meters affected (20 under it), 20 by deviation from their own average only');
    // The dips close as each meter's moving average follows the new level: the event closes, and
    // nothing else was ever published (the meters' hold passed with the feeder covering them).
    for (const [i, m] of F1.entries()) c.onAnomaly(closed(dip(m, T0 + (i % 5) * 200), T0 + 40_000));
    const rest: GridEvent[] = [];
    for (let s = 0; s < 8; s++) {
      clock.advance(10_000);
      rest.push(...c.tick());
    }
    expect(valid(rest).map(brief)).toEqual([{ scope: 'feeder', rootId: 'F1', type: 'sag', state: 'closed', affectedCount: 20, version: 2, severity: 'minor' }]);
    expect(c.stats().events).toBe(1);
  });

  it('is published even when the dips closed inside the hold: the step happened, its dips are a transition', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T5')) c.onAnomaly(dip(m, T0));
    clock.advance(10_000);
    for (const m of metersOf('T5')) c.onAnomaly(closed(dip(m, T0), T0 + 10_000));
    clock.advance(20_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'transformer', rootId: 'T5', type: 'sag', state: 'open', affectedCount: 5, version: 1, severity: 'minor' }]);
  });

  it('dips join a device event of the same class that exists (a sag), not events of their own', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T1').slice(0, 3)) c.onAnomaly(anomaly(m, 'sag', T0));
    clock.advance(10_000);
    expect(c.tick().map((e) => [e.rootId, e.affectedCount, e.severity])).toEqual([['T1', 3, 'minor']]);
    clock.advance(5_000);
    const grown = [...c.onAnomaly(dip('T1.4', T0 + 12_000)), ...c.onAnomaly(dip('T1.5', T0 + 12_000))];
    clock.advance(5_000);
    grown.push(...c.tick());
    clock.advance(60_000);
    grown.push(...c.tick());
    // The sag event grows by the dips (re-published), stays the only event and is not deviation-led.
    expect(new Set(grown.map((e) => `${e.scope}:${e.rootId}:${e.type}`))).toEqual(new Set(['transformer:T1:sag']));
    expect(grown.at(-1)?.affectedCount).toBe(5);
    expect(grown.some((e) => e.summary?.includes('by deviation'))).toBe(false);
    expect(c.stats().events).toBe(1);
  });

  it('dips under a transformer in overload are that overload\'s consequence: no voltage event, no meter event', () => {
    const { c, clock } = setup();
    // The edge sees the overloaded transformer's voltage drop as dips before its overload hold ends.
    for (const m of metersOf('T6')) c.onAnomaly(dip(m, T0));
    clock.advance(3_000);
    for (const m of metersOf('T6')) c.onAnomaly(anomaly(m, 'overcurrent', T0 + 3_000, { channel: 'power', severity: 'major' }));
    const out: GridEvent[] = [];
    for (let s = 0; s < 10; s++) {
      clock.advance(10_000);
      out.push(...c.tick());
    }
    expect(out.map((e) => [e.scope, e.rootId, e.type])).toEqual([['transformer', 'T6', 'overload']]);
    expect(c.stats().absorbed).toBeGreaterThanOrEqual(1);
  });

  it('a lone meter\'s dip stays a meter condition: a meter_fault after meterHoldMs, also when it closed meanwhile', () => {
    const { c, clock } = setup();
    c.onAnomaly(dip('T7.1', T0));
    const glitch = anomaly('T8.2', 'spike', T0, { observed: 262, baseline: 230, severity: 'major' });
    c.onAnomaly(glitch);
    clock.advance(1_000);
    c.onAnomaly(closed(glitch, T0 + 1_000)); // one reading: gone before its neighbours could be judged
    clock.advance(58_000);
    expect(c.tick()).toEqual([]);
    clock.advance(1_000);
    const out = valid(c.tick());
    expect(out.map((e) => [e.scope, e.rootId, e.type, e.state, e.severity, e.endTs])).toEqual([
      ['meter', 'T7.1', 'meter_fault', 'open', 'major', null],
      ['meter', 'T8.2', 'meter_fault', 'open', 'major', null],
      ['meter', 'T8.2', 'meter_fault', 'closed', 'major', T0 + 1_000],
    ]);
  });

  it('coincidentDeviations off: every meter\'s dip is a meter event at once, as before', () => {
    const { c } = setup({ coincidentDeviations: false });
    const out = metersOf('T1').flatMap((m) => c.onAnomaly(dip(m, T0)));
    expect(out.map((e) => [e.scope, e.type])).toEqual(metersOf('T1').map(() => ['meter', 'meter_fault']));
  });

  it('current and power deviations stay meter-local (they follow each customer\'s own load)', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T1')) c.onAnomaly(anomaly(m, 'spike', T0, { channel: 'current', observed: 30, baseline: 5, severity: 'info' }));
    clock.advance(120_000);
    expect(c.tick()).toEqual([]);
  });
});

describe('momentary interruptions', () => {
  const interruption = (m: string, ts: number) => anomaly(m, 'interruption', ts, { observed: 4.6, baseline: 230 });

  it('a transformer at interruption level for ten seconds: one momentary event, open and closed, info, with start, end and meters', () => {
    const { c, clock } = setup();
    const recs = metersOf('T9').map((m, i) => interruption(m, T0 + i * 100));
    for (const r of recs) c.onAnomaly(r);
    clock.advance(10_000);
    expect(c.tick()).toEqual([]); // still at interruption level: it may yet come back
    clock.advance(1_000);
    // Cleared (below clearShare) with the last close: published there and then.
    const out = valid(recs.flatMap((r) => c.onAnomaly(closed(r, T0 + 10_500))));
    expect(c.tick()).toEqual([]);
    expect(out.map(brief)).toEqual([
      { scope: 'transformer', rootId: 'T9', type: 'momentary', state: 'open', affectedCount: 5, version: 1, severity: 'info' },
      { scope: 'transformer', rootId: 'T9', type: 'momentary', state: 'closed', affectedCount: 5, version: 2, severity: 'info' },
    ]);
    expect(out[1]).toMatchObject({ startTs: T0, endTs: T0 + 10_500, affectedMeters: metersOf('T9') });
    expect(out[1]?.summary).toBe('Momentary interruption at transformer T9: 5 meters affected (5 under it)');
    expect(c.stats()).toMatchObject({ momentary: 1, discarded: 0, open: 0 });
  });

  it('still interrupted after momentaryHoldMs: the interruption is published as the event it is (critical)', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T9')) c.onAnomaly(interruption(m, T0));
    clock.advance(29_000);
    expect(c.tick()).toEqual([]);
    clock.advance(1_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'transformer', rootId: 'T9', type: 'sag', state: 'open', affectedCount: 5, version: 1, severity: 'critical' }]);
  });

  it('last gasps and power restored inside the hold are a momentary event too; with momentaryEvents off, discarded as before', () => {
    for (const momentaryEvents of [true, false]) {
      const { c, clock } = setup({ momentaryEvents });
      const recs = metersOf('T10').map((m) => anomaly(m, 'outage', T0));
      for (const r of recs) c.onAnomaly(r);
      clock.advance(5_000);
      for (const r of recs) c.onAnomaly(closed(r, T0 + 5_000));
      clock.advance(5_000);
      const out = c.tick();
      expect(out.map((e) => [e.type, e.state])).toEqual(momentaryEvents ? [['momentary', 'open'], ['momentary', 'closed']] : []);
      expect(c.stats().discarded).toBe(momentaryEvents ? 0 : 1);
    }
  });

  it('a sag that clears inside the hold is still discarded unseen (no interruption level)', () => {
    const { c, clock } = setup();
    const recs = metersOf('T9').map((m) => anomaly(m, 'sag', T0));
    for (const r of recs) c.onAnomaly(r);
    for (const r of recs) c.onAnomaly(closed(r, T0 + 2_000));
    clock.advance(10_000);
    expect(c.tick()).toEqual([]);
    expect(c.stats()).toMatchObject({ discarded: 1, momentary: 0 });
  });
});

describe('strays counted at once', () => {
  it('a 30-second outage: strays labelled under a sibling are in the event from its first publication, listed apart', () => {
    const { c, clock } = setup();
    const recs = [...metersOf('T1').slice(0, 4), 'T2.1'].map((m) => anomaly(m, 'outage', T0));
    for (const r of recs) c.onAnomaly(r);
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map((e) => [e.rootId, e.affectedCount, e.adoptedMeters])).toEqual([['T1', 5, ['T2.1']]]);
    for (const r of recs) c.onAnomaly(closed(r, T0 + 30_000));
    clock.advance(20_000);
    c.tick();
    clock.advance(60_000);
    const end = valid(c.tick());
    expect(end.map((e) => [e.state, e.affectedCount, e.adoptedMeters, e.endTs])).toEqual([['closed', 5, ['T2.1'], T0 + 30_000]]);
    expect(c.stats()).toMatchObject({ adopted: 1, events: 1 });
  });

  it('an adopted stray\'s later last gasp counts in the event', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T1').slice(0, 4)) c.onAnomaly(anomaly(m, 'outage', T0));
    c.onAnomaly(anomaly('T2.1', 'dropout', T0));
    clock.advance(10_000);
    expect(c.tick()[0]?.summary).toContain('4 last gasps, 1 silent, 1 labelled under another transformer');
    clock.advance(5_000);
    const out = c.onAnomaly(anomaly('T2.1', 'outage', T0 + 14_000));
    expect(out[0]?.summary).toContain('5 last gasps, 0 silent');
  });

  it('keeps the protections: a meter with its own meter event, or affected long before, is not adopted', () => {
    const { c, clock } = setup();
    c.onAnomaly(anomaly('T2.2', 'tamper', T0 - 600_000)); // its own, unrelated fault: a meter event
    c.onAnomaly(anomaly('T2.2', 'dropout', T0));
    c.onAnomaly(anomaly('T2.3', 'dropout', T0 - 400_000)); // silent for minutes before: not this outage
    for (const m of metersOf('T1')) c.onAnomaly(anomaly(m, 'outage', T0));
    clock.advance(10_000);
    const out = c.tick();
    expect(out.map((e) => [e.rootId, e.affectedCount, e.adoptedMeters ?? []])).toEqual([['T1', 5, []]]);
    expect(c.stats().adopted).toBe(0);
  });

  it('a meter whose own transformer has an event is not a stray', () => {
    const { c, clock } = setup();
    for (const m of [...metersOf('T1'), ...metersOf('T2').slice(0, 3)]) c.onAnomaly(anomaly(m, 'outage', T0));
    clock.advance(10_000);
    const out = c.tick();
    expect(out.map((e) => [e.rootId, e.affectedCount, e.adoptedMeters ?? []]).sort()).toEqual([['T1', 5, []], ['T2', 3, []]]);
  });
});

describe('hand-over keeps the flood rules\' state', () => {
  it('adopted strays, limit members and a passed deviation survive exportState/importState: identical output', () => {
    const a = setup();
    for (const m of [...metersOf('T1').slice(0, 4), 'T2.1']) a.c.onAnomaly(anomaly(m, 'outage', T0));
    const glitch = anomaly('T8.2', 'spike', T0, { observed: 262, baseline: 230, severity: 'major' });
    a.c.onAnomaly(glitch);
    a.c.onAnomaly(closed(glitch, T0 + 1_000));
    a.clock.advance(10_000);
    expect(a.c.tick().map((e) => e.adoptedMeters)).toEqual([['T2.1']]);
    const state = JSON.parse(JSON.stringify(a.c.exportState('S1')));
    const b = setup();
    b.clock.set(a.clock.now());
    b.c.importState(state);
    expect(JSON.parse(JSON.stringify(b.c.exportState('S1')))).toEqual(state);
    const steps = (x: typeof a) => {
      const out: GridEvent[] = [];
      x.clock.advance(5_000);
      out.push(...x.c.onAnomaly(anomaly('T2.1', 'dropout', T0 + 12_000)));
      for (let s = 0; s < 6; s++) {
        x.clock.advance(10_000);
        out.push(...x.c.tick());
      }
      return out;
    };
    const outA = steps(a);
    expect(steps(b)).toEqual(outA);
    expect(outA.map((e) => [e.scope, e.rootId, e.type, e.state])).toContainEqual(['meter', 'T8.2', 'meter_fault', 'closed']);
  });
});
