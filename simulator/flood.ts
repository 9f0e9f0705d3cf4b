/**
 * The flood: publishes a simulation's messages to one or several MQTT brokers (edge gateways),
 * QoS 0 or 1, one connection per meter or per data concentrator, paced by event time (realtime
 * or fast-forward) and/or a target rate, or as fast as a bounded in-flight window allows.
 * The only file of the simulator that imports mqtt.
 *
 * Connection cap: opening ten thousand TCP connections from one process measures the
 * simulator's socket handling more than the gateway, so at most `maxConnections` connections
 * are opened per broker (default 200) and devices beyond that share them round-robin. A shared
 * connection still publishes on each device's own topic. With per-device credentials every
 * device needs its own connection, so the cap must then be at least the number of devices.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Reading } from '../shared/contracts/index.ts';
import { GridwatchError } from '../shared/errors.ts';
import type { DeviceSecretsFile } from '../shared/device-secrets.ts';
import type { DeliveredItem } from './generate.ts';
import { percentile } from './score.ts';
import { Rng } from './rng.ts';

export interface FloodAuth {
  /** One username/password for every connection. */
  username?: string;
  password?: string;
  /** Username = the device's id (meterId or concentratorId), password = `password`. */
  perDevice?: boolean;
  /** With perDevice: each device's own username and password, by device id (shared/device-secrets.ts). */
  devices?: DeviceSecretsFile;
}

export interface FloodOptions {
  /** mqtt://host:port URLs. Substation i (in sorted order of `substations`) goes to broker i mod n. */
  brokers: string[];
  /** Every substation id; without it substations are numbered in order of first appearance. */
  substations?: readonly string[];
  /** Messages in delivery order (Simulation.items()). */
  items: Iterable<DeliveredItem>;
  /** Event time that maps to the flood's start (pacing origin); the simulation's `from`. */
  from: number;
  /** Reading interval; concentrators send one array per interval. */
  intervalMs: number;
  qos?: 0 | 1;
  connection?: 'meter' | 'concentrator';
  /** Per broker (see the file comment). Default 200. */
  maxConnections?: number;
  /** realtime: event time = wall time. fast: event time runs `speed` times faster (Infinity: no pacing). */
  mode?: 'realtime' | 'fast';
  speed?: number;
  /** Target messages per second (token bucket); 0 or undefined: no rate limit. */
  rate?: number;
  /** Publishes awaiting their callback (PUBACK at QoS 1, socket write at QoS 0). Default 1000. */
  inFlight?: number;
  /** Stop after this much wall time or this many MQTT messages. */
  maxWallMs?: number;
  maxMessages?: number;
  auth?: FloodAuth;
  /** PEM CA the brokers' certificates must chain to (mqtts:// and wss:// URLs). */
  ca?: string;
  clientIdPrefix?: string;
  /** Called about once a second with the running totals (the CLI prints a progress line). */
  onProgress?: (p: FloodProgress) => void;
  signal?: AbortSignal;
}

export interface FloodProgress {
  elapsedMs: number;
  sent: number;
  acked: number;
  errors: number;
  ratePerSec: number;
  inFlight: number;
}

export interface FloodReport {
  sent: number;
  acked: number;
  /** Every error: the sum of errorsByBroker. */
  errors: number;
  /**
   * Errors by broker URL. `connection`: the client's error events (a connect that failed, a
   * connection reset, a refused reconnect while a gateway is down) and each connection the broker
   * closed (mqtt.js 'offline', one per drop); `publish`: publishes that
   * failed or were still unacknowledged at the end. A gateway restarted mid-flood shows as
   * connection errors on its URL only: QoS 1 publishes in flight are sent again on reconnect.
   */
  errorsByBroker: Record<string, { connection: number; publish: number }>;
  /** Readings carried (a concentrator message carries many), repeats included. */
  readings: number;
  /** Readings sent that were not a repeat of one already sent (distinct meter and seq). */
  distinctReadings: number;
  /** Readings (and distinct ones) in messages the broker acknowledged (QoS 1: PUBACKed). */
  readingsAcked: number;
  distinctReadingsAcked: number;
  events: number;
  connections: number;
  durationMs: number;
  ratePerSec: number;
  readingsPerSec: number;
  publishLatencyMs: { p50: number | null; p95: number | null; p99: number | null };
  lastError?: string;
}

