import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { GridwatchError, type Logger, type Metrics } from '../../shared/index.ts';
import type { EdgeConfig } from '../config.ts';
import type { Authenticated, Authorizer, Principal } from './auth.ts';
import { UnauthorizedPublish, type Intake } from './intake.ts';
import { InflightGate, type AedesClientInternals } from './inflight.ts';

/**
 * The embedded MQTT broker: aedes with gridwatch's policy, and the TCP, TLS and WebSocket
 * listeners wired outside it (aedes itself never opens a socket).
 *
 * The PUBACK gate: aedes writes a QoS 1 PUBACK as soon as `authorizePublish` calls back
 * (lib/handlers/publish.js: authorizePublish, then enqueuePublish writes PubAck). The whole
 * intake, commit included, runs inside authorizePublish, so the callback - and the PUBACK -
 * comes only after the SQLite commit that holds the reading. Contract rejections are committed
 * to the dead-letter table and acked (a resend cannot fix them); unauthorised publishes and
 * failed commits call back with an error, and aedes closes the connection without acking
 * (MQTT 3.1.1 has no negative PUBACK).
 */
export interface BrokerLimits {
  maxConnections: number;
  maxPacketBytes: number;
  maxTopicLength: number;
  maxClientIdLength: number;
  /** Read buffer per connection (bytes). */
  socketBufferBytes: number;
  /** Publishes held at once across all connections; past it no client reads more (./inflight.ts). Default 5,000. */
  maxInflight?: number;
  /** Smallest read of a connection while the held publishes are at the bound (./inflight.ts). Default 4 KiB. */
  minReadBytes?: number;
}

/**
 * Client certificates on the TLS listeners: `off` asks for none; `optional` asks, and a certificate
 * that chains to `caFile` identifies the device (others fall back to user name and password);
 * `required` refuses the TLS handshake without a certificate from `caFile`.
 */
export type ClientCertMode = 'off' | 'optional' | 'required';

export interface BrokerTls {
  certFile: string;
  keyFile: string;
  /** CA for client certificates (needed unless clientCerts is off). */
  caFile?: string;
  clientCerts?: ClientCertMode;
}

export interface BrokerListeners {
  host: string;
  port: number;
  /** TLS settings; a TLS listener is opened when `port` is set. */
  tls?: BrokerTls & { port?: number };
  wsPort?: number;
  /** MQTT over WebSocket over TLS, with the TLS listener's certificate and client-certificate mode. */
  wssPort?: number;
}

export interface BrokerOptions {
  intake: Intake;
  authorizer: Authorizer;
  logger: Logger;
  limits: BrokerLimits;
  listeners: BrokerListeners;
  /** Where edge_mqtt_refused_total goes (the gateway's registry); without it only `refusals` counts. */
  metrics?: Metrics;
}

/**
 * Refusals at the MQTT protocol level, before a publish reaches the intake (whose own reasons
 * are edge_readings_rejected_total): a packet mqtt-packet or aedes cannot accept (bad remaining
 * length, QoS 3, a malformed topic or property: the connection is closed), a CONNECT refused
 * (credentials, protocol version, client id), a subscription negated (SUBACK 0x80), a
 * connection over the limit, a CONNECT or keep-alive that never came.
 */
export const MQTT_REFUSALS = ['protocol_error', 'connect_refused', 'subscribe_denied', 'connection_limit', 'timeout'] as const;
export type MqttRefusal = (typeof MQTT_REFUSALS)[number];

/** Socket-level errors: a client that went away, not something it sent (not a refusal). */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/** The refusal an aedes client or connection error stands for; null when it is not one. */
export function refusalOf(err: Error & { errorCode?: number; code?: string }): MqttRefusal | null {
  if (err instanceof UnauthorizedPublish) return null; // counted by the intake
  if (typeof err.errorCode === 'number' && err.errorCode > 0) return 'connect_refused';
  if (err.code !== undefined && SOCKET_ERRORS.has(err.code)) return null;
  if (/did not arrive in time|keep ?alive timeout/i.test(err.message)) return 'timeout';
  return 'protocol_error';
}

