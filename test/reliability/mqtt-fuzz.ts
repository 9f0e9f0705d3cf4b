/**
 * Hostile MQTT at the packet level: byte sequences built with mqtt-packet's own generator and then
 * broken on purpose, one raw TCP connection per case. Each case says what the gateway must do
 * with it (close the connection and count a protocol refusal, negate a subscription, refuse the
 * CONNECT, publish nothing of a will on a forbidden topic), so the test can check every count.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { Rng } from '../../simulator/rng.ts';

/** What the gateway must count for a case: edge_mqtt_refused_total or edge_readings_rejected_total reasons. */
export interface FuzzExpect {
  /** protocol-level refusals (the broker's counts) */
  mqtt?: Partial<Record<'protocol_error' | 'connect_refused' | 'subscribe_denied' | 'timeout', number>>;
  /** intake rejections (a will or publish that parsed but may not be taken) */
  intake?: Partial<Record<'unknown_topic' | 'payload_too_large' | 'unauthorized', number>>;
  /** the gateway must close the connection (true) or keep it (false) */
  closes: boolean;
}

export interface FuzzCase {
  kind: string;
  /** bytes sent after the socket opens, in order */
  chunks: Buffer[];
  /** destroy the socket abruptly after sending (a will is published only on an ungraceful end) */
  abort?: boolean;
  expect: FuzzExpect;
}

const gen = (p: Packet, protocolVersion = 4): Buffer => mqttPacket.generate(p, { protocolVersion });

function connectPacket(clientId: string, extra: Partial<Packet> = {}): Buffer {
  return gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 10, ...extra } as Packet);
}

function publishPacket(topic: string, payload: Buffer | string, qos: 0 | 1 = 1): Buffer {
  return gen({ cmd: 'publish', topic, payload, qos, messageId: 1, retain: false, dup: false } as Packet);
}

/** A PUBLISH whose topic bytes are given raw (mqtt-packet would encode a JS string as valid UTF-8). */
function rawTopicPublish(topic: Buffer, payload: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, payload]);
  return Buffer.concat([Buffer.from([0x30]), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** The hostile cases, `perKind` of each kind, reproducible from `seed`. */
export function fuzzCases(seed: number, perKind: number, meterId: string): FuzzCase[] {
  const rng = new Rng(seed);
  const cases: FuzzCase[] = [];
  const reading = () => JSON.stringify({ meterId, seq: 0, ts: Date.now(), voltage: 230 });
  for (let i = 0; i < perKind; i++) {
    const id = `fuzz-${seed}-${i}-`;
    const hello = (k: string, extra: Partial<Packet> = {}) => connectPacket(id + k, extra);

    // A remaining length of five continuation bytes (the maximum is four): malformed, closed.
    const cont = Buffer.alloc(rng.int(5, 8), 0xff);
    cases.push({ kind: 'remaining_length', chunks: [hello('rl'), Buffer.concat([Buffer.from([0x32]), cont, Buffer.from([0x01])])], expect: { mqtt: { protocol_error: 1 }, closes: true } });

    // A PUBLISH cut short and then silence: the keep-alive (2 s, 1.5x) closes it, counted as a timeout.
    const whole = publishPacket(`meters/${meterId}/reading`, reading());
    cases.push({ kind: 'truncated', chunks: [hello('tr', { keepalive: 2 }), whole.subarray(0, rng.int(2, whole.length - 2))], expect: { mqtt: { timeout: 1 }, closes: true } });

    // A CONNECT cut short: no CONNECT ever completes, the connect timeout (10 s) closes it.
    const c = hello('tc', { keepalive: 2 });
    cases.push({ kind: 'truncated_connect', chunks: [c.subarray(0, rng.int(1, c.length - 1))], expect: { mqtt: { timeout: 1 }, closes: true } });

    // Topic bytes that are not UTF-8 (an overlong or lone continuation byte): malformed, closed.
    const bad = rng.pick([Buffer.from([0xc3, 0x28]), Buffer.from([0xff]), Buffer.from([0x80, 0x80]), Buffer.from([0xed, 0xa0, 0x80])]);
    cases.push({ kind: 'invalid_utf8_topic', chunks: [hello('u8'), rawTopicPublish(Buffer.concat([Buffer.from('meters/'), bad, Buffer.from('/reading')]), Buffer.from(reading()))], expect: { mqtt: { protocol_error: 1 }, closes: true } });

    // QoS 3 (both QoS bits set): malformed, closed.
    const q = Buffer.from(publishPacket(`meters/${meterId}/reading`, reading()));
    q[0] = 0x36;
    cases.push({ kind: 'qos3', chunks: [hello('q3'), q], expect: { mqtt: { protocol_error: 1 }, closes: true } });

    // MQTT 5 CONNECT with oversized user properties: the gateway speaks 3.1.1 and refuses the version.
    const props = { userProperties: { [`k${i}`]: 'x'.repeat(rng.int(20_000, 60_000)) } };
    cases.push({ kind: 'oversized_properties', chunks: [gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: id + 'op', keepalive: 2, properties: props } as Packet, 5)], expect: { mqtt: { connect_refused: 1 }, closes: true } });

    // A property length that runs past the packet: malformed.
    const plen = Buffer.concat([Buffer.from([0x10, 0x0f, 0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x05, 0x02, 0x00, 0x3c]), varint(100_000), Buffer.from([0x00, 0x00])]);
    cases.push({ kind: 'property_length', chunks: [plen], expect: { mqtt: { protocol_error: 1 }, closes: true } });

    // Subscriptions nobody but an operator gets, and $SYS nobody gets: negated, the connection stays.
    const topics = rng.pick([['#'], ['+/+/+'], ['$SYS/#'], ['$SYS/broker/uptime', 'meters/#'], ['meters/+/reading', '#', '$SYS/+']]);
    cases.push({
      kind: 'subscribe',
      chunks: [hello('sb'), gen({ cmd: 'subscribe', messageId: 7, subscriptions: topics.map((topic) => ({ topic, qos: 1 })) } as Packet)],
      expect: { mqtt: { subscribe_denied: topics.length }, closes: false },
    });

    // A will on a topic no device may publish on, then an ungraceful end: the will is refused.
    const willTopic = rng.pick(['$SYS/broker/load', 'devices/x/cmd', `meters/${meterId}/reading/extra`, 'control/shutdown']);
    cases.push({ kind: 'forbidden_will', chunks: [hello('wl', { will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: true } } as Partial<Packet>)], abort: true, expect: { intake: { unknown_topic: 1 }, closes: false } });

    // A will with a wildcard in its topic: malformed CONNECT.
    cases.push({ kind: 'wildcard_will', chunks: [hello('ww', { will: { topic: rng.pick(['meters/#', 'meters/+/reading']), payload: Buffer.from('x'), qos: 0, retain: false } } as Partial<Packet>)], expect: { mqtt: { protocol_error: 1 }, closes: true } });
  }
  return cases;
}

