// The group flow hands an anomalies batch's records to the offset gate only once its publish (grid events and
// snapshots) is acknowledged, without holding the consumer for it: the batch returns first (the
// consumer fetches again), the records reach the gate in batch order, at most two batches of a
// partition wait at once, a partition revoked meanwhile is not archived, and settled() waits; a
// batch of readings (any topic but anomalies) reaches the gate without waiting for a publish.
import type { Batch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ManualClock, Metrics, type GridEvent } from '../../../shared/index.ts';
import { topicNames } from '../../../shared/kafka/index.ts';
import { ReadingStore } from '../../../central/api/index.ts';
import type { ConsumedBatch, OffsetGate } from '../../../central/consume/offsets.ts';
import { GroupFlow, type GroupFlowOptions } from '../../../central/flows/group.ts';
import { centralMetrics } from '../../../central/metrics.ts';

const topics = topicNames({ kafkaTopicPrefix: '' } as never);

function readingsBatch(partition: number, first: number, n: number): Batch {
  const messages = Array.from({ length: n }, (_, i) => ({ offset: String(first + i), timestamp: '0', key: Buffer.from(`M${i}`), value: Buffer.from(JSON.stringify({ meterId: `M${i}`, readingId: `M${i}:${first + i}`, ts: first + i })), headers: {}, attributes: 0 }));
  return { topic: topics.readings, partition, messages, offsetLag: () => '0', lastOffset: () => String(first + n - 1) } as unknown as Batch;
}

function anomaliesBatch(partition: number, first: number, n: number): Batch {
  const anomaly = (i: number) => ({ anomalyId: `sag-M${i}`, edgeId: 'edge-S1', meterId: `M${i}`, substationId: 'S1', feederId: 'S1-F1', transformerId: 'S1-T1', type: 'sag', channel: 'voltage', state: 'open', severity: 'minor', startTs: 1_700_000_000_000 + i, endTs: null, observed: 196, baseline: 230, detectedAt: 1_700_000_000_000 + i });
  const messages = Array.from({ length: n }, (_, i) => ({ offset: String(first + i), timestamp: '0', key: Buffer.from('S1'), value: Buffer.from(JSON.stringify(anomaly(first + i))), headers: {}, attributes: 0 }));
  return { topic: topics.anomalies, partition, messages, offsetLag: () => '0', lastOffset: () => String(first + n - 1) } as unknown as Batch;
}

function setup() {
  const added: ConsumedBatch[] = [];
  const gate = { keepsRecords: true, add: (b: ConsumedBatch) => void added.push(b), overBudget: () => false, resumeBelow: () => true, revoke: async () => undefined } as unknown as OffsetGate;
  const releases: (() => void)[] = [];
  const outbox = { publish: (_e: GridEvent[]) => new Promise<boolean>((r) => releases.push(() => r(true))) };
  const flow = new GroupFlow({
    topics,
    metrics: centralMetrics(new Metrics('central', { defaultMetrics: false })),
    clock: new ManualClock(),
    readings: new ReadingStore(4, 1000),
    ownership: { assign: () => undefined, adopt: async () => undefined, take: () => true, changed: () => undefined } as unknown as GroupFlowOptions['ownership'],
    local: { onAnomaly: () => [] } as unknown as GroupFlowOptions['local'],
    outbox: outbox as unknown as GroupFlowOptions['outbox'],
    gate,
  });
  return { flow, added, releases };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('group flow: publish before the gate, without holding the consumer', () => {
  it('returns before the publish is acknowledged and adds to the gate in batch order after it', async () => {
    const { flow, added, releases } = setup();
    await flow.onBatch(anomaliesBatch(0, 0, 3)); // returned: the publish is still waiting
    expect(releases.length).toBe(1);
    expect(added).toEqual([]);
    // The second batch of the partition waits for the oldest (two at most).
    let second = false;
    const b2 = flow.onBatch(anomaliesBatch(0, 3, 2)).then(() => (second = true));
    await tick();
    expect(second).toBe(false);
    // Acknowledged out of order: the second publish first; nothing reaches the gate before the first.
    releases[1]?.();
    await tick();
    expect(added).toEqual([]);
    releases[0]?.();
    await b2;
    expect(added.map((b) => b.nextOffset)).toEqual(['3', '5']);
    expect(added[0]?.messages.map((m) => m.offset)).toEqual(['0', '1', '2']);
  });

  it('does not archive a batch of a partition revoked while its publish waited, and settled() waits for the rest', async () => {
    const { flow, added, releases } = setup();
    flow.onAssignment(new Map([[topics.anomalies, [0, 1]]]));
    await flow.onBatch(anomaliesBatch(0, 0, 2));
    await flow.onBatch(anomaliesBatch(1, 0, 2));
    flow.onAssignment(new Map([[topics.anomalies, [1]]]));
    let settled = false;
    const s = flow.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    for (const r of releases) r();
    await s;
    expect(added.map((b) => b.partition)).toEqual([1]);
  });

  it('hands readings to the gate without a publish, in batch order, even while an anomalies publish waits', async () => {
    const { flow, added, releases } = setup();
    await flow.onBatch(anomaliesBatch(0, 0, 1)); // its publish waits
    await flow.onBatch(readingsBatch(0, 0, 3));
    await flow.onBatch(readingsBatch(0, 3, 2));
    await tick();
    expect(releases.length).toBe(1);
    expect(added.map((b) => [b.topic, b.nextOffset])).toEqual([[topics.readings, '3'], [topics.readings, '5']]);
    releases[0]?.();
    await flow.settled();
    expect(added.map((b) => b.topic)).toEqual([topics.readings, topics.readings, topics.anomalies]);
  });
});
