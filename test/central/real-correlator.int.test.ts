// The real correlator in the aggregator: topology from a file and from the topology topic, a
// transformer's meters' sag anomalies -> one transformer-scope sag event on the events topic;
// frequency anomalies of two substations -> one grid-scope event keyed `grid`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { Metrics, silentLogger, writeTopologyFile, type TopologyEntry } from '../../shared/index.ts';
import { T0, apiTokens, eventReader, kafka, producer, sagAnomaly, sendAnomalies, testConfig, waitFor } from './consume/helpers.ts';

const entry = (meterId: string, transformerId: string, substationId: string): TopologyEntry => ({ meterId, transformerId, feederId: `${substationId}-F1`, substationId, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });

describe('central with the real correlator (real Kafka)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('rolls a transformer\'s sags up to one transformer event, and frequency across substations to one grid event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'central-topo-'));
    const file = join(dir, 'topology.csv');
    // T1's meters are a minority of the feeder and the substation (T2 has six more), so only the
    // transformer qualifies.
    const others = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'].map((m) => entry(m, 'T2', 'S01'));
    const meters = [entry('M1', 'T1', 'S01'), entry('M2', 'T1', 'S01'), entry('M3', 'T1', 'S01'), ...others, entry('N1', 'T9', 'S02'), entry('N2', 'T9', 'S02')];
    writeTopologyFile(file, meters);
    const config = testConfig('central-correlate', { topology: file });
    const aggregator = new Aggregator({
      config,
      logger: silentLogger(),
      metrics: new Metrics('central', { defaultMetrics: false }),
      topicPartitions: 2,
      correlate: { openHoldMs: 300, meterHoldMs: 20_000, substation: { share: 0.5, minCount: 1, clearShare: 0.2 }, feeder: { share: 0.5, minCount: 1, clearShare: 0.2 }, gridMinSubstations: 2 },
    });
    cleanup.push(() => aggregator.stop());
    await aggregator.start();
    const k = kafka();
    const p = await producer(k);
    cleanup.push(() => p.disconnect());
    const reader = await eventReader(k, topicNames(config).events);
    cleanup.push(reader.stop);

    // A fourth meter of T1 arrives through the topology topic.
    await p.send({ topic: topicNames(config).topology, messages: [{ key: 'M4', value: JSON.stringify(entry('M4', 'T1', 'S01')) }] });
    await waitFor(() => aggregator.registry.topology.size === 12, 20_000, 'the topology update');
    await waitFor(() => aggregator.health().ready, 30_000, 'readiness');
    await waitFor(() => aggregator.stats().adopted instanceof Array && (aggregator.stats().adopted as number[]).length === 2, 30_000, 'both partitions adopted');

    const sags = ['M1', 'M2', 'M3'].map((m) => sagAnomaly(m, 'T1', 'S01', { feederId: 'S01-F1' }));
    await sendAnomalies(p, topicNames(config).anomalies, [...sags, sags[0]!]);
    await waitFor(() => reader.events.some((e) => e.scope === 'transformer'), 30_000, 'the transformer event');

    const freq = (meterId: string, sub: string, tx: string) =>
      sagAnomaly(meterId, tx, sub, { anomalyId: `f-${meterId}`, type: 'frequency_deviation', channel: 'frequency', observed: 49.2, baseline: 50, feederId: `${sub}-F1`, startTs: T0 + 5000, detectedAt: T0 + 5000 });
    await sendAnomalies(p, topicNames(config).anomalies, [freq('M1', 'S01', 'T1'), freq('M2', 'S01', 'T1'), freq('N1', 'S02', 'T9'), freq('N2', 'S02', 'T9')]);
    await waitFor(() => reader.events.some((e) => e.scope === 'grid'), 30_000, 'the grid event');
    await new Promise((r) => setTimeout(r, 1000));

    const sagEvents = reader.events.filter((e) => e.type === 'sag' || e.type === 'undervoltage');
    expect(new Set(sagEvents.map((e) => e.eventId)).size).toBe(1);
    expect(sagEvents[0]).toMatchObject({ scope: 'transformer', rootId: 'T1', substationId: 'S01', state: 'open', affectedCount: 3 });
    const gridEvents = reader.events.filter((e) => e.scope === 'grid');
    expect(new Set(gridEvents.map((e) => e.eventId)).size).toBe(1);
    expect(gridEvents[0]).toMatchObject({ type: 'frequency_deviation', substationId: null });
    const base = `http://127.0.0.1:${aggregator.httpPort}`;
    const topo = (await (await fetch(`${base}/api/topology`, { headers: apiTokens.headers() })).json()) as { meters: number };
    expect(topo.meters).toBe(12);
  });
});
