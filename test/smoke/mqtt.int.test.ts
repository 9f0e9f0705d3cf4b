// Publish and receive with the mqtt client through Mosquitto (from the harness) and through an
// embedded aedes broker (what the edge gateway runs), each on its own topic.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../harness/env.ts';

/** Subscribes, publishes `payloads` with QoS 1 from a second client, and returns what arrived. */
async function roundTrip(url: string, payloads: string[]): Promise<{ topic: string; received: string[] }> {
  const topic = `meters/${uniqueName('smoke-meter')}/reading`;
  const subscriber: MqttClient = await mqtt.connectAsync(url, { clientId: uniqueName('sub'), reconnectPeriod: 0 });
  const publisher: MqttClient = await mqtt.connectAsync(url, { clientId: uniqueName('pub'), reconnectPeriod: 0 });
  try {
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      subscriber.on('message', (t, payload) => {
        if (t !== topic) return;
        received.push(payload.toString());
        if (received.length === payloads.length) resolve();
      });
    });
    await subscriber.subscribeAsync(topic, { qos: 1 });
    for (const p of payloads) await publisher.publishAsync(topic, p, { qos: 1 });
    await all;
    return { topic, received };
  } finally {
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
  }
}

const readings = Array.from({ length: 10 }, (_, seq) => JSON.stringify({ meterId: 'm-1', ts: Date.now(), seq, voltage: 230 + seq / 10 }));

describe('mqtt smoke', () => {
  it('publishes and receives through Mosquitto', async () => {
    const { received } = await roundTrip(testEndpoints().mqttUrl, readings);
    expect(received).toEqual(readings);
  });

  describe('embedded aedes', () => {
    let broker: Aedes | undefined;
    let server: Server | undefined;

    afterAll(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
    });

    it('publishes and receives through an aedes broker on an ephemeral port', async () => {
      broker = await Aedes.createBroker();
      const srv = createServer(broker.handle);
      server = srv;
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      const { port } = srv.address() as AddressInfo;
      const { received } = await roundTrip(`mqtt://127.0.0.1:${port}`, readings);
      expect(received).toEqual(readings);
    });
  });
});