interface Conn {
  client: MqttClient;
  broker: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function flood(opts: FloodOptions): Promise<FloodReport> {
  if (opts.brokers.length === 0) throw new GridwatchError('CONFIG_INVALID', 'flood: at least one broker URL is needed');
  const qos = opts.qos ?? 1;
  const mode = opts.connection ?? 'meter';
  const cap = opts.maxConnections ?? 200;
  const window = Math.max(1, opts.inFlight ?? 1000);
  const speed = opts.mode === 'realtime' ? 1 : (opts.speed ?? Infinity);
  const prefix = opts.clientIdPrefix ?? `gw-sim-${process.pid}`;

  const substationBroker = new Map<string, number>([...new Set(opts.substations ?? [])].sort().map((s, i) => [s, i % opts.brokers.length]));
  const connections = new Map<string, Promise<Conn>>(); // key `${broker}:${slot}`
  const deviceSlot = new Map<string, string>();
  const devicesPerBroker = opts.brokers.map(() => 0);
  const opened: MqttClient[] = [];
  let errors = 0;
  const errorsByBroker = opts.brokers.map(() => ({ connection: 0, publish: 0 }));
  const inFlightByBroker = opts.brokers.map(() => 0);
  let lastError: string | undefined;
  let sent = 0;
  let acked = 0;
  let readings = 0;
  let distinctReadings = 0;
  let readingsAcked = 0;
  let distinctReadingsAcked = 0;
  let events = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const latencies = new Float64Array(100_000);
  let latencyCount = 0;
  const reservoir = new Rng(0x1a7e);

  const fail = (kind: 'connection' | 'publish', broker: number, message: string) => {
    errors++;
    errorsByBroker[broker]![kind]++;
    lastError = message;
  };

  function connFor(device: string, substationId: string): Promise<Conn> {
    let key = deviceSlot.get(device);
    if (key === undefined) {
      let b = substationBroker.get(substationId);
      if (b === undefined) {
        b = substationBroker.size % opts.brokers.length;
        substationBroker.set(substationId, b);
      }
      const n = devicesPerBroker[b]!++;
      if (opts.auth?.perDevice && n >= cap) throw new GridwatchError('CONFIG_INVALID', `flood: per-device credentials need one connection per device; raise --connections above ${cap}`);
      if (opts.auth?.devices && !Object.hasOwn(opts.auth.devices, device)) throw new GridwatchError('CONFIG_INVALID', `flood: no credentials for device ${device} in the device credentials file`);
      key = `${b}:${opts.auth?.perDevice ? device : n % cap}`;
      deviceSlot.set(device, key);
    }
    let conn = connections.get(key);
    if (!conn) {
      const b = Number(key.slice(0, key.indexOf(':')));
      conn = mqtt
        .connectAsync(opts.brokers[b]!, {
          clientId: `${prefix}-${key.replace(':', '-')}`.slice(0, 64),
          reconnectPeriod: 1000,
          connectTimeout: 10_000,
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.auth?.perDevice ? deviceLogin(opts.auth, device) : opts.auth?.username ? { username: opts.auth.username, password: opts.auth.password ?? '' } : {}),
        })
        .then((client) => {
          opened.push(client);
          client.on('error', (err) => fail('connection', b, `${opts.brokers[b]}: ${err.message}`));
          // A connection the broker closed (a gateway killed or restarted): mqtt.js emits 'offline'
          // once per drop, not for our own end(), and raises no 'error' for a plain FIN, so a drop
          // whose reconnect lands after the gateway is back would otherwise go uncounted.
          client.on('offline', () => fail('connection', b, `${opts.brokers[b]}: connection lost`));
          return { client, broker: b };
        })
        .catch((err: Error) => {
          fail('connection', b, `connect ${opts.brokers[b]}: ${err.message}`);
          throw new GridwatchError('SERVICE_UNAVAILABLE', `flood: cannot connect to ${opts.brokers[b]}: ${err.message}`, { retryable: true, cause: err });
        });
      conn.catch(() => undefined); // awaited by the publish that needs it; this only marks it handled
      connections.set(key, conn);
    }
    return conn;
  }

  /** `carried`: the readings in the message, and how many of them are not repeats. */
  function onDone(t0: number, broker: number, carried: { readings: number; distinct: number }) {
    return (err?: Error) => {
      inFlight--;
      inFlightByBroker[broker]!--;
      if (err) fail('publish', broker, `${opts.brokers[broker]}: ${err.message}`);
      else {
        acked++;
        readingsAcked += carried.readings;
        distinctReadingsAcked += carried.distinct;
        const lat = performance.now() - t0;
        if (latencyCount < latencies.length) latencies[latencyCount] = lat;
        else {
          const j = Math.floor(reservoir.next() * (latencyCount + 1));
          if (j < latencies.length) latencies[j] = lat;
        }
        latencyCount++;
      }
      if (wake && inFlight < window) {
        const w = wake;
        wake = undefined;
        w();
      }
    };
  }

  const start = performance.now();
  let nextToken = start;
  const rateGap = opts.rate && opts.rate > 0 ? 1000 / opts.rate : 0;

  const NONE = { readings: 0, distinct: 0 };
  async function publish(device: string, substationId: string, topic: string, payload: string, carried = NONE): Promise<void> {
    if (rateGap > 0) {
      nextToken = Math.max(nextToken + rateGap, performance.now() - 50 * rateGap); // burst of up to 50
      const wait = nextToken - performance.now();
      if (wait > 2) await sleep(wait);
    }
    while (inFlight >= window) await new Promise<void>((r) => (wake = r));
    const { client, broker } = await connFor(device, substationId);
    inFlight++;
    inFlightByBroker[broker]!++;
    sent++;
    client.publish(topic, payload, { qos }, onDone(performance.now(), broker, carried));
  }

