// End to end: the demo's pipeline, smaller. The simulator floods three edge gateways (real aedes,
// QoS 1) with the demo scenario in real time; the edges detect and forward to the real Kafka;
// one central correlates, archives to the real MinIO and writes to the real InfluxDB. Then:
//   - every injected grid-level fault is reported at its scope and root;
//   - every reading sent is in Kafka and in the archive exactly once, although the simulator sends
//     some readings twice (--duplicates) and one edge is killed with kill -9 mid-run and started
//     again on its data directory (so records it had forwarded but not yet marked go to Kafka again);
//   - precision and recall meet the thresholds stated in README.md ("End-to-end thresholds").
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { archiveCensus } from '../../cli/demo/archive-census.ts';
import { DEFAULT_SCENARIO, runDemo } from '../../cli/demo/run.ts';
import { formatReport } from '../../simulator/score-main.ts';
import { serviceEndpoints } from '../../deploy/services/index.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';

/** The thresholds README.md states; change both together. */
export const THRESHOLDS = {
  gridEventRecall: 1, // every grid-level fault (transformer, feeder, substation, grid) found ...
  rootAttribution: 1, // ... at its own scope and root
  eventPrecision: 0.8, // grid events: at most 1 in 5 without a fault behind it
  anomalyRecall: 0.9, // (fault, meter) pairs with an anomaly of the expected class
  anomalyPrecision: 0.9, // anomalies that belong to a fault
  eventsPerFault: 1.2, // alarm floods: about one event per fault (1.0 is the goal)
  meterEventsUnderDeviceEvent: 0, // no meter event while a device event covers its meter
} as const;

const GRID_SCOPES = new Set(['transformer', 'feeder', 'substation', 'grid']);
/** Share of readings the simulator sends twice (the second copy with the same meter and seq). */
const DUPLICATE_SHARE = 0.02;
/** edge-sub-02 gets kill -9 40 s after it took its first readings (the detectors' warm-up is 0-70 s), then starts again. */
const KILL = { index: 1, atMs: 40_000 };