export interface BrokerAddresses {
  tcp: number;
  tls?: number;
  ws?: number;
  wss?: number;
}

const principals = new WeakMap<Client, Principal>();
/** Who each client authenticated as: to disconnect exactly the removed devices on a reload. */
const identities = new WeakMap<Client, Authenticated>();
/** Subject CN of the verified client certificate a connection came with (null: none). */
const certificates = new WeakMap<Client, string | null>();

/** The subject CN of a client certificate that chained to the listener's CA, or null. */
function verifiedCn(socket: TLSSocket): string | null {
  if (!socket.authorized) return null;
  const cn = socket.getPeerCertificate()?.subject?.CN as unknown;
  return typeof cn === 'string' && cn.length > 0 ? cn : null;
}

export class EmbeddedBroker {
  private servers: (NetServer | HttpServer)[] = [];
  private wss: WebSocketServer[] = [];
  /** Live connections (aedes' own client map is not in its typings). */
  private readonly clients = new Set<Client>();
  private connections = 0;
  private open = false;
  readonly addresses: BrokerAddresses = { tcp: 0 };
  /** Protocol-level refusals by reason since start (also edge_mqtt_refused_total{reason}). */
  readonly refusals: Record<MqttRefusal, number>;

  private constructor(
    readonly aedes: Aedes,
    private readonly o: BrokerOptions,
    private readonly refused: (reason: MqttRefusal) => void,
    refusals: Record<MqttRefusal, number>,
    /** The bound on publishes held at once (./inflight.ts). */
    readonly gate: InflightGate,
  ) {
    this.refusals = refusals;
  }

  static async start(o: BrokerOptions): Promise<EmbeddedBroker> {
    const refusals = Object.fromEntries(MQTT_REFUSALS.map((r) => [r, 0])) as Record<MqttRefusal, number>;
    const counter = o.metrics?.counter<'reason'>('edge_mqtt_refused_total', 'MQTT packets, connections and subscriptions refused at the protocol level, by reason', ['reason']);
    const refused = (reason: MqttRefusal) => {
      refusals[reason]++;
      counter?.inc({ reason });
    };
    const gate = new InflightGate(o.limits.maxInflight ?? 5000, 1000, o.limits.minReadBytes ?? 4096);
    o.metrics?.gauge('edge_mqtt_publishes_held', 'MQTT publishes parsed and not yet done (committed, acked, routed), across connections (edge/ingest/inflight.ts)', [], function () {
      this.set(gate.holding);
    });
    o.metrics?.gauge('edge_mqtt_publishes_held_peak', 'Most MQTT publishes held at once since start: GRIDWATCH_MQTT_MAX_INFLIGHT plus a few per connection', [], function () {
      this.set(gate.peak);
    });
    const aedes = await Aedes.createBroker(brokerPolicy(o, refused, gate));
    const b = new EmbeddedBroker(aedes, o, refused, refusals, gate);
    // One refusal per connection: mqtt-packet may report several errors for one broken packet.
    const counted = new WeakSet<Client>();
    const onError = (what: string) => (client: Client | null, err: Error) => {
      const reason = refusalOf(err);
      if (reason !== null && !(client && counted.has(client))) {
        if (client) counted.add(client);
        refused(reason);
      }
      if (err instanceof UnauthorizedPublish) o.logger.warn({ clientId: client?.id, reason: err.reason, err: err.message }, 'publish refused; connection closed');
      else o.logger.debug({ clientId: client?.id, err: err.message, refusal: reason }, what);
    };
    aedes.on('clientError', onError('mqtt client error'));
    aedes.on('connectionError', onError('mqtt connection error'));
    await b.listen();
    return b;
  }

