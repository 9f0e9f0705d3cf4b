// The rig of the link-fault tests: a Kafka node of its own whose SASL_SSL listener is advertised at
// a toxiproxy proxy (so every connection of the edge, not only the bootstrap, crosses the faulty
// link), a real edge gateway in this process speaking SASL_SSL through that proxy, a paced QoS 1
// flood through its MQTT listener that remembers exactly what was PUBACKed, and a Kafka reader on
// the node's plaintext listener (no proxy: the reader is the far side, not the link under test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Admin, Consumer } from 'kafkajs';
import { kafkaPrincipalEnv, serviceEndpoints, startStandaloneKafka } from '../../deploy/services/index.ts';
import { loadEdgeConfig } from '../../edge/config.ts';
import { EdgeGateway } from '../../edge/gateway.ts';
import { Metrics, silentLogger } from '../../shared/index.ts';
import { createKafkaClient } from '../../shared/kafka/client.ts';
import { kafkaSecurity, type KafkaSecurity } from '../../shared/kafka/security.ts';
import { uniqueName } from '../harness/env.ts';
import { ToxiProxy } from './toxiproxy.ts';

/**
 * Loopback ports of this rig only (the shared broker is 19092/19094, the cluster 19n92/19n94).
 * GRIDWATCH_LINK_RIG_PORT_BASE moves a second rig elsewhere (base..base+2, proxy base+6), so two
 * link-fault files can run at once on one machine.
 */
const BASE = Number(process.env.GRIDWATCH_LINK_RIG_PORT_BASE ?? 19692);
const PORTS = { broker: BASE, controller: BASE + 1, saslSsl: BASE + 2, proxy: BASE + 6 };
/** Names of the rig's proxy and broker: the default rig keeps its names, a moved one is named by its base. */
const RIG = BASE === 19692 ? '' : `-${BASE}`;

export interface ProxiedKafka {
  proxy: ToxiProxy;
  edgeBrokers: string[];
  readerBrokers: string[];
  stop: () => Promise<void>;
}

