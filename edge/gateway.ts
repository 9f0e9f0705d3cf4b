// `gridwatch edge`, the edge gateway: the composition root. Parts are built in the order data
// flows, started in that order and stopped in reverse (shared/lifecycle.ts):
//
//   MQTT (aedes: TCP/TLS/WS, or an upstream broker) --authorizePublish--> Intake: route, authorise,
//   parse, validate, topology (MeterDirectory), Detector.onReading --> CommitUnit (outbox records
//   + detector checkpoints + dead letters) --> GroupCommitter --> SQLite (EdgeStore) --> PUBACK
//
//   EdgeStore outbox --> Forwarder (idempotent kafkajs producer) --> Kafka grid.* topics
//
// Around it: the detector's dropout timer, the topology published at start, housekeeping on
// node-cron (heartbeat on grid.edge-status, WAL checkpoints, budget, retention), the ops HTTP
// server. Stopping: intake closed, committer flushed, outbox drained to Kafka within the bound,
// store closed, ops server last (so /readyz says "not ready" throughout).
import { GridwatchError, loadTopologyFile, systemClock, TOPICS, type Clock, type Logger, type Metrics, type Topology } from '../shared/index.ts';
import { createKafkaClient, ensureTopicsOn, topicNames, topicSpecs } from '../shared/kafka/index.ts';
import { kafkaSecurity, refusalAtStart } from '../shared/kafka/security.ts';

import { intervalPart, part, startParts, stopParts, type Part } from '../shared/lifecycle.ts';
import type { EdgeConfig } from './config.ts';
import { Detector } from './detect/index.ts';
import { Forwarder } from './forward/index.ts';
import { createRecordProducer, preloadProducerClient } from '../shared/kafka/record-producers.ts';
import { Authorizer, loadCredentialsFile, type CredentialsFile } from './ingest/auth.ts';
import { EmbeddedBroker, checkMqttTls, mqttTlsListeners } from './ingest/broker.ts';
import { CredentialsWatch } from './ingest/credentials-watch.ts';
import { Hearing } from './detect/hearing.ts';
import { FD_RESERVE, connectionsWithinFdLimit, openFilesLimit } from './ingest/fd-limit.ts';
import { RollingCheckpoints } from './ingest/checkpoints.ts';
import { Intake } from './ingest/intake.ts';
import { MeterDirectory } from './ingest/meters.ts';
import { commitWhenIdle, type CommitUnit } from './ingest/ports.ts';
import { UpstreamIntake } from './ingest/upstream.ts';
import { HeartbeatPublisher } from './ops/heartbeat.ts';
import { Housekeeping } from './ops/housekeeping.ts';
import { OpsServer, type Readiness } from './ops/http.ts';
import { EdgeMetrics } from './ops/metrics.ts';
import type { ServiceSample } from './ops/service.ts';
import { TopologyPublication } from './ops/topology.ts';
import { EdgeStore, GroupCommitter } from './store/index.ts';
import { restoreDetector } from './store/restore.ts';

/** How long the start waits for Kafka's answer before going on without it. */
const KAFKA_CHECK_MS = 3000;

export const EDGE_VERSION = '0.1.0';

export interface EdgeOptions {
  config: EdgeConfig;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
}

export class EdgeGateway {
  readonly store: EdgeStore;
  readonly committer: GroupCommitter;
  readonly forwarder: Forwarder;
  readonly detector: Detector;
  readonly intake: Intake;
  private broker: EmbeddedBroker | null = null;
  private upstream: UpstreamIntake | null = null;
  private http: OpsServer | null = null;
  private readonly parts: Part[];
  private readonly clock: Clock;
  private state: 'new' | 'running' | 'failed' | 'stopping' | 'stopped' = 'new';
  private drained = { drained: false, remaining: -1 };