  /** Whether the listeners accept connections (for /readyz). */
  get listening(): boolean {
    return this.open;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Hands one accepted stream to aedes, applying the connection and packet-size limits. */
  private handle(stream: Duplex, destroy: () => void, certCn: string | null = null): void {
    if (!this.open || this.connections >= this.o.limits.maxConnections) {
      if (this.open) this.refused('connection_limit');
      destroy();
      return;
    }
    this.connections++;
    stream.once('close', () => this.connections--);
    const client = this.aedes.handle(stream as Socket);
    this.clients.add(client);
    this.gate.add(client as unknown as AedesClientInternals);
    stream.once('close', () => {
      this.clients.delete(client);
      this.gate.delete(client as unknown as AedesClientInternals);
    });
    // Set before aedes reads CONNECT: handle() only attaches listeners, data comes on a later tick.
    certificates.set(client, certCn);
    // Refusals are counted in the intake's counts, which the gateway exports as
    // edge_readings_rejected_total{reason="payload_too_large"}.
    let refused = false;
    limitPacketSize(client, this.o.limits.maxPacketBytes, () => {
      if (!refused) this.o.intake.countRefused('payload_too_large');
      refused = true;
      destroy();
    });
  }

  /**
   * Disconnects the clients that authenticated as one of `usernames` (a credentials reload
   * removed or changed them); every other client stays. Returns how many were disconnected.
   */
  disconnectUsers(usernames: ReadonlySet<string>): number {
    if (usernames.size === 0) return 0;
    let n = 0;
    for (const client of this.clients) {
      const who = identities.get(client);
      if (who?.username != null && usernames.has(who.username)) {
        n++;
        this.o.logger.info({ clientId: client.id, username: who.username, via: who.via }, 'credentials removed or changed; client disconnected');
        client.close();
      }
    }
    return n;
  }

  private tlsOptions(t: BrokerTls): TlsOptions {
    const mode = t.clientCerts ?? 'off';
    return {
      cert: readFileSync(t.certFile),
      key: readFileSync(t.keyFile),
      ...(mode !== 'off' ? { ca: readFileSync(t.caFile!), requestCert: true, rejectUnauthorized: mode === 'required' } : {}),
      minVersion: 'TLSv1.2',
      highWaterMark: this.o.limits.socketBufferBytes,
    };
  }

  private async listen(): Promise<void> {
    const { host, port, tls, wsPort, wssPort } = this.o.listeners;
    // A bigger read buffer lets one read hand aedes more packets, so one commit group holds more
    // readings (aedes reads a client's next chunk only after every publish in the current one is
    // done): the group size, not the fsync, is what bounds a single fast publisher.
    const tcp = createNetServer({ highWaterMark: this.o.limits.socketBufferBytes }, (s) => this.handle(s, () => s.destroy()));
    this.addresses.tcp = await listenOn(tcp, host, port);
    this.servers.push(tcp);
    if (tls?.port !== undefined) {
      const server = createTlsServer(this.tlsOptions(tls), (s) => this.handle(s, () => s.destroy(), verifiedCn(s)));
      // A refused handshake (wrong CA, no client certificate when required) is a debug line, not noise.
      server.on('tlsClientError', (err) => this.o.logger.debug({ err: err.message }, 'mqtt tls handshake refused'));
      this.addresses.tls = await listenOn(server, host, tls.port);
      this.servers.push(server);
    }
    const upgradeOnly = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(426).end('MQTT over WebSocket only\n');
    if (wsPort !== undefined) {
      const http = createHttpServer(upgradeOnly);
      this.acceptWebSockets(http, () => null);
      this.addresses.ws = await listenOn(http, host, wsPort);
      this.servers.push(http);
    }
    if (wssPort !== undefined && tls) {
      const https = createHttpsServer(this.tlsOptions(tls), upgradeOnly);
      https.on('tlsClientError', (err) => this.o.logger.debug({ err: err.message }, 'mqtt wss handshake refused'));
      this.acceptWebSockets(https, (req) => verifiedCn(req.socket as TLSSocket));
      this.addresses.wss = await listenOn(https, host, wssPort);
      this.servers.push(https);
    }
    this.open = true;
    this.o.logger.info({ ...this.addresses, host }, 'mqtt listening');
  }

  private acceptWebSockets(server: HttpServer, cnOf: (req: IncomingMessage) => string | null): void {
    const wss = new WebSocketServer({ server, maxPayload: this.o.limits.maxPacketBytes + 16 });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      this.handle(stream, () => ws.terminate(), cnOf(req));
    });
    this.wss.push(wss);
  }

  /** Stops intake: no new connections, existing clients disconnected; in-flight publishes finish their commit. */
  async close(): Promise<void> {
    this.open = false;
    this.gate.close();
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const w of this.wss) w.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await Promise.all(closing);
  }
}

