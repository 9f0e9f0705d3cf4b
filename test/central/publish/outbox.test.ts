// Grid events a failed publish leaves behind: kept, sent first by the next publish, and offsets
// are not committed while any wait (the correlator has absorbed the records that made them and
// would not make them again on a redelivery). Through the outbox's producer port: an in-memory
// producer that fails until healed. The same against the real Kafka: outbox.int.test.ts.
import { describe, expect, it } from 'vitest';
import { DirectCommitGate, OffsetCommitter, type Offset } from '../../../central/consume/offsets.ts';
import { EdgeStatusStore, EventStore, ReadingStore } from '../../../central/api/index.ts';
import { centralMetrics, viewMetrics } from '../../../central/metrics.ts';
import { GridEventOutbox, type SnapshotSource } from '../../../central/publish/outbox.ts';
import type { OutRecord, ProducerPort } from '../../../central/publish/producer.ts';
import { Metrics, silentLogger, systemClock, type GridEvent } from '../../../shared/index.ts';
import { event } from './fixtures.ts';

/** A producer that refuses every request while `failing`, and records what it was sent. */
class FlakyProducer implements ProducerPort {
  failing = true;
  readonly requests: { topic: string; records: OutRecord[] }[][] = [];
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(req: { topic: string; records: OutRecord[] }[]): Promise<void> {
    if (this.failing) throw Object.assign(new Error('broker unavailable'), { retriable: true });
    this.requests.push(req);
  }
  sent(topic: string): string[] {
    return this.requests.flatMap((r) => r.filter((t) => t.topic === topic).flatMap((t) => t.records.map((m) => m.value)));
  }
}

/** Snapshots of substations marked changed, like the ownership's. */
class Changed implements SnapshotSource {
  readonly dirty = new Set<string>();
  takeSnapshots(): OutRecord[] {
    const out = [...this.dirty].map((s) => ({ key: s, value: JSON.stringify({ substationId: s }) }));
    this.dirty.clear();
    return out;
  }
  snapshotsFailed(ids: string[]): void {
    for (const s of ids) this.dirty.add(s);
  }
}

function setup(limits: { maxRequestBytes?: number; maxRecordBytes?: number } = {}) {
  const metrics = new Metrics('central', { defaultMetrics: false });
  const m = centralMetrics(metrics);
  const producer = new FlakyProducer();
  const snapshots = new Changed();
  const published: GridEvent[] = [];
  const store = new EventStore(100);
  const outbox = new GridEventOutbox({
    producer,
    topics: { events: 'ev', state: 'st' },
    snapshots,
    metrics: m,
    logger: silentLogger(),
    onPublished: (e) => {
      published.push(e);
      store.upsert(e);
    },
    ...limits,
  });
  viewMetrics(metrics, { events: store, edges: new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10 }), readings: new ReadingStore(2, 10), clock: systemClock, unpublished: () => outbox.pending });
  const gate = new DirectCommitGate();
  const commits: Offset[][] = [];
  const committer = new OffsetCommitter({ gate, outbox, commit: async (o) => void commits.push(o), metrics: m, logger: silentLogger() });
  return { metrics, producer, snapshots, published, store, outbox, gate, commits, committer };
}

const ids = (values: string[]) => values.map((v) => (JSON.parse(v) as GridEvent).eventId);

describe('grid-event outbox: a failed publish', () => {
  it('keeps the events, holds the offsets, and sends them first once Kafka takes them', async () => {
    const { producer, published, outbox, gate, commits, committer, metrics, store } = setup();
    expect(await outbox.publish([event('e1')], 'anomalies')).toBe(false);
    expect(await outbox.publish([event('e2')], 'tick')).toBe(false);
    expect(outbox.pending).toBe(2);
    expect(published).toEqual([]); // not shown as published
    expect(await metrics.text()).toMatch(/gridwatch_central_events_unpublished(\{[^}]*\})? 2\n/);
    expect(store.counts().open).toBe(0);

    // Offsets of processed records wait while the events are not in Kafka.
    gate.add({ topic: 't', partition: 0, messages: [], nextOffset: '10' });
    await committer.commitDue(false);
    expect(commits).toEqual([]);

    producer.failing = false;
    await committer.commitDue(false);
    expect(ids(producer.sent('ev'))).toEqual(['e1', 'e2']);
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '10' }]]);
    expect(outbox.pending).toBe(0);
    expect(published.map((e) => e.eventId)).toEqual(['e1', 'e2']);
    expect(store.counts().open).toBe(2);

    expect(await outbox.publish([event('e3')], 'tick')).toBe(true);
    expect(ids(producer.sent('ev'))).toEqual(['e1', 'e2', 'e3']);
  });

  it('takes the snapshots of a failed publish again with the next one', async () => {
    const { producer, snapshots, outbox } = setup();
    snapshots.dirty.add('S01');
    expect(await outbox.publish([], 'broadcast')).toBe(false);
    expect(snapshots.dirty.has('S01')).toBe(true);
    producer.failing = false;
    expect(await outbox.publish([], 'broadcast')).toBe(true);
    expect(producer.sent('st').map((v) => (JSON.parse(v) as { substationId: string }).substationId)).toEqual(['S01']);
    expect(snapshots.dirty.size).toBe(0);
  });

  it('cuts requests at the size limit and refuses (counts) a record too large on its own', async () => {
    const { producer, outbox, metrics } = setup({ maxRequestBytes: 1000, maxRecordBytes: 900 });
    producer.failing = false;
    const small = Array.from({ length: 6 }, (_, i) => event(`s${i}`));
    const huge = event('huge', { summary: 'x'.repeat(900) });
    expect(await outbox.publish([...small, huge], 'tick')).toBe(true);
    expect(producer.requests.length).toBeGreaterThan(1);
    for (const r of producer.requests) expect(r.flatMap((t) => t.records).reduce((n, m) => n + m.key.length + m.value.length + 64, 0)).toBeLessThanOrEqual(1000);
    expect(ids(producer.sent('ev'))).toEqual(small.map((e) => e.eventId));
    expect(await metrics.text()).toMatch(/gridwatch_central_publish_refused_total\{[^}]*topic="ev"[^}]*\} 1\n/);
  });
});