  /** Loads the topology and credentials, opens the store and restores the detector; nothing listens yet. */
  constructor(private readonly o: EdgeOptions) {
    const { config: c, logger } = o;
    const clock = (this.clock = o.clock ?? systemClock);
    this.hearing = new Hearing(c.detectTickMs);
    const startedAt = clock.now();
    if (c.mqttMode === 'upstream' && (c.mqttTlsPort !== undefined || c.mqttWsPort !== undefined)) logger.warn('GRIDWATCH_MQTT_TLS_PORT / GRIDWATCH_MQTT_WS_PORT are ignored with GRIDWATCH_MQTT_MODE=upstream');
    if (c.mqttMode === 'embedded' && c.mqttAllowAnonymous) logger.warn('anonymous MQTT access is enabled (GRIDWATCH_MQTT_ALLOW_ANONYMOUS=true): any client may publish readings for any meter');
    const topology: Topology | null = c.topology ? loadTopologyFile(c.topology) : null;
    const credentials: CredentialsFile = c.mqttCredentials ? loadCredentialsFile(c.mqttCredentials) : {};
    checkMqttTls(c);
    if (c.mqttMode === 'embedded' && !c.mqttAllowAnonymous && Object.keys(credentials).length === 0) {
      throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_MQTT_CREDENTIALS: no device credentials and GRIDWATCH_MQTT_ALLOW_ANONYMOUS is not true: no meter could connect');
    }
    const authorizer = new Authorizer({ allowAnonymous: c.mqttAllowAnonymous, credentials });

    const store = (this.store = EdgeStore.open({ dir: c.dataDir, edgeId: c.edgeId, budgetBytes: c.diskBudgetBytes, synchronous: c.sqliteSynchronous, clock, logger, deadLetterMax: c.deadLetterMax, retainForReplay: true, metrics: o.metrics }));
    try {
      const meters = new MeterDirectory(c.edgeId, topology, { nominalVoltage: c.defaultNominalVoltage, nominalFrequency: c.defaultNominalFrequency, readingIntervalMs: c.defaultReadingIntervalMs });
      const detector = (this.detector = new Detector({ edgeId: c.edgeId, context: meters.context, clock, config: c.detect }));
      const checkpoints = new RollingCheckpoints(detector);
      checkpoints.knowMeters(restoreDetector(store, detector, TOPICS.readings, logger));
      // Silence while the gateway was stopped is not the meters' (edge/detect/README.md, "Dropout after a restart").
      detector.listeningSince(clock.now());

      // Outbox -> Kafka. One client per program, built from its configuration.
      const topics = topicNames(c);
      const clientId = `gridwatch-edge-${c.edgeId}`;
      const security = kafkaSecurity(c);
      logger.info({ brokers: c.kafkaBrokers, kafka: security.describe() }, 'Kafka connection');
      const kafka = createKafkaClient({ brokers: c.kafkaBrokers, clientId, logger, kafkajsLogs: 'debug', retries: 3, security, zstdLevel: c.forwardZstdLevel });
      // The producer client of each lane (shared/kafka/producer.ts): kafkajs on `kafka`, or @platformatic/kafka with the same brokers and security.
      const createProducer = c.forwardClient === 'kafkajs'
        ? undefined
        : () => createRecordProducer({ client: c.forwardClient, kafka, brokers: c.kafkaBrokers, clientId, security, retries: 3, zstdLevel: c.forwardZstdLevel });
      const forwarder = (this.forwarder = new Forwarder({ store, kafka, ...(createProducer ? { createProducer } : {}), clientId, logger, metrics: o.metrics, readingsEncoding: c.readingsEncoding, readingsPerRecord: c.readingsPerRecord, compression: c.forwardCompression, batchMax: c.forwardBatchMax, lingerMs: c.forwardLingerMs, lingerRecords: c.forwardLingerRecords, stallMs: c.forwardStallMs, backlogRecords: c.forwardLiveTailAbove > 0 ? c.forwardLiveTailAbove : undefined, topicMap: Object.fromEntries(Object.entries(TOPICS).map(([k, stored]) => [stored, topics[k as keyof typeof TOPICS]])) }));
      // The forwarder sleeps when the outbox is empty; a commit is the moment to look again.
      const committer = (this.committer = new GroupCommitter(store, { maxDelayMs: c.commitMaxDelayMs, maxRecords: c.commitMaxRecords, metrics: o.metrics, onCommitted: () => forwarder.wake(), onError: (err) => logger.error({ err: err.message }, 'commit failed; the readings in it are not acknowledged') }));
      const submit = (unit: CommitUnit): Promise<void> => new Promise((resolve, reject) => committer.submit(unit, (err) => (err ? reject(err) : resolve())));
      const m = (new EdgeMetrics(o.metrics, { meters: () => detector.meterCount(), forwarded: () => forwarder.status().forwarded }));
      this.dropoutDeferred = m.dropoutDeferred;

      // MQTT -> intake -> committer.
      const intake = (this.intake = new Intake({
        edgeId: c.edgeId,
        substationId: c.substationId ?? null,
        detector,
        committer: commitWhenIdle(committer),
        authorizer,
        clock,
        meters,
        unknownMeterPolicy: c.unknownMeterPolicy,
        bounds: { aheadTagMs: c.clockSkewMs, behindTagMs: c.clockBehindMs, rejectAheadMs: c.clockRejectAheadMs, rejectBehindMs: c.clockRejectBehindMs },
        maxArrayReadings: c.maxArrayReadings,
        checkpoints,
        onCommitted: (ms) => m.ackSeconds.observe(ms / 1000),
      }));
      const heartbeat = new HeartbeatPublisher({
        edgeId: c.edgeId,
        substationId: c.substationId ?? null,
        clockSkewMs: c.clockSkewMs,
        version: EDGE_VERSION,
        startedAt,
        clock,
        topic: TOPICS.edgeStatus,
        submit,
        sources: {
          outbox: (now) => outboxStats(store, now),
          totals: () => ({ accepted: intake.counts.accepted, rejected: intake.counts.rejectedTotal(), forwarded: forwarder.status().forwarded }),
          medianSkewMs: () => intake.medianSkewMs(),
          meters: () => detector.meterCount(),
        },
      });
      let credentialsWatch: CredentialsWatch | null = null;
      const chore = (fn: () => unknown) => () => void (this.state === 'running' && store.isOpen() && fn());

      this.parts = [
        part('ops http', async () => {
          this.http = await OpsServer.start({ host: c.httpHost, port: c.httpPort, metrics: o.metrics, readiness: () => this.readiness(), beforeScrape: () => m.publish(intake.counts), logger });
        }, () => this.http?.close()),
        part('store', () => undefined, () => {
          m.publish(intake.counts);
          store.close();
        }),
        part('kafka check', async () => {
          // A refused login, an untrusted certificate or a denied ACL is a configuration error: the
          // gateway stops at start (exit 78) instead of filling its outbox for nobody. An unreachable
          // Kafka is not: the gateway takes readings and the forwarder retries. Bounded so a dead
          // link does not hold up the start.
          const admin = kafka.admin();
          const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, KAFKA_CHECK_MS, 'timeout').unref());
          try {
            const r = await Promise.race([admin.connect().then(() => 'ok' as const), timeout]);
            if (r === 'timeout') logger.warn({ brokers: c.kafkaBrokers }, `Kafka did not answer within ${KAFKA_CHECK_MS} ms at start; taking readings, the forwarder retries`);
          } catch (err) {
            const refused = refusalAtStart(err, { brokers: c.kafkaBrokers, security });
            if (refused) throw refused;
            logger.warn({ err: (err as Error).message }, 'Kafka unreachable at start; taking readings, the forwarder retries');
          } finally {
            void admin.disconnect().catch(() => undefined);
          }
        }),
        part('kafka topics', () => {
          // A Kafka outage must not keep the gateway from taking readings: topics are ensured in the background.
          if (!c.ensureTopics) return;
          const { state: _central, ...edgeTopics } = topics;
          ensureTopicsOn(kafka, topicSpecs(edgeTopics), { partitions: c.kafkaTopicPartitions, replicationFactor: c.kafkaReplicationFactor })
            .catch((err: Error) => logger.warn({ err: err.message }, 'could not ensure Kafka topics; the forwarder retries'));
        }),
        part('forwarder', async () => {
          // @platformatic/kafka takes ~0.3-0.5 s of the loading thread: here, before MQTT listens,
          // not at the first connect, where it held every publish of a running fleet that long.
          await preloadProducerClient(c.forwardClient);
          void forwarder.start().catch((err: Error) => logger.error({ err: err.message }, 'forwarder stopped with an error'));
        }, async (deadline) => {
          this.drained = await forwarder.stop({ drainTimeoutMs: Math.max(0, Math.min(c.drainTimeoutMs, deadline - Date.now())) });
        }),
        part('committer', () => undefined, async () => {
          await committer.flush();
          await committer.close();
        }),
        new TopologyPublication(topology, { topic: TOPICS.topology, clock, submit }),
        intervalPart('dropout timer', c.detectTickMs, () => this.tick()),
        new Housekeeping(
          [
            {
              name: 'heartbeat',
              schedule: c.heartbeatCron,
              run: async () => {
                if (this.state !== 'running') return;
                m.publish(intake.counts);
                await heartbeat.send();
              },
            },
            { name: 'wal-checkpoint', schedule: c.walCheckpointCron, run: chore(() => store.walCheckpoint()) },
            { name: 'budget', schedule: c.budgetCron, run: chore(() => store.enforceBudget()) },
            { name: 'retention', schedule: c.retentionCron, run: chore(() => store.housekeeping({ deadLetterRetentionMs: c.deadLetterRetentionMs, gapRetentionMs: c.gapRetentionMs })) },
          ],
          logger,
        ),
        part('mqtt intake', async () => {
          if (c.mqttMode === 'upstream') this.upstream = UpstreamIntake.start({ url: c.mqttUpstreamUrl!, clientId, intake, logger });
          else this.broker = await EmbeddedBroker.start({ intake, authorizer, logger, limits: brokerLimits(c, logger), listeners: brokerListeners(c), metrics: o.metrics });
        }, async () => {
          await this.broker?.close();
          await this.upstream?.close();
        }),
        // Device credentials reloaded on SIGHUP and on change (embedded broker only).
        part('credentials watch', () => {
          if (this.broker && c.mqttCredentials) {
            const broker = this.broker;
            credentialsWatch = CredentialsWatch.start({ path: c.mqttCredentials, authorizer, disconnectUsers: (u) => broker.disconnectUsers(u), logger, metrics: o.metrics });
          }
        }, () => credentialsWatch?.close()),
      ];
    } catch (err) {
      store.close();
      throw err;
    }
  }

  async start(): Promise<void> {
    this.state = 'running';
    try {
      await startParts(this.parts, this.o.logger);
    } catch (err) {
      this.state = 'failed'; // the parts that had started are stopped already
      throw err;
    }
    this.o.logger.info({ mqttMode: this.o.config.mqttMode, mqtt: this.broker?.addresses ?? null, http: this.httpPort }, 'edge gateway started');
  }

  /**
   * SIGTERM: stop intake (listeners closed, clients dropped; in-flight publishes finish their
   * commit), flush the committer, let the forwarder drain within the bound, close the store.
   */
  async stop(): Promise<{ drained: boolean; remaining: number }> {
    if (this.state !== 'running') return { drained: false, remaining: -1 };
    this.state = 'stopping';
    await stopParts(this.parts, Date.now() + this.o.config.drainTimeoutMs + 30_000, this.o.logger);
    this.state = 'stopped';
    this.o.logger.info(this.drained, 'edge gateway stopped');
    return this.drained;
  }

  /** Protocol-level MQTT refusals of the embedded broker by reason (null in upstream mode). */
  get mqttRefusals() {
    return this.broker?.refusals ?? null;
  }

  get mqttAddresses() {
    return this.broker?.addresses ?? { tcp: 0 };
  }
  get httpPort(): number {
    return this.http?.port ?? 0;
  }

  readiness(): Readiness {
    const listening = this.broker?.listening ?? this.upstream?.listening ?? false;
    const storeOpen = this.store.isOpen();
    const stopping = this.state !== 'running';
    return {
      ready: listening && storeOpen && !stopping,
      checks: {
        mqttListening: listening,
        mqttMode: this.o.config.mqttMode,
        storeOpen,
        shuttingDown: stopping,
        // Reported, never a reason to be unready: the outbox keeps readings while Kafka is away.
        kafkaConnected: this.forwarder.status().connected,
      },
    };
  }

  /** For systemd (edge/ops/service.ts): the committer's progress, and one status line. */
  serviceSample(): ServiceSample {
    const p = this.committer.progress;
    const progress = { committed: p.committed, failed: p.failed, pending: this.committer.pendingUnits };
    if (!this.store.isOpen()) return { progress, status: 'stopped' };
    const ob = outboxStats(this.store, this.clock.now());
    const kafka = this.forwarder.status().connected ? 'connected' : 'not connected';
    const status = `outbox ${ob.depth} records, ${(ob.bytes / 1_048_576).toFixed(1)} MiB, oldest ${Math.round(ob.oldestAgeMs / 1000)} s; ${this.detector.meterCount()} meters; Kafka ${kafka}`;
    return { progress, status };
  }

  /** Clock and monotonic time at the last tick: a difference between their advances is a clock step. */
  private lastTick: { clock: number; mono: number } | null = null;
  private readonly hearing: Hearing;
  private dropoutDeferred!: EdgeMetrics['dropoutDeferred'];
  private deaf = false;

  private tick(): void {
    if (this.state !== 'running') return;
    const clockNow = this.clock.now();
    const mono = performance.now();
    if (this.lastTick !== null) {
      const step = clockNow - this.lastTick.clock - (mono - this.lastTick.mono);
      // Timer lateness shows in both; only a jump of the clock itself is a step (2 s: above any
      // event-loop stall a tick can suffer, far below a dropout limit).
      if (Math.abs(step) > 2000) {
        this.o.logger.warn({ stepMs: Math.round(step) }, 'the gateway clock was stepped; silence is measured across the step');
        this.detector.clockStepped(step, this.lastTick.clock, clockNow);
      }
    }
    this.lastTick = { clock: clockNow, mono };
    const gate = this.broker?.gate;
    const hearing = this.hearing.sample({ mono, ...(gate ? { gate: { closed: gate.closed, closings: gate.closings, heldClients: gate.heldClients } } : {}) });
    if (hearing.behind) {
      // Silence is not counted while the gateway is behind its meters (edge/detect/hearing.ts).
      this.detector.listeningSince(clockNow);
      this.dropoutDeferred.inc({ reason: hearing.reason });
      if (!this.deaf) this.o.logger.warn({ reason: hearing.reason, lateMs: hearing.lateMs }, 'the gateway is behind its meters: dropout is not judged until it has caught up (edge/detect/README.md)');
      this.deaf = true;
    } else if (this.deaf) {
      this.deaf = false;
      this.o.logger.info({ behindTicks: this.hearing.behindTicks }, 'the gateway has caught up with its meters: dropout is judged again, silence counted from now');
    }
    const anomalies = this.detector.tick();
    if (anomalies.length === 0) return;
    this.intake.commitAnomalies(anomalies, (err) => {
      if (err) this.o.logger.error({ err: err.message }, 'could not commit dropout anomalies');
    });
  }
}

