// A feeder's voltage steps down by 5 % and stays there, through the real parts: MQTT readings into
// a real edge gateway (its detector sees a dip on every meter of the feeder, as it must: it judges
// each meter against its own moving average), real Kafka, and a real central whose correlator
// judges the shared deviation with the feeder. One feeder event, no meter event; the neighbouring
// feeder, not stepped, has nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Aggregator } from '../../central/aggregator.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { Metrics, silentLogger, writeTopologyFile, type Anomaly, type TopologyEntry } from '../../shared/index.ts';
import { Rng } from '../../simulator/rng.ts';
import { connectMqtt, consumeTopic, edgeTestConfig, startEdge, testPrefix, waitFor } from '../edge/helpers.ts';
import { eventReader, kafka, testConfig } from './consume/helpers.ts';

// F1 (T1, T2: 16 meters) steps; F2 (T3-T5: 24 meters) does not, so the substation is not
// "mostly" affected and the feeder is the highest qualifying device. A reading interval of 10 minutes in
// the topology keeps the edge's dropout rule out of a test that sends 1-second readings in a burst.
const entry = (meterId: string, transformerId: string, feederId: string): TopologyEntry => ({
  meterId, transformerId, feederId, substationId: 'S01', phase: 'A', nominalVoltage: 230, nominalFrequency: 50, readingIntervalMs: 600_000,
});
const METERS = [
  ...Array.from({ length: 8 }, (_, i) => entry(`T1-${i}`, 'T1', 'F1')),
  ...Array.from({ length: 8 }, (_, i) => entry(`T2-${i}`, 'T2', 'F1')),
  ...['T3', 'T4', 'T5'].flatMap((tx) => Array.from({ length: 8 }, (_, i) => entry(`${tx}-${i}`, tx, 'F2'))),
];
const WARMUP = 90; // readings before the step: the detector's window (60) is full
const AFTER = 40; // readings at the new level

describe('voltage step on a feeder (real edge, real Kafka, real central)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('is one feeder event and no meter event, though the edge saw a dip on every meter', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voltage-step-'));
    const topologyFile = join(dir, 'topology.csv');
    writeTopologyFile(topologyFile, METERS);
    const prefix = testPrefix('vstep');
    const config = testConfig('central-vstep', {
      topology: topologyFile,
      // The edge's topic names: the same prefix.
      kafkaTopicPrefix: `${prefix}.`,
    });
    // Shorter holds than the defaults so the test waits less; the rule is the same.
    const central = new Aggregator({
      config,
      logger: silentLogger(),
      metrics: new Metrics('central', { defaultMetrics: false }),
      topicPartitions: 2,
      correlate: { deviationHoldMs: 8_000, meterHoldMs: 15_000, closeDelayMs: 5_000 },
    });
    cleanup.push(() => central.stop());
    await central.start();
    await waitFor(() => central.health().ready, 60_000, 'central readiness');
    const reader = await eventReader(kafka(), topicNames(config).events);
    cleanup.push(reader.stop);
    // The edge after central: central creates the topics it reads.
    const edge = await startEdge(edgeTestConfig(prefix, { GRIDWATCH_TOPOLOGY: topologyFile, GRIDWATCH_SUBSTATION_ID: 'S01' }));
    cleanup.push(() => edge.stop());

    // Each meter's own level (0.96-0.98 pu) with metering noise; F1's meters drop 5 % at WARMUP.
    const client: MqttClient = await connectMqtt(`mqtt://127.0.0.1:${edge.mqttAddresses.tcp}`, { clientId: `${prefix}-dc` });
    cleanup.push(() => client.endAsync(true));
    const rng = new Rng(15);
    const level = new Map(METERS.map((m) => [m.meterId, rng.uniform(0.96, 0.98)]));
    const t0 = Date.now() - (WARMUP + AFTER) * 1000;
    for (let k = 0; k < WARMUP + AFTER; k++) {
      const readings = METERS.map((m) => {
        const stepped = m.feederId === 'F1' && k >= WARMUP;
        const pu = level.get(m.meterId)! * (stepped ? 0.95 : 1) + rng.normal(0, 0.0015);
        return { meterId: m.meterId, seq: k, ts: t0 + k * 1000, voltage: Math.round(pu * 230 * 100) / 100, current: Math.round((4 + rng.normal(0, 0.2)) * 1000) / 1000, frequency: 50 };
      });
      await client.publishAsync(`concentrators/${prefix}-dc/readings`, JSON.stringify(readings), { qos: 1 });
    }
    expect(edge.intake.counts.accepted).toBe(METERS.length * (WARMUP + AFTER));

    // No throw here: on a timeout the assertions below say what came instead.
    await waitFor(() => reader.events.some((e) => e.scope === 'feeder'), 60_000, 'the feeder event').catch(() => undefined);
    // Past the (shortened) meterHoldMs of every dip: a meter event would have come by now.
    await new Promise((r) => setTimeout(r, 20_000));

    const anomalies = (await consumeTopic(topicNames(config).anomalies, () => false, { timeoutMs: 5_000, settleMs: 500 })).map((r) => r.value as unknown as Anomaly);
    const counts = new Map<string, number>();
    for (const a of anomalies) counts.set(`${a.type}/${a.state}/${a.severity}`, (counts.get(`${a.type}/${a.state}/${a.severity}`) ?? 0) + 1);
    const kinds = JSON.stringify([...counts]);
    const dipped = new Set(anomalies.filter((a) => a.type === 'dip' && a.state === 'open').map((a) => a.meterId));
    const f2 = new Set(METERS.filter((m) => m.feederId === 'F2').map((m) => m.meterId));
    expect([...dipped].filter((m) => f2.has(m)), 'the feeder that did not step').toEqual([]);
    expect(dipped.size, `the edge judged every stepped meter on its own: ${kinds}`).toBeGreaterThanOrEqual(14);

    const ids = new Set(reader.events.map((e) => e.eventId));
    expect([...ids], `${JSON.stringify(reader.events.map((e) => e.summary))} ${kinds}`).toHaveLength(1);
    const feeder = reader.events.filter((e) => e.scope === 'feeder');
    expect(feeder[0], `${JSON.stringify(reader.events.map((e) => [e.scope, e.rootId, e.type, e.summary]))} ${kinds}`).toMatchObject({ rootId: 'F1', substationId: 'S01', type: 'sag', severity: 'minor' });
    expect(Math.max(...feeder.map((e) => e.affectedCount))).toBeGreaterThanOrEqual(dipped.size);
    expect(feeder[0]!.summary).toContain('by deviation from their own average only');
    expect(reader.events.filter((e) => e.scope === 'meter')).toEqual([]);
  });
});
