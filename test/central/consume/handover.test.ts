// The hand-over state without Kafka: snapshots decoded (and refused), the latest per substation,
// replays of an imported state recognised, and the ownership that imports, tracks and drops.
import { describe, expect, it } from 'vitest';
import { HandoverState, SNAPSHOT_VERSION, decodeSnapshot, encodeSnapshot, snapshotHead, type Snapshot } from '../../../central/consume/handover.ts';
import { SubstationOwnership } from '../../../central/consume/ownership.ts';
import { partitionOf } from '../../../shared/kafka/index.ts';
import { ManualClock, silentLogger, Topology } from '../../../shared/index.ts';
import { FakeCorrelator } from './fake-correlator.ts';

const snap = (substationId: string, partition: number, nextOffset: string | null, state: unknown = { substationId, tx: {}, seen: [] }): Snapshot => ({
  v: SNAPSHOT_VERSION,
  substationId,
  partition,
  nextOffset,
  state,
  writtenAt: 1,
  instance: 'a',
});

describe('hand-over snapshots', () => {
  it('decode what encode wrote, and refuse other versions, missing fields and broken JSON', () => {
    const s = snap('S01', 2, '17');
    expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s);
    expect(decodeSnapshot(JSON.stringify({ ...s, v: SNAPSHOT_VERSION + 1 }))).toBeNull();
    expect(decodeSnapshot(JSON.stringify({ ...s, partition: '2' }))).toBeNull();
    const { state: _state, ...noState } = s;
    expect(decodeSnapshot(JSON.stringify(noState))).toBeNull();
    expect(decodeSnapshot('{"v":1,')).toBeNull();
  });

  it('keeps the latest snapshot per substation; a tombstone removes it; a record under another key is counted invalid', () => {
    const h = new HandoverState();
    h.apply('S01', encodeSnapshot(snap('S01', 0, '5')));
    h.apply('S01', encodeSnapshot(snap('S01', 0, '9')));
    h.apply('S02', encodeSnapshot(snap('S02', 1, null)));
    h.apply('S03', encodeSnapshot(snap('S01', 0, '1'))); // key and substation disagree
    h.apply('S04', 'not json');
    expect(h.snapshots).toBe(2);
    expect(h.invalid).toBe(2);
    expect(h.forPartition(0).map((s) => s.nextOffset)).toEqual(['9']);
    h.apply('S02', null);
    expect(h.forPartition(1)).toEqual([]);
  });

  it('reads a snapshot\'s head without its state, and the whole snapshot only when its partition is adopted', () => {
    const s = snap('S "quoted" \\ 7', 3, '12', { big: 'x'.repeat(2000) });
    expect(snapshotHead(encodeSnapshot(s))).toEqual({ substationId: 'S "quoted" \\ 7', partition: 3 });
    // Another field order (another writer): decoded whole.
    expect(snapshotHead(JSON.stringify({ partition: 3, substationId: 'S9', v: SNAPSHOT_VERSION, state: {}, nextOffset: null }))).toEqual({ substationId: 'S9', partition: 3 });
    expect(snapshotHead(encodeSnapshot({ ...s, v: SNAPSHOT_VERSION + 1 }))).toBeNull();
    const h = new HandoverState();
    const good = encodeSnapshot(snap('S01', 0, '4'));
    // A head that reads, a body that does not: taken at apply, refused (and counted) at adoption.
    const broken = encodeSnapshot(snap('S02', 1, '8')).slice(0, -10);
    h.apply('S01', good);
    h.apply('S02', broken);
    expect([h.snapshots, h.invalid]).toEqual([2, 0]);
    expect(h.forPartition(0).map((x) => x.substationId)).toEqual(['S01']);
    expect(h.invalid).toBe(0); // partition 1 not decoded yet
    expect(h.forPartition(1)).toEqual([]);
    expect([h.snapshots, h.invalid]).toEqual([1, 1]);
    expect(h.forPartition(0)).toEqual([snap('S01', 0, '4')]);
  });

  it('skips replayed anomalies below an imported snapshot\'s offset, and moves on past it', () => {
    const h = new HandoverState();
    h.adopted(snap('S01', 0, '10'));
    expect(h.isReplay('S01', 9n)).toBe(true);
    expect(h.isReplay('S01', 10n)).toBe(false);
    expect(h.isReplay('S02', 0n)).toBe(false); // no snapshot: nothing to skip
    expect(h.nextOffset('S01')).toBe('10');
    h.consumed('S01', 0, 10n);
    expect(h.nextOffset('S01')).toBe('11');
    h.consumed('S01', 0, 4n); // an older offset never moves the position back
    expect(h.nextOffset('S01')).toBe('11');
    expect(h.release(0)).toEqual(['S01']);
    expect(h.isReplay('S01', 9n)).toBe(false);
    expect(h.nextOffset('S01')).toBeNull();
  });
});

