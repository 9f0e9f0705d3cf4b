import type { Topology } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';
import type { CommitUnit } from '../ingest/ports.ts';

/**
 * The topology this gateway serves, on grid.topology (key meterId, compacted) at every start,
 * through the outbox in units of 1000 entries. Without a topology there is nothing to publish.
 */
export class TopologyPublication implements Part {
  readonly name = 'topology publication';

  constructor(
    private readonly topology: Topology | null,
    private readonly o: { topic: string; clock: { now(): number }; submit: (unit: CommitUnit) => Promise<void> },
  ) {}

  async start(): Promise<void> {
    if (!this.topology) return;
    const now = this.o.clock.now();
    let batch: CommitUnit['records'] = [];
    const pending: Promise<void>[] = [];
    for (const e of this.topology.entries()) {
      batch.push({ topic: this.o.topic, key: e.meterId, value: JSON.stringify(e), lane: 'control', ts: now, meterId: e.meterId, seq: null });
      if (batch.length >= 1000) {
        pending.push(this.o.submit({ records: batch }));
        batch = [];
      }
    }
    if (batch.length > 0) pending.push(this.o.submit({ records: batch }));
    await Promise.all(pending);
  }

  async stop(): Promise<void> {}
}