export async function startProxiedKafka(): Promise<ProxiedKafka> {
  const proxy = await ToxiProxy.create(`gridwatch-relnet-kafka${RIG}`, `127.0.0.1:${PORTS.proxy}`, `127.0.0.1:${PORTS.saslSsl}`);
  const dir = mkdtempSync(join(tmpdir(), 'gridwatch-relnet-kafka-'));
  const broker = await startStandaloneKafka({
    name: `kafka-relnet${RIG}`,
    dir,
    ports: { broker: PORTS.broker, controller: PORTS.controller, saslSsl: PORTS.saslSsl },
    plaintextListener: 'open',
    advertisedPorts: { broker: PORTS.broker, saslSsl: PORTS.proxy },
  });
  return {
    proxy,
    edgeBrokers: [`127.0.0.1:${PORTS.proxy}`],
    readerBrokers: broker.plaintextBrokers,
    stop: async () => {
      await broker.stop();
      await proxy.delete().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An edge gateway in this process, SASL_SSL (admin principal of the harness PKI) through the proxy. */
export async function startLinkEdge(k: ProxiedKafka, name: string, env: Record<string, string> = {}): Promise<{ gateway: EdgeGateway; mqttUrl: string; prefix: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridwatch-relnet-edge-'));
  const config = loadEdgeConfig({
    env: {
      ...kafkaPrincipalEnv(serviceEndpoints(), 'admin'),
      GRIDWATCH_KAFKA_BROKERS: k.edgeBrokers.join(','),
      GRIDWATCH_EDGE_ID: name.slice(0, 60),
      GRIDWATCH_DATA_DIR: dataDir,
      GRIDWATCH_KAFKA_TOPIC_PREFIX: `${name}.`,
      GRIDWATCH_KAFKA_TOPIC_PARTITIONS: '3',
      GRIDWATCH_MQTT_HOST: '127.0.0.1',
      GRIDWATCH_MQTT_PORT: '0',
      GRIDWATCH_HTTP_HOST: '127.0.0.1',
      GRIDWATCH_HTTP_PORT: '0',
      GRIDWATCH_MQTT_ALLOW_ANONYMOUS: 'true',
      GRIDWATCH_HEARTBEAT_CRON: '*/2 * * * * *',
      GRIDWATCH_DRAIN_TIMEOUT_MS: '2000',
      // A send unacknowledged for 5 s reports Kafka not connected (the half-open case checks it; default 20 s).
      GRIDWATCH_FORWARD_STALL_MS: '5000',
      ...env,
    },
  });
  const gateway = new EdgeGateway({ config, logger: silentLogger(), metrics: new Metrics('edge', { defaultMetrics: false }) });
  await gateway.start();
  return {
    gateway,
    mqttUrl: `mqtt://127.0.0.1:${gateway.mqttAddresses.tcp}`,
    prefix: `${name}.`,
    stop: async () => {
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Arrival {
  topic: string;
  value: Record<string, unknown>;
  at: number;
  partition: number;
  offset: number;
  /** The record's Kafka timestamp: when kafkajs encoded the produce request at the edge (CreateTime). */
  producedAt: number;
}

/** Reads the edge's topics from the beginning, with the time each record reached this reader. */
export class KafkaReader {
  readonly arrivals: Arrival[] = [];
  /** Records this reader was handed again (a rebalance of its own group re-reads from the last commit): not counted twice. */
  redelivered = 0;
  /** Times this reader joined its group (1 = never rebalanced). */
  joins = 0;
  private readonly offsets = new Set<string>();
  private consumer: Consumer | null = null;
  /** Per topic:partition, [time, high-water mark] polls: when the broker had a record, seen apart from the consumer. */
  readonly marks = new Map<string, [number, number][]>();
  private marking: NodeJS.Timeout | null = null;
  private markAdmin: Admin | null = null;
  /**
   * `security` defaults to PLAINTEXT: the link rig's reader uses its own node's plaintext listener
   * because that node advertises its SASL_SSL listener at the fault proxy, and the reader must see
   * what reached the broker, not go through the faults itself.
   */
  constructor(private readonly brokers: string[], private readonly topics: string[], private readonly security: KafkaSecurity = kafkaSecurity({ kafkaTls: false })) {}

  async start(): Promise<void> {
    const kafka = createKafkaClient({ clientId: 'relnet-reader', brokers: this.brokers, security: this.security });
    // The one member of its group: with kafkajs' 30 s session timeout, a few seconds' CPU
    // starvation of this process or the broker on a busy machine can expire the session, and the
    // rejoin then holds every arrival back for tens of seconds, a delay of the test, not of the
    // edge (the delays are measured at the broker's high-water marks since, see atBroker).
    const consumer = (this.consumer = kafka.consumer({ groupId: uniqueName('relnet-reader'), maxWaitTimeInMs: 100, sessionTimeout: 180_000, rebalanceTimeout: 180_000, heartbeatInterval: 3000 }));
    consumer.on(consumer.events.GROUP_JOIN, () => this.joins++);
    await consumer.connect();
    // The edge creates its topics in the background; subscribing waits for them.
    const admin = kafka.admin();
    await admin.connect();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const have = new Set(await admin.listTopics());
      if (this.topics.every((t) => have.has(t))) break;
      await sleep(250);
    }
    await admin.disconnect();
    await this.startMarks(kafka.admin());
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const at = Date.now();
        for (const m of batch.messages) {
          // The same offset twice is this reader's re-delivery, not a second record in Kafka.
          const where = `${batch.topic}:${batch.partition}:${m.offset}`;
          if (this.offsets.has(where)) {
            this.redelivered++;
            continue;
          }
          this.offsets.add(where);
          this.arrivals.push({ topic: batch.topic, value: JSON.parse(m.value!.toString()) as Record<string, unknown>, at, partition: batch.partition, offset: Number(m.offset), producedAt: Number(m.timestamp) });
        }
      },
    });
  }

  /**
   * Polls the topics' high-water marks every 500 ms on a connection of its own: when a record
   * reached the broker (within one poll), to tell a slow link (late at the broker) from a stalled
   * consumer (at the broker, late at this reader).
   */
  private async startMarks(admin: Admin): Promise<void> {
    await admin.connect();
    this.markAdmin = admin;
    let busy = false;
    this.marking = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        for (const topic of this.topics) {
          const offsets = await admin.fetchTopicOffsets(topic);
          // The time of the answer, not of the question: a record is credited to the broker no earlier than it can have been there.
          const at = Date.now();
          for (const o of offsets) {
            const key = `${topic}:${o.partition}`;
            let list = this.marks.get(key);
            if (!list) this.marks.set(key, (list = []));
            const hwm = Number(o.high);
            if (list.length === 0 || list[list.length - 1]![1] !== hwm) list.push([at, hwm]);
          }
        }
      })()
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 500);
  }

  /** The first poll that saw this record at the broker (its offset below the high-water mark); null before any. */
  atBroker(a: Arrival): number | null {
    const list = this.marks.get(`${a.topic}:${a.partition}`) ?? [];
    // Marks only grow: the first poll whose mark is past the offset, by bisection.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]![1] > a.offset) hi = mid;
      else lo = mid + 1;
    }
    return lo < list.length ? list[lo]![0] : null;
  }

  of(topic: string): Arrival[] {
    return this.arrivals.filter((a) => a.topic === topic);
  }

  async stop(): Promise<void> {
    if (this.marking) clearInterval(this.marking);
    await this.markAdmin?.disconnect().catch(() => undefined);
    await this.consumer?.disconnect();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A paced QoS 1 flood over several MQTT connections: `rate` readings/s spread over `meters`, plus a
 * last gasp on a fresh probe meter every `probeEveryMs` (each opens an outage anomaly at once).
 * `acked` holds exactly the readings whose PUBACK arrived, with its time.
 */
export class Flood {
  readonly acked = new Map<string, number>();
  readonly probes: { meterId: string; ackedAt: number }[] = [];
  sent = 0;
  private clients: MqttClient[] = [];
  private timer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly seq: number[];
  private next = 0;
  private probeN = 0;

  constructor(private readonly o: { url: string; label: string; meters: number; rate: number; connections?: number; probeEveryMs?: number; voltage?: number }) {
    this.seq = new Array<number>(o.meters).fill(0);
  }

  meterId(i: number): string {
    return `${this.o.label}-m${i}`;
  }

  async start(): Promise<void> {
    const n = this.o.connections ?? 4;
    this.clients = await Promise.all(
      Array.from({ length: n }, (_, i) => mqtt.connectAsync(this.o.url, { clientId: `${this.o.label}-c${i}`, reconnectPeriod: 1000, clean: true })),
    );
    const perTick = this.o.rate / 10;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += perTick;
      for (; carry >= 1; carry--) this.publishOne();
    }, 100);
    if (this.o.probeEveryMs) this.probeTimer = setInterval(() => this.probe(), this.o.probeEveryMs);
  }

  private publishOne(): void {
    const m = this.next++ % this.o.meters;
    const c = this.clients[m % this.clients.length]!;
    if (!c.connected) return;
    const meterId = this.meterId(m);
    const s = this.seq[m]!++;
    this.sent++;
    const payload = JSON.stringify({ meterId, seq: s, ts: Date.now(), voltage: this.o.voltage ?? 230 + (s % 3) * 0.1, current: 5 });
    c.publish(`meters/${meterId}/reading`, payload, { qos: 1 }, (err) => {
      if (!err) this.acked.set(`${meterId}:${s}`, Date.now());
    });
  }

  private probe(): void {
    const c = this.clients[0]!;
    if (!c.connected) return;
    const meterId = `${this.o.label}-probe${this.probeN++}`;
    c.publish(`meters/${meterId}/event`, JSON.stringify({ meterId, ts: Date.now(), type: 'last_gasp' }), { qos: 1 }, (err) => {
      if (!err) this.probes.push({ meterId, ackedAt: Date.now() });
    });
  }

  /** Stops publishing and waits (bounded) for the PUBACKs still in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    await Promise.all(this.clients.map((c) => c.endAsync().catch(() => undefined)));
  }
}
