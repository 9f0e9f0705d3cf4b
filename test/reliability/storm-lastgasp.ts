/**
 * Issue 14 (5), the last-gasp storm: a whole substation loses power. Thousands of last gasps
 * arrive within a few seconds while the other meters' readings keep flowing: the gasps reach
 * central ahead of the readings (the edge's control lane, and central's group consumer fetching
 * little enough per partition) and become ONE substation outage event, within the correlator's
 * hold. Edge and central run in the test process (with the swarm), so on a loaded machine they
 * share one event loop: the central timeline printed at the end shows where the time went.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Aggregator } from '../../central/aggregator.ts';
import { CentralConfigSchema } from '../../central/config.ts';
import { DEFAULT_CORRELATE_CONFIG } from '../../central/correlate/config.ts';
import { loadConfig, Metrics, silentLogger, writeTopologyFile, type TopologyEntry } from '../../shared/index.ts';
import { topicNames } from '../../shared/kafka/index.ts';
import { TOPICS } from '../../shared/contracts/index.ts';
import { edgeTestConfig, startEdge } from '../edge/helpers.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';
import { apiTokens } from '../central/consume/helpers.ts';
import { kafkaSecurityEnv, readTopic } from './kafka.ts';
import { recordReliability, type ReliabilityRow } from './record.ts';
import { Swarm } from './swarm.ts';

const FEEDERS = 3;
const TRANSFORMERS_PER_FEEDER = 10;
const GASP_SPREAD_MS = 3000;
/** From the last gasp to the substation event on the events topic (the hold is openHoldMs, 10 s by default). */
export const EVENT_BOUND_MS = DEFAULT_CORRELATE_CONFIG.openHoldMs + 20_000;

export interface LastGaspStorm {
  /** Meters under each of the 30 transformers (100: 3000 meters). */
  metersPerTransformer: number;
  /** Readings every meter sends at once just before the storm: the queue the gasps must overtake. */
  burst: number;
  id: string;
  suite: ReliabilityRow['suite'];
  /** Stopped in reverse order by the caller's afterAll. */
  cleanup: (() => unknown)[];
}

