// Which substations this instance owns, and the rebalance hand-over of their correlation state
// (central/README.md "Who owns a substation"). An instance owns a substation while the group
// assigns it the anomalies partition the substation's key maps to; on assignment it imports the
// partition's latest snapshots once the state topic is read to its end, on revocation it drops
// them. It also knows which owned substations changed, for the outbox's snapshots.
import type { Clock, Logger } from '../../shared/index.ts';
import { partitionOf } from '../../shared/kafka/index.ts';
import type { OutRecord } from '../publish/producer.ts';
import type { SnapshotSource } from '../publish/outbox.ts';
import type { CatchUp } from './catch-up.ts';
import type { CorrelatorPort } from './correlator-port.ts';
import { HandoverState, SNAPSHOT_VERSION, encodeSnapshot, type Snapshot } from './handover.ts';

export interface OwnershipOptions {
  instanceId: string;
  /** The local correlator: the one that holds owned substations' state. */
  local: CorrelatorPort;
  catchUp: Pick<CatchUp, 'waitFor'>;
  stateTopic: string;
  /** How long to wait for the state topic before importing a partition's snapshots. */
  handoverWaitMs: number;
  clock: Clock;
  logger: Logger;
}

export class SubstationOwnership implements SnapshotSource {
  readonly handover = new HandoverState();
  private partitions = 0;
  private readonly adopting = new Map<number, Promise<void>>();
  private readonly adoptedPartitions = new Set<number>();
  private readonly partitionCache = new Map<string, number>();
  private readonly dirty = new Set<string>();
  replaySkipped = 0;

  constructor(private readonly o: OwnershipOptions) {}

  /** Partition count of the anomalies topic (known once the admin has connected). */
  setPartitionCount(n: number): void {
    this.partitions = n;
    this.partitionCache.clear();
  }

  partitionOf(substationId: string): number {
    let p = this.partitionCache.get(substationId);
    if (p === undefined) {
      p = partitionOf(substationId, this.partitions);
      if (this.partitionCache.size > 100_000) this.partitionCache.clear();
      this.partitionCache.set(substationId, p);
    }
    return p;
  }

  owns(substationId: string): boolean {
    return this.adoptedPartitions.has(this.partitionOf(substationId));
  }

  /** Grid-scope events are published by the owner of anomalies partition 0 (see README). */
  isGridOwner(): boolean {
    return this.adoptedPartitions.has(0);
  }

  get adopted(): number[] {
    return [...this.adoptedPartitions].sort((a, b) => a - b);
  }

  /**
   * An anomaly of an owned substation at `offset` of `partition`: false when it is a replay of
   * one already in the imported state (skipped, counted), true when the correlator should take it.
   */
  take(substationId: string, partition: number, offset: bigint): boolean {
    if (this.handover.isReplay(substationId, offset)) {
      this.replaySkipped++;
      return false;
    }
    this.handover.consumed(substationId, partition, offset);
    return true;
  }

  /** A heartbeat or gap of an owned substation reached the correlator. */
  track(substationId: string): void {
    this.handover.track(substationId, this.partitionOf(substationId));
  }

  changed(substationId: string): void {
    this.dirty.add(substationId);
  }

  /** The group's assignment of the anomalies topic changed: drop revoked partitions, adopt new ones. */
  assign(anomalyPartitions: Set<number>): void {
    for (const p of [...this.adopting.keys()]) {
      if (anomalyPartitions.has(p)) continue;
      const dropped = this.handover.release(p);
      for (const s of dropped) this.o.local.dropSubstation(s);
      this.adopting.delete(p);
      this.adoptedPartitions.delete(p);
      this.o.logger.info({ partition: p, substations: dropped.length }, 'anomalies partition revoked: substation state dropped');
    }
    for (const p of anomalyPartitions) this.adopt(p).catch((err: unknown) => this.o.logger.error({ err, partition: p }, 'adopting partition failed'));
  }

  /** Imports the latest snapshots of the partition's substations, once the state topic is read to its end. */
  adopt(partition: number): Promise<void> {
    let p = this.adopting.get(partition);
    if (p) return p;
    p = (async () => {
      const complete = await this.o.catchUp.waitFor(this.o.stateTopic, this.o.handoverWaitMs);
      if (!complete) this.o.logger.warn({ partition }, 'state topic not read to its end in time; importing what was read');
      if (this.adopting.get(partition) !== p) return; // revoked meanwhile
      const snaps = this.handover.forPartition(partition);
      for (const s of snaps) {
        this.o.local.importState(s.state as Parameters<CorrelatorPort['importState']>[0]);
        this.handover.adopted(s);
      }
      this.adoptedPartitions.add(partition);
      this.o.logger.info({ partition, substations: snaps.length }, 'anomalies partition adopted');
    })();
    this.adopting.set(partition, p);
    return p;
  }

  /** Every owned substation's snapshot is written again (periodically, and at a graceful stop). */
  markAllOwnedDirty(): void {
    for (const p of this.adoptedPartitions) for (const s of this.handover.substationsOf(p)) this.dirty.add(s);
  }

  takeSnapshots(): OutRecord[] {
    const out: OutRecord[] = [];
    for (const s of this.dirty) {
      if (s === '' || !this.owns(s)) continue;
      const snap: Snapshot = {
        v: SNAPSHOT_VERSION,
        substationId: s,
        partition: this.partitionOf(s),
        nextOffset: this.handover.nextOffset(s),
        state: this.o.local.exportState(s),
        writtenAt: this.o.clock.now(),
        instance: this.o.instanceId,
      };
      out.push({ key: s, value: encodeSnapshot(snap) });
    }
    this.dirty.clear();
    return out;
  }

  snapshotsFailed(substationIds: string[]): void {
    for (const s of substationIds) this.dirty.add(s);
  }
}