function brokerLimits(c: EdgeConfig, logger: Logger) {
  const fdLimit = openFilesLimit();
  const { maxConnections, clamped } = connectionsWithinFdLimit(c.mqttMaxConnections, fdLimit);
  if (clamped) {
    logger.warn(
      { asked: c.mqttMaxConnections, openFilesLimit: fdLimit, reserve: FD_RESERVE, maxConnections },
      'GRIDWATCH_MQTT_MAX_CONNECTIONS is above the open-files limit less the gateway\'s own files: the broker holds at most maxConnections (raise LimitNOFILE, as deploy/systemd does with 65536, to hold more)',
    );
  }
  return { maxConnections, maxPacketBytes: c.mqttMaxPacketBytes, maxTopicLength: c.mqttMaxTopicLength, maxClientIdLength: c.mqttMaxClientIdLength, socketBufferBytes: c.mqttSocketBufferBytes, maxInflight: c.mqttMaxInflight };
}

function brokerListeners(c: EdgeConfig) {
  return {
    host: c.mqttHost,
    port: c.mqttPort,
    ...mqttTlsListeners(c),
    ...(c.mqttWsPort !== undefined ? { wsPort: c.mqttWsPort } : {}),
  };
}

/** Outbox figures for the heartbeat and the systemd status line. */
function outboxStats(store: EdgeStore, now: number): { depth: number; bytes: number; oldestAgeMs: number; gaps: { records: number; readings: number } } {
  const s = store.stats();
  return { depth: s.depth, bytes: s.bytes, oldestAgeMs: s.oldestTs === null ? 0 : Math.max(0, now - s.oldestTs), gaps: { records: s.gapsRecorded, readings: s.gapReadings } };
}