export async function runLastGaspStorm(o: LastGaspStorm): Promise<ReliabilityRow> {
  const { cleanup } = o;
  const METERS_PER_TRANSFORMER = o.metersPerTransformer;
  const BURST = o.burst;
  const prefix = uniqueName('gasp');
  const sub = 'S-GASP';
  const entries: TopologyEntry[] = [];
  for (let f = 0; f < FEEDERS; f++) {
    for (let t = 0; t < TRANSFORMERS_PER_FEEDER; t++) {
      for (let m = 0; m < METERS_PER_TRANSFORMER; m++) {
        entries.push({ meterId: `${prefix.slice(0, 30)}-f${f}t${t}m${m}`, transformerId: `${sub}-F${f}-T${t}`, feederId: `${sub}-F${f}`, substationId: sub, phase: 'A', nominalVoltage: 230, nominalFrequency: 50 });
      }
    }
  }
  const file = join(mkdtempSync(join(tmpdir(), 'gasp-topo-')), 'topology.csv');
  writeTopologyFile(file, entries);

  const config = loadConfig(CentralConfigSchema, {
    env: kafkaSecurityEnv(),
    overrides: {
      kafkaBrokers: testEndpoints().kafkaBrokers,
      centralGroup: `${prefix}-group`,
      httpHost: '127.0.0.1',
      httpPort: 0,
      apiTokensFile: apiTokens.file,
      kafkaTopicPrefix: `${prefix}.`,
      archiveDir: mkdtempSync(join(tmpdir(), 'gasp-archive-')),
      topology: file,
      logLevel: 'warn',
    },
  });
  const centralMetrics = new Metrics('central', { defaultMetrics: false });
  const central = new Aggregator({ config, logger: silentLogger(), metrics: centralMetrics, topicPartitions: 3 });
  cleanup.push(() => central.stop());
  await central.start();

  const edge = await startEdge(edgeTestConfig(prefix, { GRIDWATCH_TOPOLOGY: file, GRIDWATCH_SUBSTATION_ID: sub, ...kafkaSecurityEnv() }));
  cleanup.push(() => edge.stop());
  const until = async (cond: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until(() => central.health().ready, 60_000, 'central ready');

  const swarm = new Swarm({ port: edge.mqttAddresses.tcp, meterIds: entries.map((e) => e.meterId), retryMs: 1000, seed: 5 });
  cleanup.push(() => swarm.stop());
  await swarm.start(5000);
  await until(() => swarm.connectedCount() === entries.length, 300_000, 'every meter connected');

  // Readings every 2 s from every meter with power.
  const powered = new Set(swarm.meters);
  let readingsSent = 0;
  const flood = setInterval(() => {
    for (const m of powered) if (Math.random() < 0.1) void m.publishReading(Date.now()).then((ok) => ok && readingsSent++);
  }, 200);
  cleanup.push(() => clearInterval(flood));
  await new Promise((r) => setTimeout(r, 10_000));

  // A queue of readings at the edge: every meter sends BURST readings at once just before the
  // storm, so the gasps are published behind them and must overtake them (control lane).
  for (const m of swarm.meters) for (let k = 0; k < BURST; k++) void m.publishReading(Date.now() - (BURST - k) * 10).then((ok) => ok && readingsSent++);
  // The outbox's lanes every 50 ms: when each one empties after the storm.
  let tControlDrained = 0;
  let tReadingsDrained = 0;
  let readingsQueuedMax = 0;
  let stormAt = Number.POSITIVE_INFINITY;
  let gaspsPublished = false;
  // Which rows left the outbox in which order (an observation of the store, nothing changed):
  // the gasps' anomaly rows overtook the queue when a readings batch leaves AFTER a gasp that was
  // committed later than that batch's oldest reading (row ids are one sequence over both lanes).
  // Timing the lanes' emptying cannot show this: on a fast machine the queue is gone within 50 ms
  // of the last gasp and both lanes empty in the same sample.
  const removals: { lane: 'control' | 'readings'; first: number; gaspMax: number }[] = [];
  const storeRemoveRange = edge.store.removeRange.bind(edge.store);
  edge.store.removeRange = (lane, firstId, lastId) => {
    if (Number.isFinite(stormAt)) {
      const gaspMax = lane === 'control' ? Math.max(0, ...edge.store.peek('control', 10_000).filter((r) => r.id <= lastId && r.topic === TOPICS.anomalies).map((r) => r.id)) : 0;
      removals.push({ lane, first: firstId, gaspMax });
    }
    storeRemoveRange(lane, firstId, lastId);
  };
  cleanup.push(() => (edge.store.removeRange = storeRemoveRange));
  const lanes = setInterval(() => {
    const l = edge.store.stats().byLane;
    readingsQueuedMax = Math.max(readingsQueuedMax, l.readings);
    const now = Date.now();
    if (now < stormAt) return;
    // Once every gasp is PUBACKed it is in the outbox (persisted before the ack).
    const stored = gaspsPublished && gaspsAcked === entries.length;
    if (stored && tControlDrained === 0 && l.control === 0) tControlDrained = now;
    if (stored && tReadingsDrained === 0 && l.readings === 0) tReadingsDrained = now;
  }, 50);
  cleanup.push(() => clearInterval(lanes));
  // Central's group consumer: when it has taken every gasp's anomaly, and how many readings it
  // had taken by then (the readings backlog at central the gasps overtook, or waited behind).
  const consumedOf = async (): Promise<{ anomalies: number; readings: number }> => {
    const got = await centralMetrics.registry.getSingleMetric('gridwatch_central_records_consumed_total')!.get();
    const of = (topic: string) => got.values.filter((v) => v.labels.topic === topic && v.labels.consumer === 'group').reduce((n, v) => n + v.value, 0);
    return { anomalies: of(topicNames(config).anomalies), readings: of(topicNames(config).readings) };
  };
  let anomaliesBefore = 0;
  let tGaspsAtCentral = 0;
  let readingsAtCentralThen = 0;
  let readingsSentThen = 0;
  // Central's timeline (printed at the end): where the time from the gasps to the event goes.
  const timeline: string[] = [];
  let lastLine = '';
  const centralSampler = setInterval(() => {
    const d = central.health().details as { correlator: { anomalies: number; events: number; open: number; absorbed: number }; unpublishedEvents: number };
    const line = `anomalies ${d.correlator.anomalies} events ${d.correlator.events} open ${d.correlator.open} absorbed ${d.correlator.absorbed} unpublished ${d.unpublishedEvents} central stores ${JSON.stringify(central.events.counts())}`;
    if (Number.isFinite(stormAt) && line !== lastLine) timeline.push(`+${Date.now() - stormAt} ms ${(lastLine = line)}`);
    void consumedOf().then((c) => {
      if (tGaspsAtCentral === 0 && Number.isFinite(stormAt) && c.anomalies - anomaliesBefore >= entries.length) {
        tGaspsAtCentral = Date.now();
        readingsAtCentralThen = c.readings;
        readingsSentThen = readingsSent;
      }
    });
  }, 100);
  cleanup.push(() => clearInterval(centralSampler));

  // The storm: every meter's last gasp within GASP_SPREAD_MS, and then silence from it.
  anomaliesBefore = (await consumedOf()).anomalies;
  stormAt = Date.now();
  let gaspsAcked = 0;
  const step = GASP_SPREAD_MS / swarm.meters.length;
  for (const [i, m] of swarm.meters.entries()) {
    powered.delete(m);
    void m.publishEvent('last_gasp', Date.now()).then((ok) => ok && gaspsAcked++);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, step * 50));
  }
  const tLastGasp = Date.now();
  gaspsPublished = true;
  const backlogAtStorm = edge.store.stats().depth;

  // The events topic: one substation outage event.
  const eventsTopic = topicNames(config).events;
  const isSubOutage = (v: Record<string, unknown>) => v.scope === 'substation' && v.type === 'outage' && v.rootId === sub;
  let tEvent = 0;
  const early = await readTopic(eventsTopic, (all) => {
    const hit = all.some((r) => isSubOutage(r.value));
    if (hit && tEvent === 0) tEvent = Date.now();
    return hit;
  }, { timeoutMs: EVENT_BOUND_MS + 30_000, settleMs: 0 });
  console.log(`[gasp] event ${tEvent ? `${tEvent - tLastGasp} ms after the last gasp` : 'not seen'}; gasps acked ${gaspsAcked}/${entries.length}; readings queued up to ${readingsQueuedMax}; lanes now ${JSON.stringify(edge.store.stats().byLane)}; control drained ${tControlDrained ? tControlDrained - tLastGasp : '-'} ms, readings ${tReadingsDrained ? tReadingsDrained - tLastGasp : '-'} ms after the last gasp; central had every gasp ${tGaspsAtCentral ? tGaspsAtCentral - tLastGasp : '-'} ms after the last gasp, with ${readingsAtCentralThen} of ${readingsSentThen} PUBACKed readings consumed; events topic ${early.length} records`);
  console.log(`[gasp] central timeline from the first gasp (last gasp at +${tLastGasp - stormAt} ms):\n${timeline.join('\n')}`);
  console.log(`[gasp] events: ${early.map((r) => `${String(r.value.scope)} ${String(r.value.rootId)} ${String(r.value.type)} ${String(r.value.state)} v${String(r.value.version)} n=${String(r.value.affectedCount)}`).join('; ')}`);
  expect(early.some((r) => isSubOutage(r.value))).toBe(true);
  const eventAfterMs = tEvent - tLastGasp;
  // Anything else the storm could still produce comes within another hold.
  await new Promise((r) => setTimeout(r, DEFAULT_CORRELATE_CONFIG.openHoldMs + 5000));
  clearInterval(flood);
  const all = await readTopic(eventsTopic, () => false, { timeoutMs: 5000, settleMs: 0 });
  const outageIds = new Set(all.filter((r) => r.value.type === 'outage' || r.value.type === 'silence').map((r) => `${String(r.value.scope)}:${String(r.value.eventId)}`));
  const subEvent = all.filter((r) => isSubOutage(r.value)).at(-1)!.value;
  expect(gaspsAcked).toBe(entries.length);
  expect([...outageIds]).toHaveLength(1);
  expect(Number(subEvent.affectedCount)).toBe(entries.length);
  expect(eventAfterMs).toBeLessThan(EVENT_BOUND_MS);
  // Readings were queued at the edge, and the gasps' anomalies left it ahead of readings committed before them.
  await until(() => tReadingsDrained > 0 || Date.now() - tLastGasp > 120_000, 125_000, 'the readings lane drained');
  clearInterval(lanes);
  expect(readingsQueuedMax).toBeGreaterThan(1000);
  expect(tControlDrained).toBeGreaterThan(0);
  expect(tReadingsDrained).toBeGreaterThan(0);
  // Readings batches that left after a gasp committed behind their oldest reading had gone.
  let newestGaspGone = 0;
  let overtakenBatches = 0;
  for (const r of removals) {
    if (r.lane === 'control') newestGaspGone = Math.max(newestGaspGone, r.gaspMax);
    else if (r.first < newestGaspGone) overtakenBatches++;
  }
  const gaspSends = removals.filter((r) => r.lane === 'control' && r.gaspMax > 0).length;
  console.log(`[gasp] outbox removals after the storm began: ${removals.length} (${gaspSends} with gasps); readings batches the gasps overtook: ${overtakenBatches}`);
  expect(gaspSends).toBeGreaterThan(0);
  expect(overtakenBatches).toBeGreaterThan(0);
  expect(tGaspsAtCentral).toBeGreaterThan(0);
  swarm.stop();

  return recordReliability({
    id: o.id,
    test: 'Storm: last gasps of a whole substation',
    fault: `${entries.length} last gasps (${FEEDERS} feeders × ${TRANSFORMERS_PER_FEEDER} transformers) sent over ${GASP_SPREAD_MS / 1000} s, just behind ${BURST} readings from every meter, readings of the others going on`,
    load: `${entries.length} meters (bare MQTT sockets), readings ~${Math.round(entries.length / 2)}/s before the storm; edge, central (default correlator, hold ${DEFAULT_CORRELATE_CONFIG.openHoldMs / 1000} s) and meters in one process`,
    lost: entries.length - gaspsAcked,
    duplicates: null,
    recoverySeconds: null,
    note: `one substation outage event (${String(subEvent.affectedCount)} meters), ${(eventAfterMs / 1000).toFixed(1)} s after the last gasp (bound ${EVENT_BOUND_MS / 1000} s; the gasps took ${((tLastGasp - stormAt) / 1000).toFixed(1)} s); ${outageIds.size} outage event id(s) in all; outbox ${backlogAtStorm} records at the last gasp (readings queued up to ${readingsQueuedMax}); the gasps' lane emptied ${((tReadingsDrained - tControlDrained) / 1000).toFixed(1)} s before the readings', the gasps overtook ${overtakenBatches} readings batches; central had every gasp ${((tGaspsAtCentral - tLastGasp) / 1000).toFixed(1)} s after the last, with ${readingsAtCentralThen} of ${readingsSentThen} readings consumed`,
    suite: o.suite,
  });
}
