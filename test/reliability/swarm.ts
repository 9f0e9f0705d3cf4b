/**
 * Thousands of meters as bare TCP sockets speaking MQTT through mqtt-packet (an mqtt.js client
 * per meter would cost the test process more memory than the gateway under test). Each meter
 * connects, publishes QoS 1 readings when asked, remembers what was PUBACKed, and - like a real
 * meter - reconnects after a lost connection, retrying every `retryMs` plus jitter.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { Rng } from '../../simulator/rng.ts';

export interface SwarmOptions {
  port: number;
  meterIds: string[];
  retryMs: number;
  seed: number;
}

class SwarmMeter {
  socket: Socket | null = null;
  connected = false;
  seq = 0;
  acked = 0;
  /** seqs PUBACKed */
  readonly ackedSeqs: number[] = [];
  /** time of the last CONNACK (ms) */
  connectedAt = 0;
  private pending = new Map<number, () => void>();
  private nextId = 1;
  constructor(
    readonly id: string,
    private readonly swarm: Swarm,
  ) {}

  open(): void {
    const s = connect(this.swarm.o.port, '127.0.0.1');
    this.socket = s;
    s.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') {
        if ((p as { returnCode?: number }).returnCode === 0) {
          this.connected = true;
          this.connectedAt = Date.now();
          this.swarm.onConnected(this);
        }
      } else if (p.cmd === 'puback') {
        const done = this.pending.get(p.messageId!);
        this.pending.delete(p.messageId!);
        done?.();
      }
    });
    parser.on('error', () => s.destroy());
    s.on('data', (d) => parser.parse(d));
    s.on('error', () => undefined);
    s.on('connect', () => s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: this.id, keepalive: 120 } as Packet)));
    s.on('close', () => {
      this.connected = false;
      for (const done of this.pending.values()) done();
      this.pending.clear();
      this.socket = null;
      if (this.swarm.running) setTimeout(() => this.swarm.running && this.open(), this.swarm.retryDelay());
    });
  }

  /** Publishes the next reading at QoS 1; resolves true once PUBACKed, false if the connection went first. */
  publishReading(ts: number): Promise<boolean> {
    const s = this.socket;
    if (!s || !this.connected) return Promise.resolve(false);
    const seq = this.seq++;
    const messageId = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    const payload = JSON.stringify({ meterId: this.id, seq, ts, voltage: 230 });
    return new Promise((resolve) => {
      let acked = false;
      this.pending.set(messageId, () => {
        acked = this.connected;
        if (acked) {
          this.acked++;
          this.ackedSeqs.push(seq);
        }
        resolve(acked);
      });
      s.write(mqttPacket.generate({ cmd: 'publish', topic: `meters/${this.id}/reading`, payload, qos: 1, messageId, retain: false, dup: false } as Packet));
    });
  }

  /** A last gasp at QoS 1 (resolves on the PUBACK). */
  publishEvent(type: string, ts: number): Promise<boolean> {
    const s = this.socket;
    if (!s || !this.connected) return Promise.resolve(false);
    const messageId = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    return new Promise((resolve) => {
      this.pending.set(messageId, () => resolve(this.connected));
      s.write(mqttPacket.generate({ cmd: 'publish', topic: `meters/${this.id}/event`, payload: JSON.stringify({ meterId: this.id, ts, type }), qos: 1, messageId, retain: false, dup: false } as Packet));
    });
  }
}

export class Swarm {
  readonly meters: SwarmMeter[];
  running = true;
  private readonly rng: Rng;
  private connectedListeners: ((m: SwarmMeter) => void)[] = [];

  constructor(readonly o: SwarmOptions) {
    this.rng = new Rng(o.seed);
    this.meters = o.meterIds.map((id) => new SwarmMeter(id, this));
  }

  get retryMs(): number {
    return this.o.retryMs;
  }

  retryDelay(): number {
    return Math.round(this.o.retryMs * (0.5 + this.rng.next()));
  }

  onConnected(m: SwarmMeter): void {
    for (const l of this.connectedListeners) l(m);
  }

  /** Calls `fn` for every CONNACK from now on (a reconnect included). */
  onConnect(fn: (m: SwarmMeter) => void): void {
    this.connectedListeners.push(fn);
  }

  /** Opens every meter's connection, `spreadMs` apart in total. */
  async start(spreadMs: number): Promise<void> {
    const step = spreadMs / Math.max(1, this.meters.length);
    for (const [i, m] of this.meters.entries()) {
      m.open();
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, step * 100));
    }
  }

  connectedCount(): number {
    let n = 0;
    for (const m of this.meters) if (m.connected) n++;
    return n;
  }

  stop(): void {
    this.running = false;
    for (const m of this.meters) m.socket?.destroy();
  }
}
