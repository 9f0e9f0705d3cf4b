import type { CommitUnit } from './ports.ts';

/**
 * Rolling detector checkpoints (edge/store/README.md "Detector state"), riding on commit units: a
 * unit carries the snapshot of (a) every meter it touched for the first time since start, (b) the
 * meters of a meter event or a dropout (neither is in the replay journal), and (c) every
 * `everyRecords` records, the next `perCheckpoint` meters of a round robin over all known meters,
 * so each meter is re-checkpointed regularly and the replay horizon keeps moving.
 *
 * Snapshots are taken when `attach` is called, at submit time: the intake is synchronous up to
 * submit, so the detector holds exactly the effects of this unit and those before it, which is
 * what the store's covers_id (the unit's last outbox id) claims.
 *
 * The gateway's policy: 5 meters per 300 records costs about 20% of the commit rate; at 10,000
 * readings/s a gateway with 10,000 meters re-checkpoints each meter about every minute, which
 * bounds the replay at start to about a minute of readings.
 */
export const GATEWAY_CHECKPOINTS = { everyRecords: 300, perCheckpoint: 5 };

export class RollingCheckpoints {
  private readonly known: string[] = [];
  private readonly knownSet = new Set<string>();
  private readonly newMeters: string[] = [];
  private rollAt = -1;
  private sinceRolling = 0;

  constructor(
    private readonly detector: { exportMeter(id: string): unknown },
    private readonly policy: { everyRecords: number; perCheckpoint: number } = GATEWAY_CHECKPOINTS,
  ) {}

  /** Meters the detector already knows (restored at start): part of the round robin, not new. */
  knowMeters(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.knownSet.has(id)) continue;
      this.knownSet.add(id);
      this.known.push(id);
    }
  }

  /** A meter the intake has just seen; checkpointed with the next unit when it is new. */
  noteMeter(id: string): void {
    if (this.knownSet.has(id)) return;
    this.knownSet.add(id);
    this.known.push(id);
    this.newMeters.push(id);
  }

  /** Adds the snapshots due to `unit` (plus those of `alsoMeters`). Runs per unit: no closure, no array unless a snapshot is due. */
  attach(unit: CommitUnit, alsoMeters: string[] | null): void {
    let out: [string, unknown][] | null = null;
    for (const id of this.newMeters) out = this.add(out, id);
    this.newMeters.length = 0;
    if (alsoMeters !== null) for (const id of alsoMeters) out = this.add(out, id);
    this.sinceRolling += unit.records.length;
    if (this.sinceRolling >= this.policy.everyRecords && this.known.length > 0) {
      this.sinceRolling = 0;
      for (let i = 0; i < Math.min(this.policy.perCheckpoint, this.known.length); i++) {
        this.rollAt = (this.rollAt + 1) % this.known.length;
        out = this.add(out, this.known[this.rollAt]!);
      }
    }
    if (out !== null) unit.checkpoint = out;
  }

  private add(out: [string, unknown][] | null, id: string): [string, unknown][] | null {
    const s = this.detector.exportMeter(id);
    if (s === undefined) return out;
    (out ??= []).push([id, s]);
    return out;
  }
}
