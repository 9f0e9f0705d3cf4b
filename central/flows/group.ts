// The group consumer's flow: the records of the partitions the group assigns this instance.
//   anomalies -> local correlator (owned substations; replays of an imported state skipped)
//   readings  -> recent readings (API); the learned scorer (its anomalies come back through grid.anomalies)
//   (anomalies come from a consumer of their own, so they never wait behind a fetch of readings)
//   all four  -> offset gate (archive); grid events and snapshots -> outbox before the batch returns
//   archiveOnly (the operators' actions and maintenance windows) -> offset gate only: the audit
//             trail archived with the rest, once (one instance per partition)
import type { Batch } from 'kafkajs';
import { validators, type Anomaly, type Clock, type GridEvent } from '../../shared/index.ts';
import type { TopicNames } from '../../shared/kafka/index.ts';
import type { ReadingStore } from '../api/index.ts';
import type { CorrelatorPort } from '../consume/correlator-port.ts';
import type { ConsumedBatch, OffsetGate } from '../consume/offsets.ts';
import type { SubstationOwnership } from '../consume/ownership.ts';
import type { CentralMetrics } from '../metrics.ts';
import type { GridEventOutbox } from '../publish/outbox.ts';
import { dispatch, dispatchReadingsSlice, onContract, onRaw, type EachRecord, type InRecord, type TopicHandler } from './records.ts';

export interface GroupFlowOptions {
  topics: TopicNames;
  metrics: CentralMetrics;
  clock: Clock;
  readings: ReadingStore;
  ownership: SubstationOwnership;
  local: CorrelatorPort;
  outbox: GridEventOutbox;
  gate: OffsetGate;
  /** Every reading value of this instance's partitions, as JSON text or bytes (the learned scorer, when on). */
  onReading?: (value: string | Buffer) => void;
  /** Stop and restart fetching partitions (the group consumer's pause/resume): backpressure. */
  flow?: { pause(topic: string, partition: number): void; resume(topic: string, partition: number): void };
  /** Topics only archived (their records are used through the broadcast consumer). */
  archiveOnly?: string[];
}

/** Batches of one partition that may wait for their publish at once (the next one waits for the oldest). */
const MAX_TAILS = 2;

/** Longest run of readings handled without letting other work (an anomaly's batch) in. */
export const READINGS_SLICE_MS = 5;

