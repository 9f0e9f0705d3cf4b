import { describe, expect, it } from 'vitest';
import { validators } from '../../../shared/contracts/index.ts';
import type { GridEvent } from '../../../shared/contracts/index.ts';
import { T0, anomaly, closed, heartbeat, metersOf, setup } from './fixtures.ts';

const brief = (e: GridEvent) => ({ scope: e.scope, rootId: e.rootId, type: e.type, state: e.state, affectedCount: e.affectedCount, version: e.version, severity: e.severity });

function valid(events: GridEvent[]): GridEvent[] {
  for (const e of events) expect(validators.gridEvent.validate(e).ok).toBe(true);
  return events;
}

describe('Correlator: one meter', () => {
  it('a meter-local anomaly at or above the severity threshold is one meter event at once; below it none', () => {
    const { c } = setup();
    expect(c.onAnomaly(anomaly('T1.1', 'spike', T0))).toEqual([]);
    const out = valid(c.onAnomaly(anomaly('T1.2', 'tamper', T0)));
    expect(out.map(brief)).toEqual([{ scope: 'meter', rootId: 'T1.2', type: 'tamper', state: 'open', affectedCount: 1, version: 1, severity: 'major' }]);
    expect(out[0]?.eventId).toBe(`meter:T1.2:tamper:${T0}`);
    expect(out[0]?.substationId).toBe('S1');
    expect(out[0]?.affectedMeters).toEqual(['T1.2']);
  });

  it('a lone last gasp waits meterHoldMs for a roll-up, then is a meter outage', () => {
    const { c, clock } = setup();
    expect(c.onAnomaly(anomaly('T1.1', 'outage', T0))).toEqual([]);
    clock.advance(59_000);
    expect(c.tick()).toEqual([]);
    clock.advance(1_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'meter', rootId: 'T1.1', type: 'outage', state: 'open', affectedCount: 1, version: 1, severity: 'critical' }]);
  });
});

describe('Correlator: one transformer', () => {
  it('4 of 5 meters sag: one transformer event after the hold, no meter events', () => {
    const { c, clock } = setup();
    for (const [i, m] of metersOf('T1').slice(0, 4).entries()) expect(c.onAnomaly(anomaly(m, 'sag', T0 + i * 1000))).toEqual([]);
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'sag', state: 'open', affectedCount: 4, version: 1, severity: 'minor' }]);
    expect(out[0]?.eventId).toBe(`transformer:T1:voltage_low:${T0}`);
    expect(out[0]?.affectedMeters).toEqual(['T1.1', 'T1.2', 'T1.3', 'T1.4']);
    clock.advance(60_000);
    expect(c.tick()).toEqual([]);
    expect(c.openEvents().length).toBe(1);
  });

  it('two meters are below the minimum count and raise no transformer event', () => {
    const { c, clock } = setup({ transformer: { share: 0.4, minCount: 3, clearShare: 0.1 } });
    c.onAnomaly(anomaly('T1.1', 'sag', T0));
    c.onAnomaly(anomaly('T1.2', 'sag', T0));
    clock.advance(120_000);
    expect(c.tick()).toEqual([]);
  });

  it('meters whose anomalies started further apart than the window do not add up', () => {
    const { c, clock } = setup();
    c.onAnomaly(anomaly('T1.1', 'sag', T0));
    c.onAnomaly(anomaly('T1.2', 'sag', T0));
    c.onAnomaly(anomaly('T1.3', 'sag', T0 + 301_000));
    clock.advance(120_000);
    expect(c.tick()).toEqual([]);
  });
});

