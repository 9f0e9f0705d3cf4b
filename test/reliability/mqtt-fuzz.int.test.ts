import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { MQTT_REFUSALS } from '../../edge/ingest/broker.ts';
import { connectMqtt, edgeTestConfig, startEdge, testPrefix, waitFor } from '../edge/helpers.ts';
import { fuzzCases, mutatedPackets, runCase, type FuzzCase, type FuzzOutcome } from './mqtt-fuzz.ts';
import { kafkaSecurityEnv, readTopic } from './kafka.ts';
import { recordReliability } from './record.ts';

// Issue 14 (8): hostile MQTT at the packet level against the edge's embedded aedes broker, while
// honest meters keep publishing: the broker stays up, the honest readings all reach Kafka, and
// every refusal is counted by its reason (edge_mqtt_refused_total, edge_readings_rejected_total).
const stop: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stop.reverse()) await s().catch(() => undefined);
});

async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

function metricValues(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^gridwatch_${name}\\{[^}]*reason="([a-z_]+)"[^}]*\\} (\\d+)`).exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

describe('hostile MQTT packets against the embedded broker (real sockets, real Kafka)', () => {
  it('closes or negates every hostile packet, counts each by reason, and keeps honest meters flowing', async () => {
    const t0 = Date.now();
    const prefix = testPrefix('fuzz');
    const edge = await startEdge(edgeTestConfig(prefix, { GRIDWATCH_MQTT_MAX_PACKET_BYTES: '65536', ...kafkaSecurityEnv() }));
    stop.push(() => edge.stop());
    const port = edge.mqttAddresses.tcp;
    const url = `mqtt://127.0.0.1:${port}`;

    // Honest meters publish at QoS 1 from start to end; each PUBACK is counted.
    const honestMeters = [0, 1, 2].map((i) => `${prefix}-h${i}`);
    const acked = new Map(honestMeters.map((m) => [m, 0]));
    let closedHonest = 0;
    let running = true;
    const clients: MqttClient[] = [];
    for (const m of honestMeters) {
      const c = await connectMqtt(url, { clientId: m });
      c.on('close', () => closedHonest++);
      clients.push(c);
      stop.push(() => c.endAsync(true));
    }
    const honest = clients.map(async (c, i) => {
      const meterId = honestMeters[i]!;
      try {
        for (let seq = 0; running; seq++) {
          await c.publishAsync(`meters/${meterId}/reading`, JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230 }), { qos: 1 });
          acked.set(meterId, seq + 1);
          await new Promise((r) => setTimeout(r, 5));
        }
      } catch (err) {
        if (running) throw err;
      }
    });
    stop.push(async () => {
      running = false;
      await Promise.allSettled(honest);
    });

    // Phase 1: cases with a stated outcome, 40 connections at a time.
    const cases: FuzzCase[] = fuzzCases(14, 12, `${prefix}-f`);
    const mqttBefore = { ...edge.mqttRefusals! };
    const intakeBefore = { ...edge.intake.counts.rejected };
    const outcomes: FuzzOutcome[] = await pool(cases, 40, (c) => runCase(port, c.chunks, { abort: c.abort ?? false, waitMs: c.expect.closes ? 14_000 : 8_000, ...(c.kind === 'subscribe' ? { until: (o: FuzzOutcome) => o.suback !== null } : {}) }));
    for (const [i, c] of cases.entries()) {
      const o = outcomes[i]!;
      expect({ kind: c.kind, closed: o.closedByServer }).toEqual({ kind: c.kind, closed: c.expect.closes });
      if (c.kind === 'subscribe') expect(o.suback?.every((g) => g === 0x80)).toBe(true);
      if (c.kind === 'oversized_properties') expect(o.connack).toBe(1);
    }
    const expectedMqtt: Record<string, number> = Object.fromEntries(MQTT_REFUSALS.map((r) => [r, 0]));
    const expectedIntake: Record<string, number> = {};
    for (const c of cases) {
      for (const [r, n] of Object.entries(c.expect.mqtt ?? {})) expectedMqtt[r] = (expectedMqtt[r] ?? 0) + n;
      for (const [r, n] of Object.entries(c.expect.intake ?? {})) expectedIntake[r] = (expectedIntake[r] ?? 0) + n;
    }
    // Wills fire when aedes notices the abort; give the last ones a moment.
    await waitFor(() => edge.intake.counts.rejected.unknown_topic - intakeBefore.unknown_topic >= (expectedIntake.unknown_topic ?? 0), 10_000, 'the forbidden wills refused');
    const mqttDelta = Object.fromEntries(MQTT_REFUSALS.map((r) => [r, edge.mqttRefusals![r] - mqttBefore[r]]));
    expect(mqttDelta).toEqual(expectedMqtt);
    const intakeDelta = Object.fromEntries(Object.entries(edge.intake.counts.rejected).map(([r, n]) => [r, n - intakeBefore[r as keyof typeof intakeBefore]]).filter(([, n]) => n !== 0));
    expect(intakeDelta).toEqual(expectedIntake);

    // Phase 2: random byte flips in valid packets: no stated outcome, the gateway must survive.
    const honestBefore = [...acked.values()].reduce((a, b) => a + b, 0);
    const mutated = mutatedPackets(1414, 160, `${prefix}-x`);
    await pool(mutated, 40, (chunks) => runCase(port, chunks, { waitMs: 3_500 }));
    const honestDuring = [...acked.values()].reduce((a, b) => a + b, 0) - honestBefore;
    expect(honestDuring).toBeGreaterThan(50);

    running = false;
    await Promise.all(honest);
    expect(closedHonest).toBe(0);
    expect(edge.readiness().ready).toBe(true);
    expect(edge.intake.counts.accepted).toBeGreaterThanOrEqual(honestBefore);

    // The counts are what /metrics exports.
    const text = await (await fetch(`http://127.0.0.1:${edge.httpPort}/metrics`)).text();
    const exported = metricValues(text, 'edge_mqtt_refused_total');
    for (const r of MQTT_REFUSALS) expect({ r, n: exported[r] ?? 0 }).toEqual({ r, n: edge.mqttRefusals![r] });

    // Every honest PUBACK is in Kafka, once, in order per meter.
    const sent = [...acked.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => edge.store.stats().depth === 0, 60_000, 'outbox drained');
    const readings = await readTopic(`${prefix}.grid.readings`, (all) => all.filter((r) => honestMeters.includes(String(r.value.meterId))).length >= sent, { settleMs: 1000 });
    let lost = 0;
    let duplicates = 0;
    for (const m of honestMeters) {
      const seqs = readings.filter((r) => r.value.meterId === m).map((r) => Number(r.value.seq));
      lost += acked.get(m)! - new Set(seqs).size;
      duplicates += seqs.length - new Set(seqs).size;
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);

    const total = MQTT_REFUSALS.reduce((n, r) => n + edge.mqttRefusals![r], 0);
    recordReliability({
      id: 'mqtt-fuzz',
      test: 'Hostile MQTT packets (fuzzer on mqtt-packet)',
      fault: `${cases.length} stated cases (remaining length, truncated, invalid UTF-8 topic, QoS 3, oversized/malformed properties, wildcard and $SYS subscriptions, wills on forbidden topics) + ${mutated.length} random byte flips, 40 connections at a time`,
      load: `3 honest meters at QoS 1 throughout (${sent} readings)`,
      lost,
      duplicates: null,
      recoverySeconds: null,
      note: `broker up, 0 honest disconnects; ${total} protocol refusals counted (${MQTT_REFUSALS.map((r) => `${r} ${edge.mqttRefusals![r]}`).join(', ')}); ${Math.round((Date.now() - t0) / 1000)} s`,
      suite: 'short',
    });
  });
});