/** Lets timers and I/O callbacks (another consumer's fetch response) run before going on. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Ctx {
  now: number;
  events: GridEvent[];
}

export class GroupFlow {
  private readonly handlers: Map<string, TopicHandler<Ctx>>;
  private lastAssignment = new Map<string, number[]>();
  /** Partitions paused because the archive held more than its byte budget. */
  private readonly paused = new Map<string, { topic: string; partition: number }>();
  /** Per partition: the last batch waiting for its publish before it goes to the gate, and how many wait. */
  private readonly tails = new Map<string, { done: Promise<void>; depth: number }>();
  /** Per partition: bumped when it is revoked, so that a batch still waiting is not archived. */
  private readonly epoch = new Map<string, number>();

  constructor(private readonly o: GroupFlowOptions) {
    const t = o.topics;
    const archivedOnly = onRaw<Ctx>(() => undefined);
    this.handlers = new Map<string, TopicHandler<Ctx>>([
      [t.anomalies, onContract(validators.anomaly, (r, ctx) => this.onAnomaly(r, ctx))],
      // Readings take dispatchReadingsSlice (onBatch); the table only says that the group reads them.
      [t.readings, onRaw(() => undefined)],
      [t.gaps, archivedOnly],
      [t.events, archivedOnly],
      ...(o.archiveOnly ?? []).map((topic) => [topic, archivedOnly] as const),
    ]);
  }

  /** Every topic this flow reads (both consumers: the anomalies and the rest). */
  get topics(): string[] {
    return [...this.handlers.keys()];
  }

  /** The topics of the shared group's consumer of data: all but the anomalies. */
  get dataTopics(): string[] {
    return this.topics.filter((t) => t !== this.o.topics.anomalies);
  }

  async onBatch(batch: Batch): Promise<void> {
    const { topic, partition } = batch;
    const handler = this.handlers.get(topic);
    if (!handler || batch.messages.length === 0) return;
    const { metrics, gate, ownership } = this.o;
    const readings = topic === this.o.topics.readings;
    if (!readings) metrics.consumed.inc({ topic, consumer: 'group' }, batch.messages.length);
    metrics.fetchLag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
    // No anomaly of a partition is correlated before its substations' state is imported.
    if (topic === this.o.topics.anomalies) await ownership.adopt(partition);

    const archived: ConsumedBatch['messages'] = [];
    const keep = gate.keepsRecords;
    const ctx: Ctx = { now: this.o.clock.now(), events: [] };
    const each: EachRecord = (m, key, text, decoded) => {
      if (!keep) return;
      // A tombstone (a cancelled maintenance window) is archived as what it says: its key is gone.
      if (m.value === null) {
        if (key !== null) archived.push({ offset: m.offset, timestamp: m.timestamp, key, value: Buffer.from(JSON.stringify({ _tombstone: true, _key: key })) });
        return;
      }
      // The archive keeps the JSON contract's text: an Avro-encoded reading goes in decoded (once,
      // by dispatch); a record of several readings as JSON lines (split again by the archive's build).
      const value = text !== null && decoded ? Buffer.from(text) : m.value;
      archived.push({ offset: m.offset, timestamp: m.timestamp, key, value });
    };
    if (readings) {
      // In slices of READINGS_SLICE_MS with the event loop free between them: a fetch of readings
      // takes 50-300 ms to handle at 10,000/s on this machine (bench/latency's CPU profile of
      // central, central/README.md "Fault to event"), and an anomaly arriving meanwhile (its own
      // consumer, the same thread) waited for all of it.
      const now = ctx.now;
      const onReading = (key: string | null, value: Buffer | string): void => this.onReading(key, value, now);
      let n = 0;
      for (let at = 0; at < batch.messages.length; ) {
        if (at > 0) await yieldToLoop();
        const r = dispatchReadingsSlice(batch, metrics.invalid, onReading, each, at, performance.now() + READINGS_SLICE_MS);
        n += r.readings;
        at = r.next;
      }
      metrics.consumed.inc({ topic, consumer: 'group' }, n);
    } else {
      dispatch(batch, handler, ctx, metrics.invalid, each);
    }
    // Events and snapshots go to Kafka before this batch can be archived and committed (README:
    // hand-over); a failed publish keeps them and the committer holds the offsets until they are out.
    // The batch does not wait for the publish's acknowledgement, so the consumer fetches again
    // meanwhile (an anomaly behind it was waiting a produce round trip, goal 6): the publish goes
    // out at once (the producer keeps one request in flight, so Kafka has them in call order) and
    // the records reach the gate in batch order once it is acknowledged. At most MAX_TAILS
    // batches of a partition wait so (memory); a partition revoked meanwhile is not added.
    const k = `${topic}\u0000${partition}`;
    const epoch = this.epoch.get(k) ?? 0;
    const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
    // Only a batch of anomalies changes what is published (its events, and snapshots whose
    // nextOffset is an anomalies offset): the records of the other topics (readings, gaps, events,
    // the operators' topics) reach the gate without a publish, so a produce round trip of the one
    // in-flight producer never holds the readings' fetch loop (at MAX_TAILS it did, whenever the
    // batch took the snapshots another batch had changed).
    const published = topic === this.o.topics.anomalies ? this.o.outbox.publish(ctx.events, 'anomalies') : undefined;
    const before = this.tails.get(k);
    const tail = Promise.all([published, before?.done]).then(() => {
      if ((this.epoch.get(k) ?? 0) === epoch) this.archive(topic, partition, archived, nextOffset);
    });
    const entry = { done: tail, depth: (before?.depth ?? 0) + 1 };
    this.tails.set(k, entry);
    void tail.finally(() => {
      if (this.tails.get(k) === entry) this.tails.delete(k);
    });
    if (entry.depth >= MAX_TAILS) await tail;
  }

  /** Resolves once every batch handed over so far is published and in the gate (shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.tails.values()].map((t) => t.done));
  }

  private archive(topic: string, partition: number, archived: ConsumedBatch['messages'], nextOffset: string): void {
    const { gate, metrics } = this.o;
    gate.add({ topic, partition, messages: archived, nextOffset });
    if (gate.overBudget() && this.o.flow) {
      // The sink is behind: this partition stops fetching until the archive has written enough.
      const k = `${topic}\u0000${partition}`;
      if (!this.paused.has(k)) {
        this.paused.set(k, { topic, partition });
        this.o.flow.pause(topic, partition);
        metrics.backpressure.inc({ action: 'pause' });
      }
    }
  }

  /** Partitions paused for the archive's budget resume once it holds little enough again. */
  relieve(): void {
    if (this.paused.size === 0 || !this.o.gate.resumeBelow() || !this.o.flow) return;
    for (const { topic, partition } of this.paused.values()) {
      this.o.flow.resume(topic, partition);
      this.o.metrics.backpressure.inc({ action: 'resume' });
    }
    this.paused.clear();
  }

  /** Partitions paused now (for stats and tests). */
  get pausedPartitions(): number {
    return this.paused.size;
  }

  /**
   * After every join of one of the consumers: the ownership follows the anomalies partitions, the
   * gate forgets revoked ones. `scope` names the topics that consumer reads (the anomalies have a
   * group of their own, central/README.md), so a join of one leaves the other's partitions alone.
   */
  onAssignment(assignment: Map<string, number[]>, scope: readonly string[] = this.topics): void {
    const inScope = new Set(scope);
    if (inScope.has(this.o.topics.anomalies)) this.o.ownership.assign(new Set(assignment.get(this.o.topics.anomalies) ?? []));
    const next = new Map([...this.lastAssignment].filter(([topic]) => !inScope.has(topic)));
    for (const [topic, partitions] of assignment) if (inScope.has(topic)) next.set(topic, partitions);
    for (const [topic, partitions] of this.lastAssignment) {
      if (!inScope.has(topic)) continue;
      const now = new Set(assignment.get(topic) ?? []);
      for (const p of partitions) {
        if (now.has(p)) continue;
        const k = `${topic}\u0000${p}`;
        this.epoch.set(k, (this.epoch.get(k) ?? 0) + 1);
        void this.o.gate.revoke(topic, p);
      }
    }
    this.lastAssignment = next;
  }

  private onReading(key: string | null, value: Buffer | string, now: number): void {
    const { metrics } = this.o;
    if (key === null) metrics.invalid.inc({ topic: this.o.topics.readings });
    else if (!this.o.readings.add(key, value, now)) metrics.duplicates.inc({ kind: 'reading' });
    else this.o.onReading?.(value);
  }

  private onAnomaly(r: InRecord<Anomaly>, ctx: Ctx): void {
    const a = r.value;
    const { ownership, metrics } = this.o;
    const owner = a.substationId ?? r.key ?? '';
    if (!ownership.take(owner, r.partition, BigInt(r.offset))) {
      metrics.duplicates.inc({ kind: 'anomaly_replay' });
      return;
    }
    // Frequency is one grid-wide condition: the grid correlator (fed by the broadcast) has it.
    if (a.type === 'frequency_deviation') return;
    const events = this.o.local.onAnomaly(a);
    ownership.changed(owner);
    if (events.length > 0) {
      const seconds = Math.max(0, ctx.now - Number(r.timestamp)) / 1000;
      for (const _ of events) metrics.recordToEvent.observe(seconds);
      ctx.events.push(...events);
    }
  }
}