describe('Correlator: a whole feeder', () => {
  it('all 20 meters of F1 send last gasps at once: one feeder event, the transformer ones never published', () => {
    const { c, clock } = setup();
    for (const t of ['T1', 'T2', 'T3', 'T4']) for (const m of metersOf(t)) expect(c.onAnomaly(anomaly(m, 'outage', T0))).toEqual([]);
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'feeder', rootId: 'F1', type: 'outage', state: 'open', affectedCount: 20, version: 1, severity: 'critical' }]);
    expect(out[0]?.summary).toBe('Outage at feeder F1: 20 meters affected (20 under it), 20 last gasps, 0 silent');
    expect(c.stats().absorbed).toBe(2); // T1 and T2 qualified first, absorbed while pending
    clock.advance(60_000);
    expect(c.tick()).toEqual([]);
  });

  it('transformer events already published are closed as absorbed when the feeder event opens', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T1')) c.onAnomaly(anomaly(m, 'sag', T0));
    clock.advance(10_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'sag', state: 'open', affectedCount: 5, version: 1, severity: 'minor' }]);
    for (const t of ['T2', 'T3']) for (const m of metersOf(t)) c.onAnomaly(anomaly(m, 'sag', T0 + 20_000));
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([
      { scope: 'feeder', rootId: 'F1', type: 'sag', state: 'open', affectedCount: 15, version: 1, severity: 'major' },
      { scope: 'transformer', rootId: 'T1', type: 'sag', state: 'closed', affectedCount: 5, version: 2, severity: 'minor' },
    ]);
    expect(out[1]?.summary).toContain(`absorbed into feeder:F1:voltage_low:${T0}`);
    expect(c.openEvents().map((e) => e.rootId)).toEqual(['F1']);
  });
});

describe('Correlator: a substation outage', () => {
  it('50 last gasps and 10 silent meters: one substation outage with affectedCount 60', () => {
    const { c, clock } = setup();
    const meters = Array.from({ length: 12 }, (_, i) => metersOf(`T${i + 1}`)).flat();
    for (const [i, m] of meters.entries()) c.onAnomaly(anomaly(m, i < 50 ? 'outage' : 'dropout', T0 + (i < 50 ? 0 : 30_000)));
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'substation', rootId: 'S1', type: 'outage', state: 'open', affectedCount: 60, version: 1, severity: 'critical' }]);
    expect(out[0]?.summary).toBe('Outage at substation S1: 60 meters affected (60 under it), 50 last gasps, 10 silent');
    expect(out[0]?.substationId).toBe('S1');
  });

  it('silence alone (dropouts, no last gasp) is a silence event, not an outage', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T5')) c.onAnomaly(anomaly(m, 'dropout', T0));
    clock.advance(10_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'transformer', rootId: 'T5', type: 'silence', state: 'open', affectedCount: 5, version: 1, severity: 'minor' }]);
  });

  it('dropouts over ranges reported as gaps are loss, not silence', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T5')) {
      c.onGap({ gapId: `g-${m}`, edgeId: 'E-S1', meterId: m, reason: 'evicted', detail: 'budget', fromTs: T0 - 60_000, toTs: T0 + 60_000, fromSeq: null, toSeq: null, count: 10, recordedAt: T0 });
      c.onAnomaly(anomaly(m, 'dropout', T0));
    }
    clock.advance(120_000);
    expect(c.tick()).toEqual([]);
    expect(c.stats()).toMatchObject({ gaps: 5, lost: 5 });
  });
});

describe('Correlator: grid-wide frequency', () => {
  it('frequency deviation in two of three substations is one grid event', () => {
    const { c, clock } = setup();
    for (const t of ['T13', 'T14', 'T15', 'T16']) for (const m of metersOf(t)) c.onAnomaly(anomaly(m, 'frequency_deviation', T0));
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'grid', rootId: 'grid', type: 'frequency_deviation', state: 'open', affectedCount: 20, version: 1, severity: 'critical' }]);
    expect(out[0]?.substationId).toBe(null);
    expect(out[0]?.eventId).toBe(`grid:grid:frequency:${T0}`);
  });

  it('in one substation only it stays a substation event', () => {
    const { c, clock } = setup();
    for (const t of ['T13', 'T14']) for (const m of metersOf(t)) c.onAnomaly(anomaly(m, 'frequency_deviation', T0));
    clock.advance(10_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'substation', rootId: 'S2', type: 'frequency_deviation', state: 'open', affectedCount: 10, version: 1, severity: 'major' }]);
  });
});

