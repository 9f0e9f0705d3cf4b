// Rebalance hand-over with two instances and the real Kafka: the owner of the substation's
// anomalies partition leaves (SIGTERM path), the other imports its state from the state topic and
// continues the same event; no second open, versions continue, the close carries the same id.
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { Metrics, silentLogger, type GridEvent } from '../../shared/index.ts';
import { FakeCorrelator } from './consume/fake-correlator.ts';
import { T0, eventReader, kafka, producer, sagAnomaly, sendAnomalies, testConfig, waitFor } from './consume/helpers.ts';

const owned = (p: Aggregator): boolean => p.isGridOwner(); // one partition: partition 0 owns everything

describe('central rebalance hand-over (real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('one instance leaves, the other takes over and continues the same event', async () => {
    const config = testConfig('central-handover');
    const make = (name: string) =>
      new Aggregator({ config: { ...config, instanceId: name }, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 1 });
    const k = kafka();
    const p = await producer(k);
    cleanup.push(() => p.disconnect());

    const a = make('a');
    cleanup.push(() => a.stop());
    await a.start();
    const reader = await eventReader(k, topicNames(config).events);
    cleanup.push(reader.stop);
    await waitFor(() => owned(a), 30_000, 'a owning the partition');

    const sag = (m: string, over = {}) => sagAnomaly(m, 'T1', 'S01', over);
    await sendAnomalies(p, topicNames(config).anomalies, [sag('M1'), sag('M2'), sag('M3')]);
    await waitFor(() => reader.events.length === 1, 30_000, 'the open event');

    const b = make('b');
    cleanup.push(() => b.stop());
    await b.start();
    // Whichever instance the join gave the partition to is the owner now (a hand-over may already have happened).
    await waitFor(() => owned(a) !== owned(b), 60_000, 'one owner after the join');
    await sendAnomalies(p, topicNames(config).anomalies, [sag('M4')]);
    await waitFor(() => reader.events.length === 2, 30_000, 'the event growing');

    const [leaver, stayer] = owned(a) ? [a, b] : [b, a];
    await leaver.stop();
    await waitFor(() => owned(stayer), 60_000, 'the other instance taking over');
    await sendAnomalies(p, topicNames(config).anomalies, [sag('M5')]);
    await waitFor(() => reader.events.length === 3, 30_000, 'the event growing on the new owner');
    const closes = ['M1', 'M2', 'M3', 'M4', 'M5'].map((m) => sag(m, { state: 'closed', endTs: T0 + 60_000, detectedAt: T0 + 61_000 }));
    await sendAnomalies(p, topicNames(config).anomalies, closes);
    await waitFor(() => reader.events.some((e) => e.state === 'closed'), 30_000, 'the close');
    await new Promise((r) => setTimeout(r, 1000));

    const events: GridEvent[] = reader.events;
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    expect(events.filter((e) => e.version === 1)).toHaveLength(1);
    expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => e.affectedCount)).toEqual([3, 4, 5, 5]);
    expect(events[3]?.state).toBe('closed');
  });

  it('after a crash with nothing committed, the new owner skips the replayed anomalies its imported state holds', async () => {
    // Archive flushes only after 10 minutes: no offset is committed, the new owner re-reads everything.
    const config = testConfig('central-crash', { archiveMaxAgeMs: 600_000 });
    const make = (name: string) =>
      new Aggregator({ config: { ...config, instanceId: name }, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 1 });
    const k = kafka();
    const p = await producer(k);
    cleanup.push(() => p.disconnect());
    const a = make('a');
    cleanup.push(() => a.stop());
    await a.start();
    const reader = await eventReader(k, topicNames(config).events);
    cleanup.push(reader.stop);
    await waitFor(() => owned(a), 30_000, 'a owning the partition');
    const sag = (m: string, over = {}) => sagAnomaly(m, 'T1', 'S01', over);
    await sendAnomalies(p, topicNames(config).anomalies, [sag('M1'), sag('M2'), sag('M3'), sag('M4')]);
    await waitFor(() => reader.events.some((e) => e.affectedCount === 4), 30_000, 'the event with 4 meters');

    await a.kill();
    const b = make('b');
    cleanup.push(() => b.stop());
    await b.start();
    await waitFor(() => owned(b), 60_000, 'b owning the partition');
    await sendAnomalies(p, topicNames(config).anomalies, [sag('M5')]);
    await waitFor(() => reader.events.some((e) => e.affectedCount === 5), 30_000, 'the event growing on b');
    await new Promise((r) => setTimeout(r, 1000));

    expect(b.stats().replaySkipped).toBe(4);
    expect(new Set(reader.events.map((e) => e.eventId)).size).toBe(1);
    expect(reader.events.filter((e) => e.version === 1)).toHaveLength(1);
    expect(reader.events.at(-1)).toMatchObject({ affectedCount: 5, state: 'open' });
  });
});
