// The aggregator end to end with the real Kafka (and the test correlator): anomalies in, the grid event on the events topic,
// duplicates not counted twice, readings in the API, offsets committed only after the archive.
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { anomaliesGroupId } from '../../central/consume/groups.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { silentLogger, Metrics } from '../../shared/index.ts';
import { FakeCorrelator } from './consume/fake-correlator.ts';
import { T0, apiTokens, eventReader, kafka, producer, sagAnomaly, sendAnomalies, testConfig, waitFor } from './consume/helpers.ts';

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
}

describe('central consumption (real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('turns a transformer\'s sag anomalies into one transformer event; duplicates count once; commits after archiving', async () => {
    const config = testConfig('central-consume');
    const k = kafka();
    const aggregator = new Aggregator({ config, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 3 });
    cleanup.push(() => aggregator.stop());
    await aggregator.start();
    const p = await producer(k);
    cleanup.push(() => p.disconnect());
    const reader = await eventReader(k, topicNames(config).events);
    cleanup.push(reader.stop);

    const sags = ['M1', 'M2', 'M3'].map((m) => sagAnomaly(m, 'T1', 'S01'));
    await sendAnomalies(p, topicNames(config).anomalies, [sags[0]!, sags[0]!, sags[1]!]); // a duplicate
    await sendAnomalies(p, topicNames(config).anomalies, [sags[1]!, sags[2]!]);
    await p.send({
      topic: topicNames(config).readings,
      messages: [1, 2, 2].map((seq) => ({ key: 'M1', value: JSON.stringify({ meterId: 'M1', readingId: `M1:${seq}`, seq, ts: T0 + seq, voltage: 231, edgeId: 'edge-S01', substationId: 'S01', feederId: 'F1', transformerId: 'T1', receivedAt: T0 + seq }) })),
    });

    await waitFor(() => reader.events.length >= 1, 30_000, 'the grid event');
    await new Promise((r) => setTimeout(r, 500));
    expect(reader.events).toHaveLength(1);
    expect(reader.events[0]).toMatchObject({ scope: 'transformer', rootId: 'T1', type: 'sag', state: 'open', affectedCount: 3, version: 1 });

    // The API: the event (read back from the events topic), the meter's readings without the duplicate.
    const base = `http://127.0.0.1:${aggregator.httpPort}`;
    await waitFor(async () => ((await (await fetch(`${base}/api/events?state=open`, { headers: apiTokens.headers() })).json()) as { count: number }).count === 1, 10_000, 'the API event');
    await waitFor(async () => (await fetch(`${base}/api/meters/M1`, { headers: apiTokens.headers() })).status === 200, 10_000, 'the meter');
    const meter = (await (await fetch(`${base}/api/meters/M1`, { headers: apiTokens.headers() })).json()) as { readings: unknown[] };
    expect(meter.readings).toHaveLength(2);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/api/events`)).status).toBe(401); // authentication is on
    expect(await (await fetch(`${base}/metrics`, { headers: apiTokens.headers() })).text()).toMatch(/gridwatch_central_duplicates_total\{kind="reading"[^}]*\} 1/);

    // Offsets: committed once the archive has the records.
    const admin = k.admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    await waitFor(async () => {
      const [t] = await admin.fetchOffsets({ groupId: anomaliesGroupId(config.centralGroup), topics: [topicNames(config).anomalies] });
      return (t?.partitions ?? []).reduce((n, x) => n + Math.max(0, Number(x.offset)), 0) === 5;
    }, 20_000, 'committed anomalies offsets');
    expect(listFiles(config.archiveDir as string).some((f) => f.endsWith('.jsonl.gz'))).toBe(true);
  });
  it('an installation from before the anomalies group: their committed offsets are copied from the shared group, so the anomalies already handled are not read again', async () => {
    const config = testConfig('central-anomalies-group');
    const t = topicNames(config);
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: t.anomalies, numPartitions: 3 }] });
    const p = await producer(k);
    cleanup.push(() => p.disconnect());
    // Handled by the earlier version: three sags of T1, committed by the shared group.
    await sendAnomalies(p, t.anomalies, ['M1', 'M2', 'M3'].map((m) => sagAnomaly(m, 'T1', 'S01')));
    const ends = await admin.fetchTopicOffsets(t.anomalies);
    await admin.setOffsets({ groupId: config.centralGroup, topic: t.anomalies, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });

    const aggregator = new Aggregator({ config, logger: silentLogger(), metrics: new Metrics('central', { defaultMetrics: false }), correlator: (o) => new FakeCorrelator(o), topicPartitions: 3 });
    cleanup.push(() => aggregator.stop());
    await aggregator.start();
    const reader = await eventReader(k, t.events);
    cleanup.push(reader.stop);
    const [seeded] = await admin.fetchOffsets({ groupId: anomaliesGroupId(config.centralGroup), topics: [t.anomalies] });
    expect(new Map(seeded!.partitions.map((x) => [x.partition, x.offset]))).toEqual(new Map(ends.map((e) => [e.partition, e.high])));

    // New ones, behind them in the same partition (key S01): only they make an event.
    await sendAnomalies(p, t.anomalies, ['M4', 'M5', 'M6'].map((m) => sagAnomaly(m, 'T2', 'S01')));
    await waitFor(() => reader.events.length >= 1, 30_000, 'the grid event of T2');
    await new Promise((r) => setTimeout(r, 500));
    expect(reader.events.map((e) => e.rootId)).toEqual(['T2']);
  });
});
