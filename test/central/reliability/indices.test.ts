// IEEE 1366 indices against cases computed by hand (the standard's worked-example style: a small
// system, a list of interruptions, each index summed by hand below).
import { describe, expect, it } from 'vitest';
import { Topology, type Anomaly, type GridEvent, type TopologyEntry } from '../../../shared/index.ts';
import { computeReliability, customersServed, interruptionsFrom, restorationsFrom, toCsv, type Level, type Period } from '../../../central/reliability/index.ts';

// Feeder F1: 100 meters (M1-000..099, transformers T1a/T1b), F2: 50 meters; substation S1 holds both (150 customers).
const entries: TopologyEntry[] = [
  ...Array.from({ length: 100 }, (_, i) => ({ meterId: `M1-${String(i).padStart(3, '0')}`, transformerId: i < 50 ? 'T1a' : 'T1b', feederId: 'F1', substationId: 'S1', phase: 'A' as const, nominalVoltage: 230, nominalFrequency: 50 as const })),
  ...Array.from({ length: 50 }, (_, i) => ({ meterId: `M2-${String(i).padStart(3, '0')}`, transformerId: 'T2', feederId: 'F2', substationId: 'S1', phase: 'A' as const, nominalVoltage: 230, nominalFrequency: 50 as const })),
];
const topology = new Topology(entries);
const JAN5 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MIN = 60_000;
const f1 = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `M1-${String(from + i).padStart(3, '0')}`);
const f2 = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `M2-${String(from + i).padStart(3, '0')}`);

function ev(id: string, o: Partial<GridEvent> & { meters: string[]; minutes: number }): GridEvent {
  const { meters, minutes, ...rest } = o;
  const startTs = rest.startTs ?? JAN5;
  return { eventId: id, scope: 'feeder', rootId: 'F1', substationId: 'S1', type: 'outage', severity: 'major', state: 'closed', affectedMeters: meters, affectedCount: meters.length, startTs, endTs: startTs + minutes * MIN, updatedAt: startTs + minutes * MIN, version: 2, ...rest };
}

const restoreAnomaly = (meterId: string, startTs: number, endTs: number): Anomaly => ({
  anomalyId: `a-${meterId}`, edgeId: 'e', meterId, substationId: 'S1', feederId: 'F2', transformerId: 'T2', type: 'outage', channel: 'none', state: 'closed', severity: 'major', startTs, endTs, observed: null, baseline: null, detectedAt: startTs,
});

const JAN6 = JAN5 + 86_400_000;
const events: GridEvent[] = [
  ev('e1', { meters: f1(40), minutes: 90 }), // unplanned sustained: 40 customers x 90 min
  ev('e2', { rootId: 'F2', meters: f2(10), minutes: 30, startTs: JAN6 }), // 5 meters back after 10 min (their anomalies), 5 at the end
  ev('e3', { type: 'momentary', scope: 'transformer', rootId: 'T1a', meters: f1(20), minutes: 10 / 60 }), // momentary: 20 customer events
  ev('e4', { rootId: 'F2', meters: f2(8, 10), minutes: 3, startTs: JAN6 }), // under 5 min: momentary by duration
  ev('e5', { meters: f1(100), minutes: 60, planned: true } as Parameters<typeof ev>[1]), // planned: apart
  ev('e6', { meters: f1(10, 50), minutes: 10, startTs: Date.UTC(2026, 1, 2) }), // February
  ev('e7', { type: 'sag', meters: f1(100), minutes: 30 }), // a sag interrupts no one
  { ...ev('e8', { meters: f1(5), minutes: 1 }), state: 'open', endTs: null }, // still open: not counted
];
const anomalies = f2(5).map((m) => restoreAnomaly(m, JAN6, JAN6 + 10 * MIN));

function rows(level: Level, period: Period, from = Date.UTC(2026, 0, 1), to = Date.UTC(2026, 2, 1)) {
  const { interruptions, openOutages } = interruptionsFrom(events, topology, restorationsFrom(anomalies));
  expect(openOutages).toBe(1);
  return computeReliability(interruptions, { level, period, from, to, placeOf: (m) => topology.meter(m), served: customersServed(topology, level) });
}

