import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { EdgeGateway } from '../../edge/gateway.ts';
import { connectMqtt, consumeTopic, edgeTestConfig, startEdge, testPrefix, waitFor } from './helpers.ts';

// (a) 10,000 QoS 1 readings from many meters reach Kafka exactly once by (meterId, seq), in order per meter.
const stop: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stop.reverse()) await s();
});

describe('edge delivery (real MQTT clients, real Kafka)', () => {
  it('delivers 10,000 QoS 1 readings from 200 meters exactly once and in order per meter', async () => {
    const prefix = testPrefix('edge-a');
    const edge: EdgeGateway = await startEdge(edgeTestConfig(prefix));
    stop.push(() => edge.stop());
    const url = `mqtt://127.0.0.1:${edge.mqttAddresses.tcp}`;
    const meters = 200;
    const perMeter = 50;
    const clients: MqttClient[] = [];
    for (let i = 0; i < 4; i++) clients.push(await connectMqtt(url, { clientId: `${prefix}-c${i}` }));
    stop.push(async () => Promise.all(clients.map((c) => c.endAsync(true))));
    const t0 = Date.now() - perMeter * 1000;
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < perMeter; seq++) {
      for (let m = 0; m < meters; m++) {
        const meterId = `${prefix}-m${m}`;
        const client = clients[m % clients.length]!;
        const payload = JSON.stringify({ meterId, seq, ts: t0 + seq * 1000, voltage: 230 + (seq % 3) * 0.2 });
        sends.push(client.publishAsync(`meters/${meterId}/reading`, payload, { qos: 1 }));
      }
    }
    await Promise.all(sends); // every PUBACK: committed
    expect(edge.intake.counts.accepted).toBe(meters * perMeter);
    await waitFor(() => edge.store.stats().byLane.readings === 0, 60_000, 'outbox drained to Kafka');

    const got = await consumeTopic(`${prefix}.grid.readings`, (all) => all.length >= meters * perMeter, { timeoutMs: 60_000, settleMs: 2000 });
    const ids = got.map((r) => `${String(r.value.meterId)}:${String(r.value.seq)}`);
    expect(new Set(ids).size).toBe(meters * perMeter);
    expect(got).toHaveLength(meters * perMeter);
    const lastSeq = new Map<string, number>();
    for (const r of got) {
      const id = r.value.meterId as string;
      expect(r.key).toBe(id);
      expect(r.value.readingId).toBe(`${id}:${String(r.value.seq)}`);
      expect(r.value.edgeId).toBe(prefix.slice(0, 60));
      expect(r.value.seq as number).toBeGreaterThan(lastSeq.get(id) ?? -1);
      lastSeq.set(id, r.value.seq as number);
    }
  });
});
