import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { EmbeddedBroker } from '../../../edge/ingest/broker.ts';
import type { CommitUnit } from '../../../edge/ingest/ports.ts';
import { MemoryCommitter, startBroker } from './helpers.ts';

/**
 * The read cap of edge/ingest/inflight.ts: a connection at the bound reads a few publishes, not
 * the whole socket buffer. Each device writes its whole burst in one socket write, so the gateway
 * finds hundreds of publishes buffered per connection: what the fleet benchmark's connections
 * have buffered while the gateway is behind.
 */

/** A slow store: every commit completes `ms` later (one at a time, in order), like an fsync-bound disk. */
class SlowCommitter extends MemoryCommitter {
  private tail = Promise.resolve();
  constructor(private readonly ms: number) {
    super();
  }
  override submit(unit: CommitUnit, done: (err?: Error) => void): void {
    this.tail = this.tail.then(() => new Promise<void>((r) => setTimeout(r, this.ms))).then(() => super.submit(unit, done));
  }
}

interface Device {
  sock: net.Socket;
  acks: Set<number>;
  closed: boolean;
}

const open: (net.Socket | EmbeddedBroker)[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await (x instanceof net.Socket ? x.destroy() : x.close());
});

async function device(url: string, id: string): Promise<Device> {
  const sock = net.connect(Number(new URL(url).port), '127.0.0.1');
  open.push(sock);
  const d: Device = { sock, acks: new Set(), closed: false };
  const parser = mqttPacket.parser();
  let connack = false;
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') connack = true;
    if (p.cmd === 'puback' && p.messageId !== undefined) d.acks.add(p.messageId);
  });
  sock.on('data', (b) => parser.parse(b));
  sock.on('close', () => (d.closed = true));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: id, keepalive: 30 }));
  await until(() => connack, `CONNACK for ${id}`);
  return d;
}

const until = async (cond: () => boolean, what: string, tries = 400) => {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`never: ${what}`);
};

/** n QoS 1 publishes in ONE socket write: they arrive together and sit in the gateway's socket buffer. */
function burst(d: Device, topic: string, payloads: string[]): void {
  d.sock.write(Buffer.concat(payloads.map((payload, i) => mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId: i + 1, retain: false, dup: false }))));
}

const reading = (meterId: string, seq: number) => JSON.stringify({ meterId, seq, ts: Date.now(), voltage: 230.1, current: 4.2, power: 0.97 });
const seqsOf = (c: MemoryCommitter, key: string) => c.records('grid.readings').filter((r) => r.key === key).map((r) => (JSON.parse(r.value) as { seq: number }).seq);

async function run(minReadBytes: number) {
  const committer = new SlowCommitter(2);
  const b = await startBroker({ committer, maxInflight: 20, minReadBytes, allowAnonymous: true });
  open.push(b.broker);
  const perDevice = 300;
  const devices = await Promise.all([0, 1, 2].map((i) => device(b.url, `meter-rc-${i}`)));
  devices.forEach((d, i) => burst(d, `meters/m-${i}/reading`, Array.from({ length: perDevice }, (_, s) => reading(`m-${i}`, s + 1))));
  await until(() => devices.every((d) => d.acks.size === perDevice), 'every publish acked');
  return { b, committer, devices, perDevice };
}

describe('embedded broker: a read takes what fits under the bound', () => {
  it('with a slow store, the publishes held never exceed the bound plus one small read per connection, and every acked reading is committed, in order', async () => {
    // ~140-byte publishes: a 256-byte read is at most 2 of them (one begun in the read before).
    const { b, committer, devices, perDevice } = await run(256);
    expect(b.broker.gate.peak).toBeLessThanOrEqual(20 + devices.length * 3);
    expect(b.broker.gate.cappedReads).toBeGreaterThan(0);
    for (let i = 0; i < devices.length; i++) {
      expect(devices[i]!.closed).toBe(false);
      // Acked means committed: every acked reading is in the store, once, in the meter's order.
      expect(seqsOf(committer, `m-${i}`)).toEqual(Array.from({ length: perDevice }, (_, s) => s + 1));
    }
    await until(() => b.broker.gate.holding === 0 && !b.broker.gate.closed, 'every publish done, the gate open');
  }, 30_000);

  it('without the cap (a smallest read larger than any buffer) one read takes a connection\'s whole buffer, far past the bound', async () => {
    const { b, committer, devices, perDevice } = await run(1 << 30);
    // What the capped run above holds at most: 29. aedes reads everything buffered (up to 64 KiB here).
    expect(b.broker.gate.peak).toBeGreaterThan(20 + devices.length * 3);
    expect(b.broker.gate.cappedReads).toBe(0);
    expect(committer.records('grid.readings')).toHaveLength(devices.length * perDevice);
  }, 30_000);

  it('a read cut inside a packet does not stall the connection (packets larger than the smallest read)', async () => {
    const committer = new SlowCommitter(1);
    const b = await startBroker({ committer, maxInflight: 2, minReadBytes: 256, allowAnonymous: true });
    open.push(b.broker);
    const d = await device(b.url, 'dc-rc');
    // Concentrator arrays of 20 readings, ~2.5 KB each: every read at the bound ends inside one.
    const messages = Array.from({ length: 40 }, (_, k) => JSON.stringify(Array.from({ length: 20 }, (_, j) => JSON.parse(reading(`m-${j}`, k + 1)) as unknown)));
    burst(d, 'concentrators/dc-rc/readings', messages);
    await until(() => d.acks.size === 40, 'all 40 arrays acked');
    expect(b.broker.gate.cappedReads).toBeGreaterThan(0);
    expect(b.broker.gate.peak).toBeLessThanOrEqual(2 + 1);
    for (let j = 0; j < 20; j++) expect(seqsOf(committer, `m-${j}`)).toEqual(Array.from({ length: 40 }, (_, k) => k + 1));
  }, 30_000);
});
