// The flood scenarios of deploy/scenarios through the same cores as the pipeline (the simulator's
// meters -> the edge detector -> the correlator, in process, event time on one manual clock; see
// replay.ts), scored: what `gridwatch score` reports for each case.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../simulator/faults.ts';
import { score } from '../../simulator/score.ts';
import { replay } from './replay.ts';

const scenario = (name: string) => loadScenarioFile(fileURLToPath(new URL(`../../deploy/scenarios/${name}.yaml`, import.meta.url)));
const run = (name: string) => {
  const r = replay({ scenario: scenario(name) });
  return { ...r, report: score(r.truth, r.anomalies, r.events, { toleranceMs: 20_000 }) };
};

describe('flood scenarios (simulator -> edge detector -> correlator, in process)', () => {
  it('voltage step held on a feeder: one feeder event, no meter event, though every meter dipped', { timeout: 60_000 }, () => {
    const { report, events, anomalies } = run('voltage-step');
    const dipped = new Set(anomalies.filter((a) => a.type === 'dip').map((a) => a.meterId));
    expect(dipped.size).toBe(67);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    expect(events[0]).toMatchObject({ scope: 'feeder', rootId: 'sub-02-f01', type: 'sag', severity: 'minor', affectedCount: 67 });
    expect(report.flood).toMatchObject({ eventsPerFault: 1, meterEventsUnderDeviceEvent: 0, largestBurst: 1 });
    expect(report.perFault[0]).toMatchObject({ detected: true, rootCorrect: true });
  });

  it('momentary interruption of a transformer: one momentary event, open and closed, with its meters', { timeout: 60_000 }, () => {
    const { report, events, correlator } = run('momentary');
    expect(events.map((e) => [e.scope, e.rootId, e.type, e.state, e.severity, e.affectedCount])).toEqual([
      ['transformer', 'sub-02-f01-t002', 'momentary', 'open', 'info', 30],
      ['transformer', 'sub-02-f01-t002', 'momentary', 'closed', 'info', 30],
    ]);
    expect(events[1]!.endTs! - events[1]!.startTs).toBeGreaterThanOrEqual(9_000);
    expect(correlator.stats().momentary).toBe(1);
    expect(report.perFault[0]).toMatchObject({ detected: true, rootCorrect: true, events: 1 });
  });

  it('short transformer outage with mislabelled meters: the strays are in the event from its first publication', { timeout: 60_000 }, () => {
    const { report, events, recorded, truth } = run('mislabelled-outage');
    const labelledElsewhere = truth[0]!.meters.filter((m) => recorded.find((e) => e.meterId === m)!.transformerId !== truth[0]!.rootId);
    expect(labelledElsewhere.length).toBeGreaterThan(5);
    const first = events.find((e) => e.version === 1)!;
    expect(first).toMatchObject({ scope: 'transformer', rootId: truth[0]!.rootId });
    expect([...(first.adoptedMeters ?? [])].sort()).toEqual([...labelledElsewhere].sort());
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    expect(report.perFault[0]).toMatchObject({ detected: true, rootCorrect: true, eventMeterRecall: 1 });
  });
});