  let lastProgress = start;
  let lastSent = 0;
  const progress = () => {
    const now = performance.now();
    if (!opts.onProgress || now - lastProgress < 1000) return;
    opts.onProgress({ elapsedMs: now - start, sent, acked, errors, ratePerSec: ((sent - lastSent) * 1000) / (now - lastProgress), inFlight });
    lastProgress = now;
    lastSent = sent;
  };
  const progressTimer = opts.onProgress ? setInterval(progress, 1000) : undefined;

  // Concentrator mode: readings are gathered per concentrator and sent as one array per interval.
  const batches = new Map<string, { substationId: string; readings: Reading[]; distinct: number }>();
  let batchEnd = opts.from + opts.intervalMs;
  const flushBatch = async (concentratorId: string) => {
    const b = batches.get(concentratorId);
    if (!b || b.readings.length === 0) return;
    batches.delete(concentratorId);
    readings += b.readings.length;
    distinctReadings += b.distinct;
    await publish(concentratorId, b.substationId, `concentrators/${concentratorId}/readings`, JSON.stringify(b.readings), { readings: b.readings.length, distinct: b.distinct });
  };

  const stopped = () => opts.signal?.aborted || (opts.maxWallMs !== undefined && performance.now() - start >= opts.maxWallMs) || (opts.maxMessages !== undefined && sent >= opts.maxMessages);
  try {
    for (const item of opts.items) {
      if (stopped()) break;
      if (Number.isFinite(speed)) {
        const due = start + (item.deliverAt - opts.from) / speed;
        const wait = due - performance.now();
        if (wait > 2) await sleep(wait);
      }
      if (mode === 'concentrator') {
        if (item.deliverAt >= batchEnd) {
          for (const id of [...batches.keys()]) await flushBatch(id);
          batchEnd = opts.from + (Math.floor((item.deliverAt - opts.from) / opts.intervalMs) + 1) * opts.intervalMs;
        }
        if (item.kind === 'reading') {
          let b = batches.get(item.concentratorId);
          if (!b) batches.set(item.concentratorId, (b = { substationId: item.substationId, readings: [], distinct: 0 }));
          b.readings.push(item.reading);
          if (!item.repeat) b.distinct++;
          if (b.readings.length >= 1000) await flushBatch(item.concentratorId);
        } else {
          await flushBatch(item.concentratorId); // keep the concentrator's own order
          events++;
          await publish(item.concentratorId, item.substationId, `meters/${item.meterId}/event`, JSON.stringify(item.event));
        }
      } else if (item.kind === 'reading') {
        readings++;
        const distinct = item.repeat ? 0 : 1;
        distinctReadings += distinct;
        await publish(item.meterId, item.substationId, `meters/${item.meterId}/reading`, JSON.stringify(item.reading), { readings: 1, distinct });
      } else {
        events++;
        await publish(item.meterId, item.substationId, `meters/${item.meterId}/event`, JSON.stringify(item.event));
      }
    }
    if (!stopped()) for (const id of [...batches.keys()]) await flushBatch(id);
    // Drain: wait for every outstanding callback (bounded, so a dead broker cannot hang us).
    const drainUntil = performance.now() + 30_000;
    while (inFlight > 0 && performance.now() < drainUntil) await sleep(5);
    inFlightByBroker.forEach((n, b) => {
      if (n > 0) fail('publish', b, `${opts.brokers[b]}: ${n} publish(es) still unacknowledged after 30 s`);
    });
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    await Promise.allSettled(opened.map((c) => c.endAsync(inFlight > 0)));
    // Connections still being opened when we stopped: close them as they arrive.
    await Promise.allSettled([...connections.values()].map((p) => p.then(({ client }) => (opened.includes(client) ? undefined : client.endAsync(true)))));
  }
  const durationMs = performance.now() - start;
  const lat = Array.from(latencies.subarray(0, Math.min(latencyCount, latencies.length)));
  return {
    sent,
    acked,
    errors,
    errorsByBroker: Object.fromEntries(opts.brokers.map((url, b) => [url, errorsByBroker[b]!])),
    readings,
    distinctReadings,
    readingsAcked,
    distinctReadingsAcked,
    events,
    connections: connections.size,
    durationMs: Math.round(durationMs),
    ratePerSec: Math.round((sent * 1000) / durationMs),
    readingsPerSec: Math.round((readings * 1000) / durationMs),
    publishLatencyMs: { p50: round3(percentile(lat, 0.5)), p95: round3(percentile(lat, 0.95)), p99: round3(percentile(lat, 0.99)) },
    ...(lastError ? { lastError } : {}),
  };
}

const round3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

function deviceLogin(auth: FloodAuth, device: string): { username: string; password: string } {
  const own = auth.devices?.[device];
  return own ? { username: own.username, password: own.password } : { username: device, password: auth.password ?? '' };
}