describe('end to end: simulator -> 3 edges -> Kafka -> central -> events, MinIO, InfluxDB', () => {
  it('reports every grid-level fault at its root, archives every reading exactly once, and meets the thresholds', { timeout: 600_000 }, async () => {
    const endpoints = testEndpoints();
    const runId = uniqueName('e2e');
    const lines: string[] = [];
    const result = await runDemo({
      // SASL_SSL whatever the suite's own mode: edges as User:edge, central as User:central (cli/demo/kafka.ts).
      endpoints: { kafka: serviceEndpoints().kafkaSecure!, s3: endpoints.s3, influx: endpoints.influx },
      meters: 600,
      substations: 3,
      seed: 7,
      intervalMs: 1000,
      durationMs: 300_000,
      scenario: DEFAULT_SCENARIO,
      runId,
      runDir: mkdtempSync(join(tmpdir(), 'gridwatch-e2e-')),
      centralPort: 0,
      influxDatabase: runId.replace(/-/g, '_'),
      toleranceMs: 20_000,
      duplicateShare: DUPLICATE_SHARE,
      killEdge: KILL,
      log: (line) => lines.push(line),
    });
    const r = result.report;
    // The score goes into the test output (and CI's log) whether the test passes or not.
    console.log(`end-to-end score (${result.flood?.readings ?? 0} readings, ${result.detections.anomalies.length} anomaly records, ${result.detections.events.length} grid event records):\n${formatReport(r)}`);
    const why = `\n${lines.join('\n')}\nper fault: ${JSON.stringify(r.perFault, null, 1)}`;

    // Each program ran as its own Kafka principal over SASL_SSL with its client certificate.
    const logOf = (name: string) => readFileSync(join(result.runDir, 'logs', `${name}.log`), 'utf8');
    for (const edge of ['edge-sub-01', 'edge-sub-02', 'edge-sub-03']) expect(logOf(edge)).toContain('"kafka":"SASL_SSL scram-sha-512 as user edge (client certificate)"');
    expect(logOf('central')).toContain('"kafka":"SASL_SSL scram-sha-512 as user central (client certificate)"');

    // The kill happened: edge-sub-02 ended by SIGKILL and came back.
    expect(result.killed, why).toMatchObject({ edge: 'edge-sub-02', exit: 'SIGKILL' });
    console.log(`end-to-end kill: ${result.killed!.edge} kill -9 ${Math.round(result.killed!.atMs / 1000)} s after its first readings, ready again after ${(result.killed!.downMs / 1000).toFixed(1)} s`);
    // Every process ended cleanly (SIGTERM -> 0), the restarted edge too. The simulator exits 1
    // because it counted errors: the killed gateway's dropped connections (one per connection the
    // kill closed, counted whether or not a reconnect was refused) and refused reconnects (below).
    expect(result.exits, why).toMatchObject({ simulator: 1, central: 0, 'edge-sub-01': 0, 'edge-sub-02': 0, 'edge-sub-03': 0 });

    // The flood: its only errors are the killed gateway's connection drops (a reset at the kill,
    // refused reconnects while it was down); no publish failed, on any gateway.
    const flood = result.flood!;
    expect(flood, why).not.toBeNull();
    const killedUrl = result.killed!.mqttUrl;
    const dropped = flood.errorsByBroker[killedUrl]!;
    expect(dropped.connection, `${flood.lastError}`).toBeGreaterThan(0);
    expect(dropped.publish).toBe(0);
    expect(flood.errors).toBe(dropped.connection);
    for (const [url, e] of Object.entries(flood.errorsByBroker)) if (url !== killedUrl) expect(e, url).toEqual({ connection: 0, publish: 0 });

    // Readings: some were sent twice; every distinct one was PUBACKed, and is archived exactly once.
    expect(flood.distinctReadings).toBeGreaterThan(100_000);
    expect(flood.readings - flood.distinctReadings).toBeGreaterThan(DUPLICATE_SHARE * flood.distinctReadings * 0.5);
    expect(flood.distinctReadingsAcked).toBe(flood.distinctReadings);
    expect(flood.readingsAcked).toBe(flood.readings);
    // Kafka holds each at least once (the killed edge may send what it had forwarded but not marked again) ...
    expect(result.readingsInKafka).toBeGreaterThanOrEqual(flood.distinctReadings);
    console.log(`end-to-end readings: ${flood.readings} sent, ${flood.distinctReadings} distinct and PUBACKed, ${result.readingsInKafka} records in Kafka`);
    // ... and the archive exactly once.
    const census = await archiveCensus(result.archive, endpoints.s3);
    expect(census.readings.duplicates).toBe(0);
    expect(census.readings.distinct).toBe(flood.distinctReadings);
    expect(census.readings.records).toBe(flood.distinctReadings);
    expect(census.anomalies.duplicates).toBe(0);
    expect(census.anomalies.records).toBe(result.detections.anomalies.length);
    expect(census.events.records).toBeGreaterThan(0);

    // Every grid-level fault: found, at its own scope and root.
    const gridFaults = result.truth.filter((f) => GRID_SCOPES.has(f.scope));
    expect(gridFaults.map((f) => f.scope).sort()).toEqual(['feeder', 'grid', 'substation', 'transformer']);
    for (const f of gridFaults) {
      const pf = r.perFault.find((p) => p.faultId === f.faultId);
      expect(pf, `${f.faultId}${why}`).toMatchObject({ detected: true, rootCorrect: true });
    }
    const gridEvents = result.detections.events.filter((e) => e.scope === 'grid');
    expect(new Set(gridEvents.map((e) => e.eventId)).size, why).toBe(1);

    // The thresholds.
    const gridRecall = gridFaults.filter((f) => r.perFault.find((p) => p.faultId === f.faultId)?.detected).length / gridFaults.length;
    expect(gridRecall).toBeGreaterThanOrEqual(THRESHOLDS.gridEventRecall);
    expect(r.rootAttribution.accuracy ?? 0, why).toBeGreaterThanOrEqual(THRESHOLDS.rootAttribution);
    expect(r.eventTotal.precision ?? 0, why).toBeGreaterThanOrEqual(THRESHOLDS.eventPrecision);
    expect(r.anomalyTotal.recall ?? 0, why).toBeGreaterThanOrEqual(THRESHOLDS.anomalyRecall);
    expect(r.anomalyTotal.precision ?? 0, why).toBeGreaterThanOrEqual(THRESHOLDS.anomalyPrecision);
    expect(r.flood.eventsPerFault ?? Infinity, why).toBeLessThanOrEqual(THRESHOLDS.eventsPerFault);
    expect(r.flood.meterEventsUnderDeviceEvent, why).toBeLessThanOrEqual(THRESHOLDS.meterEventsUnderDeviceEvent);

    // InfluxDB (a database of this run's own): the per-feeder one-minute aggregates count every
    // reading once, and the grid events are there.
    const query = new InfluxDB({ url: endpoints.influx.url, token: endpoints.influx.token }).getQueryApi(endpoints.influx.org);
    const total = async (measurement: string, field: string, fn: 'sum' | 'count') =>
      (await query.collectRows<{ _value: number }>(`from(bucket: "${result.influxBucket}") |> range(start: 2000-01-01T00:00:00Z) |> filter(fn: (r) => r._measurement == "${measurement}" and r._field == "${field}") |> group() |> ${fn}()`))[0]?._value ?? 0;
    expect(await total('feeder_1m', 'readings', 'sum'), why).toBe(flood.distinctReadings);
    expect(await total('grid_event', 'affectedCount', 'count'), why).toBeGreaterThan(0);
  });
});