describe('Correlator: mislabelled meters', () => {
  it('T1 event forms from 4 of its 5 labelled meters; 2 strays labelled under T2 join it when it is published, listed apart; T2 gets none', () => {
    const { c, clock } = setup();
    for (const m of [...metersOf('T1').slice(0, 4), 'T2.1', 'T2.2']) c.onAnomaly(anomaly(m, 'outage', T0));
    clock.advance(10_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'outage', state: 'open', affectedCount: 6, version: 1, severity: 'major' }]);
    expect(out[0]?.affectedMeters).toEqual(['T1.1', 'T1.2', 'T1.3', 'T1.4', 'T2.1', 'T2.2']);
    expect(out[0]?.adoptedMeters).toEqual(['T2.1', 'T2.2']);
    expect(out[0]?.summary).toContain('2 labelled under another transformer');
    expect(c.stats().adopted).toBe(2);
    // Their meterHoldMs passing changes nothing: they are in the event already.
    clock.advance(50_000);
    expect(c.tick()).toEqual([]);
    expect(c.stats().adopted).toBe(2);
  });

  it('one stray meter under another transformer does not raise that transformer\'s event', () => {
    const { c, clock } = setup({ adoptStrays: false, meterEventMinSeverity: 'critical' });
    for (const m of metersOf('T1')) c.onAnomaly(anomaly(m, 'sag', T0));
    c.onAnomaly(anomaly('T2.3', 'sag', T0));
    clock.advance(60_000);
    expect(c.tick().map((e) => e.rootId)).toEqual(['T1']);
    expect(c.openEvents().map((e) => [e.rootId, e.affectedCount])).toEqual([['T1', 5]]);
  });
});

describe('Correlator: edge heartbeat lost against a real outage', () => {
  it('a quiet edge is comms_loss at substation scope, closed when heartbeats return', () => {
    const { c, clock } = setup();
    expect(c.onEdgeStatus(heartbeat('E-S1', 'S1', T0))).toEqual([]);
    clock.advance(90_000);
    expect(c.tick()).toEqual([]);
    clock.advance(1_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'substation', rootId: 'S1', type: 'comms_loss', state: 'open', affectedCount: 0, version: 1, severity: 'major' }]);
    expect(out[0]?.summary).toBe('Communications lost at substation S1; no heartbeat from E-S1 for over 90 s; 60 meters unobserved');
    clock.advance(30_000);
    const back = valid(c.onEdgeStatus(heartbeat('E-S1', 'S1', T0 + 121_000)));
    expect(back.map(brief)).toEqual([{ scope: 'substation', rootId: 'S1', type: 'comms_loss', state: 'closed', affectedCount: 0, version: 2, severity: 'major' }]);
    expect(back[0]?.endTs).toBe(T0 + 121_000);
    expect(c.openEvents()).toEqual([]);
  });

  it('last gasps from the whole substation, then silence from the edge: outage, no comms_loss', () => {
    const { c, clock } = setup();
    c.onEdgeStatus(heartbeat('E-S1', 'S1', T0));
    for (let t = 1; t <= 12; t++) for (const m of metersOf(`T${t}`)) c.onAnomaly(anomaly(m, 'outage', T0 + 5_000));
    clock.advance(10_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'substation', rootId: 'S1', type: 'outage', state: 'open', affectedCount: 60, version: 1, severity: 'critical' }]);
    clock.advance(200_000);
    expect(c.tick()).toEqual([]);
    expect(c.openEvents().map((e) => e.type)).toEqual(['outage']);
  });
});

describe('Correlator: late data', () => {
  it('within latenessMs a late record grows the event; beyond it is counted and left out', () => {
    const { c, clock } = setup();
    for (const m of metersOf('T1').slice(0, 3)) c.onAnomaly(anomaly(m, 'sag', T0 + 600_000));
    clock.advance(10_000);
    expect(c.tick().map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'sag', state: 'open', affectedCount: 3, version: 1, severity: 'minor' }]);
    clock.advance(5_000); // growthPublishMs after the first publication
    const late = valid(c.onAnomaly(anomaly('T1.4', 'sag', T0 + 480_000)));
    expect(late.map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'sag', state: 'open', affectedCount: 4, version: 2, severity: 'minor' }]);
    expect(late[0]?.startTs).toBe(T0 + 600_000);
    expect(c.onAnomaly(anomaly('T1.5', 'sag', T0 - 1, { detectedAt: T0 - 1 }))).toEqual([]);
    clock.advance(60_000);
    expect(c.tick()).toEqual([]);
    expect(c.stats()).toMatchObject({ anomalies: 5, late: 1, tooLate: 1 });
    expect(c.openEvents()[0]?.affectedCount).toBe(4);
  });
});

