// Issue 14 items 1 and 2, short: faults on the link between a real edge and Kafka (toxiproxy in
// front of a Kafka node of the test's own, SASL_SSL), under a paced QoS 1 flood through MQTT.
// Nothing PUBACKed is lost, order per meter holds, central's de-duplication (by readingId) leaves
// no duplicate; on 64 kbit/s anomalies and heartbeats arrive within the bound while readings
// queue; with a small disk budget only readings are evicted, exactly as grid.gaps says. One broker
// for the whole file (its start is most of the file's time). Long variants: link-faults.long.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReliability } from './record.ts';
import { startProxiedKafka, type ProxiedKafka } from './link-rig.ts';
import { describeFigures, linkFaults, runLinkFault, type LinkFigures } from './link-scenario.ts';
import { runDiskBudget } from './disk-budget.ts';

let k: ProxiedKafka;
beforeAll(async () => {
  k = await startProxiedKafka();
}, 300_000);
afterAll(async () => {
  await k?.stop();
});

function expectSafe(f: LinkFigures): void {
  expect(f.acked).toBeGreaterThan(1000);
  expect(f.lost).toBe(0);
  expect(f.probesLost).toBe(0);
  expect(f.outOfOrder).toBe(0);
  expect(f.duplicatesAfterDedup).toBe(0);
}

const LOAD = (rate: number) => `100 meters, ${rate} readings/s QoS 1 over 4 MQTT connections, a last gasp every 2 s, heartbeat every 2 s`;

interface FaultCase { id: string; test: string; key: 'latency' | 'cutReset' | 'cutTimeout' | 'halfOpen'; rate: number; faultMs: number }

/** One fault under the flood; `edgeEnv` picks the edge's settings (its producer client). */
function faultCase(c: FaultCase, edgeEnv: Record<string, string> = {}): void {
  it(`${c.test}: nothing PUBACKed lost, order per meter, no duplicates after de-duplication`, async () => {
    const fault = linkFaults(k)[c.key];
    const f = await runLinkFault(k, { label: c.id, rate: c.rate, meters: 100, faultMs: c.faultMs, fault, edgeEnv });
    recordReliability({ id: c.id, test: c.test, fault: `${fault.fault}, ${c.faultMs / 1000} s, SASL_SSL`, load: LOAD(c.rate), lost: f.lost, duplicates: f.duplicatesAfterDedup, recoverySeconds: f.drainSeconds, note: describeFigures(f), suite: 'short' });
    expectSafe(f);
    expect(f.ackedDuringFault).toBeGreaterThan(c.rate * (c.faultMs / 1000) * 0.5); // the intake never stalled on the link
    // A black hole keeps the TCP connection open: the unacknowledged send must still show as not connected.
    if (c.key === 'halfOpen') expect(f.notConnectedAfterSeconds).not.toBeNull();
    if (c.key === 'halfOpen') expect(f.notConnectedAfterSeconds!).toBeLessThan(12);
  });
}

/** 64 kbit/s: readings queue while anomalies and heartbeats get through. */
function slowLinkCase(o: { id: string; label: string; test: string; title: string }, edgeEnv: Record<string, string> = {}): void {
  it(o.title, async () => {
    const fault = linkFaults(k).bandwidth64k;
    const rate = 400;
    const f = await runLinkFault(k, { label: o.label, rate, meters: 100, faultMs: 20_000, fault, edgeEnv });
    recordReliability({ id: o.id, test: o.test, fault: `${fault.fault}, 20 s, SASL_SSL`, load: LOAD(rate), lost: f.lost, duplicates: f.duplicatesAfterDedup, recoverySeconds: f.drainSeconds, note: describeFigures(f), suite: 'short' });
    expectSafe(f);
    expect(f.heartbeats).toBeGreaterThan(5);
    expect(f.anomalyMaxSeconds).toBeLessThan(15);
    expect(f.heartbeatMaxSeconds).toBeLessThan(15);
  });
}

