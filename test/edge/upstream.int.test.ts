import { afterAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { EdgeGateway } from '../../edge/gateway.ts';
import { testEndpoints } from '../harness/env.ts';
import { connectMqtt, consumeTopic, edgeTestConfig, startEdge, testPrefix, waitFor } from './helpers.ts';

// The alternative intake: subscribed to an existing broker (the harness's Mosquitto) at QoS 1.
const stop: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stop.reverse()) await s();
});

describe('edge with an upstream broker (real Mosquitto, real Kafka)', () => {
  it('takes readings from Mosquitto and forwards them, rejecting bad ones', async () => {
    const prefix = testPrefix('edge-up');
    const mosquitto = testEndpoints().mqttUrl;
    const edge: EdgeGateway = await startEdge(edgeTestConfig(prefix, { GRIDWATCH_MQTT_MODE: 'upstream', GRIDWATCH_MQTT_UPSTREAM_URL: mosquitto }));
    stop.push(() => edge.stop());
    await waitFor(() => edge.readiness().ready, 10_000, 'upstream connected');
    await new Promise((r) => setTimeout(r, 300)); // subscription acknowledged
    const meter: MqttClient = await connectMqtt(mosquitto, { clientId: `${prefix}-meter` });
    stop.push(() => meter.endAsync(true));
    const now = Date.now();
    for (let seq = 0; seq < 200; seq++) {
      await meter.publishAsync(`meters/${prefix}-m/reading`, JSON.stringify({ meterId: `${prefix}-m`, seq, ts: now + seq, voltage: 230 }), { qos: 1 });
    }
    await meter.publishAsync(`meters/${prefix}-m/reading`, '{"not json', { qos: 1 });
    await waitFor(() => edge.intake.counts.accepted === 200 && edge.intake.counts.rejected.invalid_json === 1, 30_000, 'readings taken from upstream');
    const got = await consumeTopic(`${prefix}.grid.readings`, (all) => all.length >= 200, { settleMs: 500 });
    expect(got.map((r) => r.value.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