describe('IEEE 1366 indices', () => {
  it('per feeder and month: SAIFI, SAIDI, CAIDI, MAIFI-E, planned apart', () => {
    const jan = rows('feeder', 'month').filter((r) => r.period === '2026-01');
    const F1 = jan.find((r) => r.id === 'F1')!;
    const F2 = jan.find((r) => r.id === 'F2')!;
    // F1: 40 of 100 customers out 90 min; 20 momentary; planned 100 x 60 min.
    expect(F1).toMatchObject({ customersServed: 100, unplanned: { saifi: 0.4, saidi: 36, caidi: 90, maifiE: 0.2, interruptions: 1, customersInterrupted: 40, customerMinutes: 3600, momentaryEvents: 1 } });
    expect(F1.planned).toMatchObject({ saifi: 1, saidi: 60, caidi: 60, maifiE: 0, customersInterrupted: 100 });
    // F2: 10 of 50 out, 5 x 10 min + 5 x 30 min = 200 customer minutes; 8 momentary (3 min).
    expect(F2).toMatchObject({ customersServed: 50, unplanned: { saifi: 0.2, saidi: 4, caidi: 20, maifiE: 0.16, customerMinutes: 200 }, planned: { saifi: 0, saidi: 0, caidi: null } });
  });

  it('per substation and system: the same customers summed over feeders; per day and over the range', () => {
    const sysJan = rows('system', 'month').find((r) => r.period === '2026-01')!;
    // 50 of 150 sustained, 3,800 customer minutes, 28 momentary.
    expect(sysJan.unplanned).toMatchObject({ saifi: 0.333333, saidi: 25.333333, caidi: 76, maifiE: 0.186667, interruptions: 2 });
    const sub = rows('substation', 'range');
    expect(sub).toHaveLength(1);
    // + February: 10 customers x 10 min: 60 customers, 3,900 minutes.
    expect(sub[0]).toMatchObject({ id: 'S1', customersServed: 150, unplanned: { saifi: 0.4, saidi: 26, caidi: 65 } });
    const days = rows('feeder', 'day');
    expect(days.map((r) => `${r.period} ${r.id}`)).toEqual(['2026-01-05 F1', '2026-01-05 F2', '2026-01-06 F1', '2026-01-06 F2', '2026-02-02 F1', '2026-02-02 F2']);
    // A feeder without interruptions that day shows zeros, not nothing.
    expect(days.find((r) => r.period === '2026-01-05' && r.id === 'F2')!.unplanned).toMatchObject({ saifi: 0, saidi: 0, caidi: null, maifiE: 0 });
    expect(days.find((r) => r.period === '2026-01-06' && r.id === 'F2')!.unplanned).toMatchObject({ saifi: 0.2, saidi: 4, maifiE: 0.16 });
  });

  it('counts only interruptions that start in the range; unlisted meters get the event duration at the root', () => {
    const feb = rows('feeder', 'range', Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1));
    expect(feb.find((r) => r.id === 'F1')!.unplanned).toMatchObject({ customersInterrupted: 10, customerMinutes: 100, saifi: 0.1, saidi: 1 });
    const big = { ...ev('big', { meters: f1(2), minutes: 10 }), affectedCount: 30 };
    const { interruptions } = interruptionsFrom([big], topology);
    const r = computeReliability(interruptions, { level: 'feeder', period: 'range', from: 0, to: Date.UTC(2030, 0, 1), placeOf: (m) => topology.meter(m), served: customersServed(topology, 'feeder') });
    expect(r.find((x) => x.id === 'F1')!.unplanned).toMatchObject({ customersInterrupted: 30, customerMinutes: 300 });
  });

  it('exports CSV with a header and one row per area and period', () => {
    const csv = toCsv(rows('feeder', 'month'));
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^period,level,id,customersServed,unplanned_saifi,unplanned_saidi,unplanned_caidi,unplanned_maifiE,/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe('2026-01,feeder,F1,100,0.4,36,90,0.2,1,40,3600,20,1,60,60,0,1,100,6000,0');
  });
});