describe('link faults between edge and Kafka (toxiproxy, short)', () => {
  faultCase({ id: 'link-latency-800ms', test: 'Link faults: 800 ms latency with jitter', key: 'latency', rate: 200, faultMs: 15_000 });
  faultCase({ id: 'link-cut-reset', test: 'Link faults: cut, reset', key: 'cutReset', rate: 200, faultMs: 15_000 });
  faultCase({ id: 'link-cut-timeout', test: 'Link faults: cut, timeout', key: 'cutTimeout', rate: 200, faultMs: 15_000 });
  faultCase({ id: 'link-half-open', test: 'Link faults: half-open (black hole)', key: 'halfOpen', rate: 200, faultMs: 15_000 });
  slowLinkCase({ id: 'link-bandwidth-64k', label: 'link-64k', test: 'Link faults: 64 kbit/s', title: '64 kbit/s: readings queue, anomalies and heartbeats still arrive within 15 s' });
});

// The edge's second producer client (GRIDWATCH_FORWARD_CLIENT=platformatic, shared/kafka/producer.ts)
// through the faults that differ most for a client: a reset, a black hole, a slow link.
describe('link faults between edge and Kafka, producer client platformatic (toxiproxy, short)', () => {
  const edgeEnv = { GRIDWATCH_FORWARD_CLIENT: 'platformatic' };
  faultCase({ id: 'link-cut-reset-platformatic', test: 'Link faults: cut, reset (platformatic client)', key: 'cutReset', rate: 200, faultMs: 15_000 }, edgeEnv);
  faultCase({ id: 'link-half-open-platformatic', test: 'Link faults: half-open (black hole) (platformatic client)', key: 'halfOpen', rate: 200, faultMs: 15_000 }, edgeEnv);
  slowLinkCase({ id: 'link-bandwidth-64k-platformatic', label: 'link-64k-platformatic', test: 'Link faults: 64 kbit/s (platformatic client)', title: '64 kbit/s (platformatic client): readings queue, anomalies and heartbeats still arrive within 15 s' }, edgeEnv);
});

// The same client on a thread of its own (GRIDWATCH_FORWARD_CLIENT=platformatic-thread,
// shared/kafka/thread-producer.ts): its errors cross a thread, and its sends wait on another thread's sockets.
describe('link faults between edge and Kafka, producer client platformatic-thread (toxiproxy, short)', () => {
  const edgeEnv = { GRIDWATCH_FORWARD_CLIENT: 'platformatic-thread' };
  faultCase({ id: 'link-cut-reset-platformatic-thread', test: 'Link faults: cut, reset (platformatic-thread client)', key: 'cutReset', rate: 200, faultMs: 15_000 }, edgeEnv);
  faultCase({ id: 'link-half-open-platformatic-thread', test: 'Link faults: half-open (black hole) (platformatic-thread client)', key: 'halfOpen', rate: 200, faultMs: 15_000 }, edgeEnv);
  slowLinkCase({ id: 'link-bandwidth-64k-platformatic-thread', label: 'link-64k-platformatic-thread', test: 'Link faults: 64 kbit/s (platformatic-thread client)', title: '64 kbit/s (platformatic-thread client): readings queue, anomalies and heartbeats still arrive within 15 s' }, edgeEnv);
});

describe('disk budget through MQTT (short)', () => {
  it('link cut, flood on, 1 MiB budget: anomalies never evicted; readings lost to eviction are exactly the grid.gaps ranges', async () => {
    const d = await runDiskBudget(k, { label: 'disk-budget', rate: 500, meters: 100, cutMs: 20_000 });
    recordReliability({
      id: 'disk-budget-mqtt',
      test: 'Disk budget through MQTT',
      fault: 'link cut (proxy disabled) 20 s, outbox budget 1 MiB',
      load: LOAD(500),
      lost: d.unaccounted,
      duplicates: d.duplicatesAfterDedup,
      recoverySeconds: d.drainSeconds,
      note: `${d.acked} PUBACKed, ${d.inKafka} in Kafka, ${d.evicted} evicted = ${d.gapTotal} readings in ${d.gaps} gap records on grid.gaps; ${d.probes - d.anomaliesMissing}/${d.probes} last-gasp outages delivered`,
      suite: 'short',
    });
    expect(d.evicted).toBeGreaterThan(1000); // the budget was really reached
    expect(d.gapTotal).toBe(d.evicted); // to the reading
    expect(d.outsideGaps).toBe(0); // every missing reading lies in a gap range of its meter
    expect(d.inKafkaInsideGaps).toBe(0); // and no gap range covers a reading Kafka has
    expect(d.unaccounted).toBe(0);
    expect(d.anomaliesMissing).toBe(0);
    expect(d.duplicatesAfterDedup).toBe(0);
  });
});