/**
 * Accept queue of each listener. Node's default is 511: when thousands of meters reconnect at
 * once (the gateway restarted after a power cut), connections beyond it are dropped as SYNs,
 * and each meter's TCP stack retries after 1, 3, 7, 15, 31 s - a storm of 10,000 took two
 * minutes, at ~80 connections/s, mostly waiting. The kernel caps it at net.core.somaxconn
 * (4096 on current kernels). README "Reconnect storms".
 */
export const LISTEN_BACKLOG = 8192;

function listenOn(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Refuses a packet as soon as its fixed header announces more than `max` bytes, before the body
 * is buffered (aedes gives no option for this; mqtt-packet's parser reads the length in
 * `_parseLength`). authorizePublish checks the payload size again in case the hook is absent.
 */
function limitPacketSize(client: Client, max: number, destroy: () => void): void {
  const parser = (client as unknown as { _parser?: { _parseLength?: () => boolean; packet?: { length?: number } } })._parser;
  const original = parser?._parseLength;
  if (!parser || typeof original !== 'function') return;
  parser._parseLength = function parseLengthWithLimit(this: { packet?: { length?: number } }) {
    const ok = original.call(this);
    if (ok && (this.packet?.length ?? 0) > max) destroy();
    return ok;
  };
}

/** aedes options carrying the policy: authentication, publish and subscribe authorisation. */
export function brokerPolicy(o: Pick<BrokerOptions, 'intake' | 'authorizer' | 'limits' | 'logger'>, refused: (reason: MqttRefusal) => void = () => undefined, gate: InflightGate | null = null): ConstructorParameters<typeof Aedes>[0] {
  const { intake, authorizer, limits } = o;
  return {
    maxClientsIdLength: limits.maxClientIdLength,
    maxTopicLevels: 8,
    queueLimit: 64,
    // A CONNECT must come within 10 s of the connection (aedes' default is 30 s): a half-sent
    // CONNECT otherwise holds one of maxConnections that long.
    connectTimeout: 10_000,
    preConnect(_client, packet, callback) {
      // Refused with an error, not `false`: aedes answers `false` with nothing at all and the
      // connection then hangs, never connected and never closed.
      if (!(typeof packet.clientId === 'string' && packet.clientId.length <= limits.maxClientIdLength)) {
        return callback(Object.assign(new Error('client id too long'), { errorCode: 2 }), false);
      }
      // A will is a PUBLISH to come: wildcards are as malformed in it as in a PUBLISH [MQTT-3.3.2-2]
      // (aedes checks them only on PUBLISH). Forbidden will topics are refused when the will fires.
      const willTopic = packet.will?.topic;
      if (typeof willTopic === 'string' && /[#+]/.test(willTopic)) return callback(new Error('wildcard in the will topic'), false);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      authorizer.identify(username, password, certificates.get(client) ?? null).then(
        (who) => {
          if (who === null) {
            const err = Object.assign(new Error('bad user name or password'), { returnCode: 4 as const });
            return callback(err, false);
          }
          principals.set(client, who.principal);
          identities.set(client, who);
          callback(null, true);
        },
        (err: Error) => callback(Object.assign(err, { returnCode: 3 as const }), false),
      );
    },
    authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) {
      const principal = client ? principals.get(client) : undefined;
      // client === null: an obsolete will of a client from before a restart - not ours to judge.
      if (!client || !principal) return callback(new Error('unauthenticated publish'));
      const topic = packet.topic;
      // mqtt-packet decodes topic bytes without checking them: ill-formed UTF-8 comes out as U+FFFD.
      // The connection must close [MQTT-1.5.3-1]; counted as a protocol error by the clientError handler.
      if (topic.includes('\uFFFD')) return callback(new Error('topic is not well-formed UTF-8'));
      const payload = packet.payload as Buffer | string;
      if (topic.length > limits.maxTopicLength || payload.length > limits.maxPacketBytes) {
        intake.countRefused('payload_too_large');
        return callback(new UnauthorizedPublish('payload_too_large', `topic or payload over the limit on ${topic.slice(0, 64)}`));
      }
      // Retained messages would be kept in broker memory for any subscriber: devices never need them.
      packet.retain = false;
      gate?.enter(client as unknown as AedesClientInternals);
      intake.onPublish(principal, client.id, topic, typeof payload === 'string' ? Buffer.from(payload) : payload, (err) => callback(err ?? null));
    },
    authorizeSubscribe(client: Client, sub: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void) {
      const principal = principals.get(client);
      // Negated (SUBACK 0x80) rather than an error: the client learns it, and stays connected.
      const ok = principal !== undefined && authorizer.maySubscribe(principal, sub.topic);
      if (!ok) refused('subscribe_denied');
      callback(null, ok ? sub : null);
    },
  };
}

type TlsSettings = Pick<EdgeConfig, 'mqttMode' | 'mqttTlsPort' | 'mqttWssPort' | 'mqttTlsCert' | 'mqttTlsKey' | 'mqttTlsCa' | 'mqttTlsClientCerts'>;

/** The TLS settings make sense together (or the gateway does not start: exit 78). */
export function checkMqttTls(c: TlsSettings): void {
  const listener = c.mqttTlsPort !== undefined ? 'GRIDWATCH_MQTT_TLS_PORT' : c.mqttWssPort !== undefined ? 'GRIDWATCH_MQTT_WSS_PORT' : null;
  if (listener && !(c.mqttTlsCert && c.mqttTlsKey)) throw new GridwatchError('CONFIG_INVALID', `${listener} needs GRIDWATCH_MQTT_TLS_CERT and GRIDWATCH_MQTT_TLS_KEY`);
  if (c.mqttTlsClientCerts !== 'off' && !c.mqttTlsCa) throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_TLS_CLIENT_CERTS=${c.mqttTlsClientCerts} needs GRIDWATCH_MQTT_TLS_CA (the CA device certificates chain to)`);
  if (c.mqttTlsClientCerts !== 'off' && !listener) throw new GridwatchError('CONFIG_INVALID', `GRIDWATCH_MQTT_TLS_CLIENT_CERTS=${c.mqttTlsClientCerts} needs a TLS listener (GRIDWATCH_MQTT_TLS_PORT or GRIDWATCH_MQTT_WSS_PORT)`);
}

/** The broker's TLS and WebSocket-over-TLS listeners from the gateway's settings. */
export function mqttTlsListeners(c: TlsSettings): Pick<BrokerListeners, 'tls' | 'wssPort'> {
  if (!(c.mqttTlsCert && c.mqttTlsKey) || (c.mqttTlsPort === undefined && c.mqttWssPort === undefined)) return {};
  return {
    tls: {
      ...(c.mqttTlsPort !== undefined ? { port: c.mqttTlsPort } : {}),
      certFile: c.mqttTlsCert,
      keyFile: c.mqttTlsKey,
      clientCerts: c.mqttTlsClientCerts,
      ...(c.mqttTlsCa ? { caFile: c.mqttTlsCa } : {}),
    },
    ...(c.mqttWssPort !== undefined ? { wssPort: c.mqttWssPort } : {}),
  };
}