describe('substation ownership', () => {
  const PARTITIONS = 4;
  const setup = () => {
    const local = new FakeCorrelator({ topology: new Topology([]) });
    const waits: string[] = [];
    const ownership = new SubstationOwnership({
      instanceId: 'a',
      local,
      catchUp: {
        waitFor: async (topic) => {
          waits.push(topic);
          return true;
        },
      },
      stateTopic: 'state',
      handoverWaitMs: 1000,
      clock: new ManualClock(5),
      logger: silentLogger(),
    });
    ownership.setPartitionCount(PARTITIONS);
    return { local, ownership, waits };
  };
  // Two substations on different partitions.
  const subs = Array.from({ length: 40 }, (_, i) => `S${i}`);
  const s1 = subs[0]!;
  const p1 = partitionOf(s1, PARTITIONS);
  const s2 = subs.find((s) => partitionOf(s, PARTITIONS) !== p1)!;
  const p2 = partitionOf(s2, PARTITIONS);

  it('imports the snapshots of an assigned partition once the state topic is read, and owns its substations', async () => {
    const { local, ownership, waits } = setup();
    ownership.handover.apply(s1, encodeSnapshot(snap(s1, p1, '3', { substationId: s1, tx: { T1: { meters: ['M1'], event: null } }, seen: ['x|open'] })));
    await ownership.adopt(p1);
    expect(waits).toEqual(['state']);
    expect(ownership.owns(s1)).toBe(true);
    expect(ownership.owns(s2)).toBe(false);
    expect(ownership.isGridOwner()).toBe(p1 === 0);
    expect(local.exportState(s1)).toEqual({ substationId: s1, tx: { T1: { meters: ['M1'], event: null } }, seen: ['x|open'] });
    // Replays of what the snapshot holds are not taken again, and are counted.
    expect(ownership.take(s1, p1, 2n)).toBe(false);
    expect(ownership.take(s1, p1, 3n)).toBe(true);
    expect(ownership.replaySkipped).toBe(1);
  });

  it('writes snapshots of changed owned substations only, with their offset, and takes failed ones again', async () => {
    const { ownership } = setup();
    await ownership.adopt(p1);
    ownership.take(s1, p1, 7n);
    ownership.changed(s1);
    ownership.changed(s2); // not owned: no snapshot
    const out = ownership.takeSnapshots();
    expect(out.map((r) => r.key)).toEqual([s1]);
    expect(decodeSnapshot(out[0]!.value)).toMatchObject({ substationId: s1, partition: p1, nextOffset: '8', instance: 'a', writtenAt: 5 });
    expect(ownership.takeSnapshots()).toEqual([]);
    ownership.snapshotsFailed([s1]);
    expect(ownership.takeSnapshots().map((r) => r.key)).toEqual([s1]);
    ownership.markAllOwnedDirty();
    expect(ownership.takeSnapshots().map((r) => r.key)).toEqual([s1]);
  });

  it('drops the state of a revoked partition and adopts a newly assigned one', async () => {
    const { local, ownership } = setup();
    await ownership.adopt(p1);
    ownership.take(s1, p1, 1n);
    local.onAnomaly({ anomalyId: 'a1', edgeId: 'e', meterId: 'M1', substationId: s1, feederId: 'F', transformerId: 'T1', type: 'sag', channel: 'voltage', state: 'open', severity: 'major', startTs: 1, endTs: null, observed: 180, baseline: 230, detectedAt: 2 });
    expect((local.stats() as { substations: number }).substations).toBe(1);
    ownership.assign(new Set([p2]));
    expect(ownership.owns(s1)).toBe(false);
    expect((local.stats() as { substations: number }).substations).toBe(0);
    await ownership.adopt(p2); // the adoption assign started
    expect(ownership.owns(s2)).toBe(true);
    expect(ownership.adopted).toEqual([p2]);
  });
});
