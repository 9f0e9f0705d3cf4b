// The flood against real brokers: an embedded aedes (what the edge runs) and Mosquitto from the
// harness. A subscriber counts every message that arrives.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { validators } from '../../shared/index.ts';
import { flood } from '../../simulator/flood.ts';
import { createSimulation } from '../../simulator/generate.ts';
import { generateTopology } from '../../simulator/topology.ts';
import { testEndpoints, uniqueName } from '../harness/env.ts';

const FROM = Date.UTC(2026, 10, 23, 12, 0, 0);
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function startAedes(opts: AedesOptions = {}): Promise<string> {
  const broker = await Aedes.createBroker(opts);
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });
  return `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Counter {
  messages: number;
  readings: number;
  events: number;
  invalid: number;
  meters: Set<string>;
  until(messages: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes (QoS 1) to every simulator topic and counts what arrives; only `meters` ids count. */
async function counter(url: string, meterIds: Set<string>): Promise<Counter> {
  const client: MqttClient = await mqtt.connectAsync(url, { clientId: uniqueName('count'), reconnectPeriod: 0 });
  const c: Counter = {
    messages: 0,
    readings: 0,
    events: 0,
    invalid: 0,
    meters: new Set(),
    until: (n, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const start = Date.now();
        const check = () => (c.messages >= n ? resolve() : Date.now() - start > timeoutMs ? reject(new Error(`only ${c.messages}/${n} messages arrived`)) : setTimeout(check, 20));
        check();
      }),
    close: () => client.endAsync(),
  };
  client.on('message', (topic, payload) => {
    const value = JSON.parse(payload.toString()) as unknown;
    const list = topic.startsWith('concentrators/') ? (value as unknown[]) : [value];
    const first = list[0] as { meterId?: string } | undefined;
    if (!first?.meterId || !meterIds.has(first.meterId)) return; // someone else's traffic
    c.messages++;
    for (const v of list) {
      if (topic.endsWith('/event')) {
        c.events++;
        if (!validators.meterEvent.check(v)) c.invalid++;
      } else {
        c.readings++;
        if (!validators.reading.check(v)) c.invalid++;
        c.meters.add((v as { meterId: string }).meterId);
      }
    }
  });
  await client.subscribeAsync(['meters/+/reading', 'meters/+/event', 'concentrators/+/readings'], { qos: 1 });
  return c;
}

const topo = generateTopology({ meters: 120, seed: 21, substations: 2 }).actual;
const meterIds = new Set(topo.map((e) => e.meterId));
const sim = () =>
  createSimulation({ topology: topo, from: FROM, to: FROM + 5 * 60_000, intervalMs: 10_000, seed: 2, faults: [{ type: 'outage', scope: 'transformer', target: topo[0]!.transformerId, start: '1m', duration: '3m' }] });

describe('flood', () => {
  it('QoS 1, one connection per meter (capped), embedded aedes: every message arrives', async () => {
    const url = await startAedes();
    const c = await counter(url, meterIds);
    const s = sim();
    const expected = [...s.items()].length;
    const report = await flood({ brokers: [url], items: s.items(), from: FROM, intervalMs: 10_000, qos: 1, maxConnections: 16, clientIdPrefix: uniqueName('fl') });
    await c.until(expected);
    await c.close();
    expect(report).toMatchObject({ sent: expected, acked: expected, errors: 0, connections: 16 });
    expect(c.messages).toBe(expected);
    expect(c.invalid).toBe(0);
    expect(c.events).toBeGreaterThan(0);
    expect(report.publishLatencyMs.p50).not.toBeNull();
    expect(report.ratePerSec).toBeGreaterThan(0);
  });

  it('QoS 1, concentrators sending arrays, spread over two brokers by substation', async () => {
    const urls = [await startAedes(), await startAedes()];
    const counters = [await counter(urls[0]!, meterIds), await counter(urls[1]!, meterIds)];
    const s = sim();
    const items = [...s.items()];
    const readings = items.filter((i) => i.kind === 'reading').length;
    const report = await flood({ brokers: urls, substations: ['sub-02', 'sub-01'], items, from: FROM, intervalMs: 10_000, qos: 1, connection: 'concentrator', clientIdPrefix: uniqueName('fl') });
    expect(report.errors).toBe(0);
    expect(report.readings).toBe(readings);
    const deadline = Date.now() + 30_000;
    while (counters[0]!.readings + counters[1]!.readings < readings && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(counters.map((c) => c.close()));
    expect(counters[0]!.readings + counters[1]!.readings).toBe(readings);
    expect(counters[0]!.messages + counters[1]!.messages).toBe(report.sent);
    expect(report.sent).toBeLessThan(readings / 5); // arrays, not one message per reading
    // each broker got exactly one substation's meters
    const subOf = (m: string) => topo.find((e) => e.meterId === m)!.substationId;
    const subs = counters.map((c) => new Set([...c.meters].map(subOf)));
    expect(subs.map((s) => [...s])).toEqual([['sub-01'], ['sub-02']]);
  });

  it('per-device credentials: username is the meter id', async () => {
    const seen = new Set<string>();
    const url = await startAedes({
      authenticate: (_client, username, password, done) => {
        const ok = username !== undefined && (meterIds.has(username) || username.startsWith('count-')) && password?.toString() === 's3cret';
        if (ok && meterIds.has(username)) seen.add(username);
        done(null, ok);
      },
    });
    const small = generateTopology({ meters: 10, seed: 1 }).actual;
    const s = createSimulation({ topology: small, from: FROM, to: FROM + 30_000, intervalMs: 10_000, seed: 1 });
    const report = await flood({ brokers: [url], items: s.items(), from: FROM, intervalMs: 10_000, qos: 1, auth: { perDevice: true, password: 's3cret' }, clientIdPrefix: uniqueName('fl') });
    expect(report).toMatchObject({ sent: 30, acked: 30, errors: 0, connections: 10 });
    expect(seen.size).toBe(10);
    await expect(flood({ brokers: [url], items: s.items(), from: FROM, intervalMs: 10_000, maxConnections: 5, auth: { perDevice: true, password: 's3cret' } })).rejects.toThrow(/connections/);
  });

  it('paces by event time in fast-forward mode and honours a target rate', async () => {
    const url = await startAedes();
    const small = generateTopology({ meters: 20, seed: 1 }).actual;
    const paced = await flood({ brokers: [url], items: createSimulation({ topology: small, from: FROM, to: FROM + 60_000, intervalMs: 10_000, seed: 1 }).items(), from: FROM, intervalMs: 10_000, qos: 0, mode: 'fast', speed: 60 });
    expect(paced.sent).toBe(120);
    expect(paced.durationMs).toBeGreaterThan(800); // 60 s of event time at 60x
    const limited = await flood({ brokers: [url], items: createSimulation({ topology: small, from: FROM, to: FROM + 100_000, intervalMs: 10_000, seed: 1 }).items(), from: FROM, intervalMs: 10_000, qos: 1, rate: 400 });
    expect(limited.sent).toBe(200);
    expect(limited.durationMs).toBeGreaterThan(300);
    expect(limited.ratePerSec).toBeLessThan(600);
  });

  it('counts distinct readings apart from repeats, and a broker that dies and comes back as connection errors on its URL only', async () => {
    // A broker of its own on a fixed port that can be cut (every socket destroyed, as kill -9 of a
    // gateway does) and started again on the same port, like a restarted edge.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const arrived: unknown[][] = [];
    const up = async () => {
      const broker = await Aedes.createBroker();
      broker.on('publish', (packet, client) => void (client && arrived.push(JSON.parse(packet.payload.toString()) as unknown[])));
      const sockets = new Set<Socket>();
      const server = createServer((sock) => {
        sockets.add(sock);
        sock.once('close', () => sockets.delete(sock));
        broker.handle(sock);
      });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      return async () => {
        for (const sock of sockets) sock.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      };
    };
    const steady = await startAedes();
    let cut = await up();
    const flaky = `mqtt://127.0.0.1:${port}`;
    const s = createSimulation({ topology: topo, from: FROM, to: FROM + 5 * 60_000, intervalMs: 10_000, seed: 2, delivery: { duplicateShare: 0.1 } });
    const items = [...s.items()];
    const readings = items.filter((i) => i.kind === 'reading');
    const repeats = readings.filter((i) => i.repeat).length;
    expect(repeats).toBeGreaterThan(0);
    // Same meter and seq as a reading delivered before it.
    const firstSeen = new Set<string>();
    for (const i of readings) {
      if (i.kind !== 'reading') continue;
      const id = `${i.reading.meterId}:${String(i.reading.seq)}`;
      expect(firstSeen.has(id)).toBe(i.repeat === true);
      firstSeen.add(id);
    }
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      await cut();
      await new Promise((r) => setTimeout(r, 1500));
      cut = await up();
    })();
    closers.push(() => cut());
    // 5 min of event time in about 5 s, concentrators' arrays; sub-01 to the steady broker, sub-02 to the flaky one.
    const report = await flood({ brokers: [steady, flaky], substations: ['sub-01', 'sub-02'], items, from: FROM, intervalMs: 10_000, qos: 1, mode: 'fast', speed: 60, connection: 'concentrator', clientIdPrefix: uniqueName('fl') });
    await outage;
    expect(report.readings).toBe(readings.length);
    expect(report.distinctReadings).toBe(readings.length - repeats);
    // QoS 1 publishes caught by the cut are sent again on reconnect: all acknowledged in the end.
    expect(report.readingsAcked).toBe(report.readings);
    expect(report.distinctReadingsAcked).toBe(report.distinctReadings);
    expect(report.errorsByBroker[steady]).toEqual({ connection: 0, publish: 0 });
    expect(report.errorsByBroker[flaky]!.connection).toBeGreaterThan(0);
    expect(report.errorsByBroker[flaky]!.publish).toBe(0);
    expect(report.errors).toBe(report.errorsByBroker[flaky]!.connection);
    expect(arrived.length).toBeGreaterThan(0);
  });

  it('QoS 1 against Mosquitto from the harness: every message arrives', async () => {
    const url = testEndpoints().mqttUrl;
    const c = await counter(url, meterIds);
    const s = sim();
    const expected = [...s.items()].length;
    // Mosquitto queues at most 1000 messages per subscriber (max_queued_messages) and drops the
    // rest; the counting subscriber shares this process with the flood, so the flood is paced to
    // keep the counter, not the flood, from being what is measured.
    const report = await flood({ brokers: [url], items: s.items(), from: FROM, intervalMs: 10_000, qos: 1, rate: 1500, maxConnections: 16, clientIdPrefix: uniqueName('fl') });
    await c.until(expected);
    await c.close();
    expect(report).toMatchObject({ sent: expected, acked: expected, errors: 0 });
    expect(c.messages).toBe(expected);
    expect(c.invalid).toBe(0);
  });
});