describe('Correlator: lateness is delivery delay, not recognition delay', () => {
  it('takes in dropouts that start long before the watermark but were detected now (15-minute meters)', () => {
    const { c, clock } = setup();
    clock.advance(3_600_000);
    const now = T0 + 3_600_000;
    // A sag elsewhere in S1 moves the watermark to now.
    c.onAnomaly(anomaly('T2.1', 'sag', now));
    // T1's meters fell silent 45 minutes ago; the edge knows after three 15-minute intervals.
    for (const m of metersOf('T1').slice(0, 3)) c.onAnomaly(anomaly(m, 'dropout', now - 2_700_000, { detectedAt: now }));
    // The same record delivered 45 minutes late (detectedAt old too) is too late.
    c.onAnomaly(anomaly('T1.4', 'dropout', now - 2_700_000, { detectedAt: now - 2_700_000 + 1000 }));
    clock.advance(10_000);
    const events = c.tick();
    expect(events.map((e) => [e.scope, e.rootId, e.type, e.affectedCount])).toContainEqual(['transformer', 'T1', 'silence', 3]);
    expect(c.stats()).toMatchObject({ tooLate: 1 });
  });
});

describe('Correlator: duplicates', () => {
  it('the same record twice counts once, opens and closes alike', () => {
    const { c, clock } = setup();
    const recs = metersOf('T1').slice(0, 3).map((m) => anomaly(m, 'sag', T0));
    for (const r of recs) {
      c.onAnomaly(r);
      c.onAnomaly({ ...r });
    }
    clock.advance(10_000);
    expect(c.tick().map((e) => e.affectedCount)).toEqual([3]);
    c.onAnomaly(closed(recs[0]!, T0 + 20_000));
    c.onAnomaly(closed(recs[0]!, T0 + 20_000));
    expect(c.stats()).toMatchObject({ anomalies: 4, duplicates: 4, late: 0, tooLate: 0, events: 1, open: 1 });
  });
});

describe('Correlator: events grow and close', () => {
  it('versions increase as meters join; the event closes closeDelayMs after the clear share is reached', () => {
    const { c, clock } = setup();
    const recs = metersOf('T1').map((m, i) => anomaly(m, 'sag', T0 + i * 1000));
    for (const r of recs.slice(0, 3)) c.onAnomaly(r);
    clock.advance(10_000);
    expect(c.tick().map((e) => [e.version, e.affectedCount])).toEqual([[1, 3]]);
    clock.advance(1_000);
    expect(c.onAnomaly(recs[3]!)).toEqual([]); // within growthPublishMs of the last publication
    clock.advance(4_000);
    expect(c.tick().map((e) => [e.version, e.affectedCount, e.state])).toEqual([[2, 4, 'open']]);
    clock.advance(10_000);
    expect(c.onAnomaly({ ...recs[4]!, severity: 'major', type: 'undervoltage', anomalyId: 'u5' }).map(brief)).toEqual([
      { scope: 'transformer', rootId: 'T1', type: 'undervoltage', state: 'open', affectedCount: 5, version: 3, severity: 'major' },
    ]);
    // 2 of 5 still affected (0.4 >= clearShare 0.2): stays open
    for (const r of recs.slice(0, 3)) c.onAnomaly(closed(r, T0 + 100_000));
    clock.advance(120_000);
    expect(c.tick()).toEqual([]);
    c.onAnomaly(closed(recs[3]!, T0 + 110_000));
    c.onAnomaly(closed({ ...recs[4]!, anomalyId: 'u5' }, T0 + 120_000));
    expect(c.tick()).toEqual([]);
    clock.advance(59_000);
    expect(c.tick()).toEqual([]);
    clock.advance(1_000);
    const out = valid(c.tick());
    expect(out.map(brief)).toEqual([{ scope: 'transformer', rootId: 'T1', type: 'undervoltage', state: 'closed', affectedCount: 5, version: 4, severity: 'major' }]);
    expect(out[0]?.endTs).toBe(T0 + 120_000);
    expect(c.openEvents()).toEqual([]);
  });
});
