import { describe, expect, it } from 'vitest';
import { Topology, type TopologyEntry } from '../../../shared/index.ts';
import { makeIntake } from './helpers.ts';

const ANON = { kind: 'anonymous' as const, id: 'anonymous' };
const entry = (meterId: string): TopologyEntry => ({ meterId, transformerId: 't-1', feederId: 'f-1', substationId: 's-1', phase: 'A', nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 1000 });

function publish(intake: ReturnType<typeof makeIntake>['intake'], topic: string, payload: unknown): Promise<Error | undefined> {
  return new Promise((resolve) => intake.onPublish(ANON, 'c-1', topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), resolve));
}

describe('Intake', () => {
  it('forwards a reading with identity, topology ids and receivedAt; anomalies on the control lane', async () => {
    const t = makeIntake({ topology: new Topology([entry('m-1')]) });
    const now = t.clock.now();
    await publish(t.intake, 'meters/m-1/reading', { meterId: 'm-1', seq: 1, ts: now, voltage: 231 });
    await publish(t.intake, 'meters/m-1/event', { meterId: 'm-1', ts: now, type: 'last_gasp' });
    const [rec] = t.committer.records('grid.readings');
    expect(rec).toMatchObject({ key: 'm-1', lane: 'readings', meterId: 'm-1', seq: 1 });
    expect(JSON.parse(rec!.value)).toMatchObject({ readingId: 'm-1:1', edgeId: 'edge-t', substationId: 's-1', feederId: 'f-1', transformerId: 't-1', receivedAt: now });
    expect(JSON.parse(rec!.value).flags).toBeUndefined();
    const [a] = t.committer.records('grid.anomalies');
    expect(a).toMatchObject({ key: 's-1', lane: 'control' });
    expect(JSON.parse(a!.value)).toMatchObject({ type: 'outage', state: 'open', meterId: 'm-1' });
    expect(t.committer.units[0]!.checkpoint).toBeDefined();
  });

  it('accepts unknown meters as unassigned, or rejects them, as configured', async () => {
    const accept = makeIntake({ topology: new Topology([entry('m-1')]) });
    await publish(accept.intake, 'meters/m-9/reading', { meterId: 'm-9', seq: 1, ts: accept.clock.now(), voltage: 231 });
    expect(JSON.parse(accept.committer.records('grid.readings')[0]!.value)).toMatchObject({ substationId: null, flags: ['unassigned'] });
    const reject = makeIntake({ topology: new Topology([entry('m-1')]), unknownMeterPolicy: 'reject' });
    await publish(reject.intake, 'meters/m-9/reading', { meterId: 'm-9', seq: 4, ts: reject.clock.now(), voltage: 231 });
    expect(reject.committer.records('grid.readings')).toHaveLength(0);
    expect(reject.committer.deadLetters()[0]).toMatchObject({ reason: 'unknown_meter', topic: 'meters/m-9/reading', clientId: 'c-1' });
    const [gap] = reject.committer.records('grid.gaps');
    expect(JSON.parse(gap!.value)).toMatchObject({ meterId: 'm-9', reason: 'rejected', fromSeq: 4, toSeq: 4, count: 1 });
    expect(reject.intake.counts.rejected.unknown_meter).toBe(1);
  });

  it('takes the good elements of a concentrator array and rejects the bad ones one by one', async () => {
    const t = makeIntake();
    const now = t.clock.now();
    const arr = [
      { meterId: 'm-1', seq: 1, ts: now, voltage: 230 },
      { meterId: 'm-2', seq: 1, ts: now, voltage: 'x' },
      null,
      { meterId: 'm-3', seq: 1, ts: now, voltage: 229, flags: ['forged'] },
    ];
    expect(await publish(t.intake, 'concentrators/c-1/readings', arr)).toBeUndefined();
    expect(t.committer.records('grid.readings').map((r) => r.key)).toEqual(['m-1', 'm-3']);
    expect(JSON.parse(t.committer.records('grid.readings')[1]!.value).flags).toEqual(['unassigned']);
    expect(t.committer.deadLetters().map((d) => d.reason)).toEqual(['wrong_type', 'not_object']);
    await publish(t.intake, 'concentrators/c-1/readings', new Array(101).fill(arr[0]));
    expect(t.committer.deadLetters().at(-1)!.reason).toBe('array_too_long');
    await publish(t.intake, 'concentrators/c-1/readings', { meterId: 'm-1' });
    expect(t.committer.deadLetters().at(-1)!.reason).toBe('wrong_type');
  });

  it('drops a repeated seq (a QoS 1 redelivery) instead of forwarding it twice', async () => {
    const t = makeIntake();
    const r = { meterId: 'm-1', seq: 5, ts: t.clock.now(), voltage: 230 };
    await publish(t.intake, 'meters/m-1/reading', r);
    await publish(t.intake, 'meters/m-1/reading', r);
    expect(t.committer.records('grid.readings')).toHaveLength(1);
    expect(t.intake.counts.duplicates).toBe(1);
  });

  it('gives readings without seq a content-hash identity', async () => {
    const t = makeIntake();
    await publish(t.intake, 'meters/m-1/reading', { meterId: 'm-1', ts: t.clock.now(), voltage: 230 });
    expect(JSON.parse(t.committer.records('grid.readings')[0]!.value).readingId).toMatch(/^m-1:h:[A-Za-z0-9_-]{22}$/);
  });

  it('refuses topics nobody may publish on, without committing', async () => {
    const t = makeIntake();
    const err = await publish(t.intake, '$SYS/broker/x', '{}');
    expect(err?.name).toBe('UnauthorizedPublish');
    expect(t.committer.units).toHaveLength(0);
  });
});