/** Random byte flips of valid packets: no stated outcome, only that the gateway survives them. */
export function mutatedPackets(seed: number, n: number, meterId: string): Buffer[][] {
  const rng = new Rng(seed);
  const out: Buffer[][] = [];
  for (let i = 0; i < n; i++) {
    const p = Buffer.from(publishPacket(`meters/${meterId}/reading`, JSON.stringify({ meterId, seq: i, ts: Date.now(), voltage: 230 })));
    for (let f = rng.int(1, 4); f > 0; f--) p[rng.int(0, p.length - 1)] = rng.int(0, 255);
    out.push([connectPacket(`mut-${seed}-${i}`), p]);
  }
  return out;
}

export interface FuzzOutcome {
  closedByServer: boolean;
  /** SUBACK return codes, when a SUBACK came */
  suback: number[] | null;
  connack: number | null;
}

/** Sends one case on a fresh TCP connection and waits (at most `waitMs`) for the server to close it. */
export function runCase(port: number, chunks: Buffer[], opts: { abort?: boolean; waitMs: number; until?: (o: FuzzOutcome) => boolean }): Promise<FuzzOutcome> {
  return new Promise((resolve) => {
    const out: FuzzOutcome = { closedByServer: false, suback: null, connack: null };
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') out.connack = (p as { returnCode?: number; reasonCode?: number }).returnCode ?? (p as { reasonCode?: number }).reasonCode ?? 0;
      if (p.cmd === 'suback') out.suback = (p as { granted: number[] }).granted;
      // A loaded machine can take seconds for a reply: stop as soon as the awaited one is in.
      if (opts.until?.(out)) setImmediate(finish);
    });
    parser.on('error', () => undefined);
    const s: Socket = connect(port, '127.0.0.1');
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (!s.destroyed) s.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, opts.waitMs);
    s.on('data', (d) => parser.parse(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!finished) out.closedByServer = true;
      finish();
    });
    s.on('connect', async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setTimeout(r, 30));
      }
      if (opts.abort) {
        // Wait for the CONNACK so the will is stored, then vanish without DISCONNECT.
        const vanish = () => {
          s.resetAndDestroy();
          finish();
        };
        if (out.connack !== null) vanish();
        else parser.once('packet', () => setTimeout(vanish, 20));
      }
    });
  });
}
