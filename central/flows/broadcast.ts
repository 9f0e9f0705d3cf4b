// The broadcast consumer's flow: small topics every instance reads whole (central/README.md).
//   topology      -> topology registry
//   central-state -> latest hand-over snapshot per substation
//   events        -> event store (API, SSE)
//   anomalies     -> anomaly store (API); frequency anomalies -> grid correlator
//   edge-status   -> edge status store (API); owned substations -> local correlator
//   gaps          -> owned substations -> local correlator
//   event-actions -> operators' workflow (acknowledged, assignee, notes; the audit trail)
//   maintenance   -> maintenance windows (planned outages)
import type { Batch } from 'kafkajs';
import { validators, type Anomaly, type EventAction, type Clock, type EdgeStatus, type Gap, type GridEvent } from '../../shared/index.ts';
import type { TopicNames } from '../../shared/kafka/index.ts';
import type { AnomalyStore, EdgeStatusStore, EventStore } from '../api/index.ts';
import type { CatchUp } from '../consume/catch-up.ts';
import type { CorrelatorPort } from '../consume/correlator-port.ts';
import type { SubstationOwnership } from '../consume/ownership.ts';
import type { CentralMetrics } from '../metrics.ts';
import type { GridEventOutbox } from '../publish/outbox.ts';
import type { TopologyRegistry } from '../registry/index.ts';
import type { Workflow, WorkflowTopics } from '../workflow/service.ts';
import { dispatch, onContract, onRaw, type InRecord, type TopicHandler } from './records.ts';

export interface BroadcastFlowOptions {
  topics: TopicNames;
  metrics: CentralMetrics;
  clock: Clock;
  registry: TopologyRegistry;
  events: EventStore;
  anomalies: AnomalyStore;
  edges: EdgeStatusStore;
  ownership: SubstationOwnership;
  local: CorrelatorPort;
  grid: CorrelatorPort;
  catchUp: CatchUp;
  outbox: GridEventOutbox;
  /** Grid events computed by an instance that is not the grid owner, and not published. */
  counters: { gridDiscarded: number };
  workflow?: { topics: WorkflowTopics; workflow: Workflow };
}

interface Ctx {
  now: number;
  out: GridEvent[];
}

export class BroadcastFlow {
  private readonly handlers: Map<string, TopicHandler<Ctx>>;

  constructor(private readonly o: BroadcastFlowOptions) {
    const t = o.topics;
    this.handlers = new Map<string, TopicHandler<Ctx>>([
      [t.topology, onRaw((r) => o.registry.applyRecord(r.key, r.value))],
      [t.state, onRaw((r) => o.ownership.handover.apply(r.key, r.value))],
      [t.events, onContract<GridEvent, Ctx>(validators.gridEvent, (r) => o.events.upsert(r.value))],
      [t.anomalies, onContract<Anomaly, Ctx>(validators.anomaly, (r, ctx) => this.onAnomaly(r, ctx))],
      [t.edgeStatus, onContract<EdgeStatus, Ctx>(validators.edgeStatus, (r, ctx) => this.onEdgeStatus(r, ctx))],
      [t.gaps, onContract<Gap, Ctx>(validators.gap, (r) => this.onGap(r))],
    ]);
    const w = o.workflow;
    if (w) {
      this.handlers.set(w.topics.actions, onContract<EventAction, Ctx>(validators.eventAction, (r) => w.workflow.onActionRecord(r.value)));
      this.handlers.set(w.topics.maintenance, onRaw((r) => void (w.workflow.onMaintenanceRecord(r.key, r.value) || o.metrics.invalid.inc({ topic: w.topics.maintenance }))));
    }
  }

  /** Read from the beginning (the whole state), and from now on (what happens while running). */
  get subscriptions(): { topics: string[]; fromBeginning: boolean }[] {
    const t = this.o.topics;
    return [
      { topics: [t.topology, t.state, t.events, ...(this.o.workflow ? [this.o.workflow.topics.actions, this.o.workflow.topics.maintenance] : [])], fromBeginning: true },
      { topics: [t.anomalies, t.edgeStatus, t.gaps], fromBeginning: false },
    ];
  }

  async onBatch(batch: Batch): Promise<void> {
    const { topic, partition } = batch;
    const handler = this.handlers.get(topic);
    if (!handler || batch.messages.length === 0) return;
    this.o.metrics.consumed.inc({ topic, consumer: 'broadcast' }, batch.messages.length);
    const ctx: Ctx = { now: this.o.clock.now(), out: [] };
    dispatch(batch, handler, ctx, this.o.metrics.invalid);
    this.o.catchUp.advance(topic, partition, BigInt(batch.lastOffset()) + 1n);
    await this.o.outbox.publish(ctx.out, 'broadcast');
  }

  private onAnomaly(r: InRecord<Anomaly>, ctx: Ctx): void {
    const a = r.value;
    if (!this.o.anomalies.add(a)) this.o.metrics.duplicates.inc({ kind: 'anomaly' });
    if (a.type !== 'frequency_deviation') return;
    // Every instance keeps the grid view current; only the grid owner publishes what it concludes,
    // so a new owner continues from the same state instead of starting empty.
    const events = this.o.grid.onAnomaly(a);
    if (this.o.ownership.isGridOwner()) ctx.out.push(...events);
    else this.o.counters.gridDiscarded += events.length;
  }

  private onEdgeStatus(r: InRecord<EdgeStatus>, ctx: Ctx): void {
    const s = r.value;
    this.o.edges.update(s, ctx.now);
    if (s.substationId === null || !this.o.ownership.owns(s.substationId)) return;
    this.o.ownership.track(s.substationId);
    ctx.out.push(...this.o.local.onEdgeStatus(s));
    this.o.ownership.changed(s.substationId);
  }

  private onGap(r: InRecord<Gap>): void {
    const sub = this.o.registry.topology.meter(r.value.meterId)?.substationId;
    if (sub === undefined || !this.o.ownership.owns(sub)) return;
    this.o.local.onGap(r.value);
    this.o.ownership.changed(sub);
  }
}
