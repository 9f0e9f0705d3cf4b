import { GridwatchError, loadTopologyFile, LATENCY_BUCKETS_S, systemClock, TOPICS, type Clock, type Logger, type Metrics, type Topology } from '../shared/index.ts';
import { Detector } from './detect/index.ts';
import { EdgeStore, GroupCommitter } from './store/index.ts';
import { ensureTopics, Forwarder } from './forward/index.ts';
import { Authorizer, loadCredentialsFile, type CredentialsFile } from './ingest/auth.ts';
import { EmbeddedBroker, checkMqttTls, mqttTlsListeners } from './ingest/broker.ts';
import { CredentialsWatch } from './ingest/credentials-watch.ts';
import { UpstreamIntake } from './ingest/upstream.ts';
import { Intake } from './ingest/intake.ts';
import { MeterDirectory } from './ingest/meters.ts';
import { commitWhenIdle, type CommitUnit } from './ingest/ports.ts';
import { REJECT_REASONS } from './ingest/validate.ts';
import type { EdgeConfig } from './config.ts';
import { HeartbeatBuilder } from './ops/heartbeat.ts';
import { Housekeeping } from './ops/housekeeping.ts';
import { OpsServer, type Readiness } from './ops/http.ts';
import type { ServiceSample } from './ops/service.ts';

/**
 * The edge gateway's composition root. Data flows:
 *
 *   MQTT (aedes: TCP/TLS/WS) --authorizePublish--> Intake: route, authorise, parse, validate,
 *   topology (MeterDirectory), Detector.onReading --> CommitUnit (outbox records + detector
 *   state + dead letters) --> GroupCommitter --> SQLite (EdgeStore) --> callback --> PUBACK
 *
 *   EdgeStore outbox --> Forwarder (idempotent kafkajs producer) --> Kafka grid.* topics
 *
 * Around it: the detector's dropout timer, housekeeping on node-cron (heartbeat on
 * grid.edge-status, checkpoints, WAL checkpoints and budget, retention), and the ops HTTP server.
 */
export const EDGE_VERSION = '0.1.0';

/**
 * Rolling detector checkpoints (edge/store/README.md): 5 meters per 300 records costs about 20%
 * of the commit rate; at 10,000 readings/s a gateway with 10,000 meters re-checkpoints each meter
 * about every minute, which bounds the replay at start to about a minute of readings.
 */
const CHECKPOINT_EVERY_RECORDS = 300;
const CHECKPOINT_METERS = 5;

export interface EdgeOptions {
  config: EdgeConfig;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
}

export class EdgePipeline {
  private broker: EmbeddedBroker | null = null;
  private upstream: UpstreamIntake | null = null;
  private credentialsWatch: CredentialsWatch | null = null;
  private http: OpsServer | null = null;
  private housekeeping: Housekeeping | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private storeOpen = true;
  private readonly startedAt: number;
  private readonly heartbeat = new HeartbeatBuilder();
  private published = { accepted: 0, duplicates: 0, rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<string, number>, anomalies: new Map<string, number>() };
  private readonly m: ReturnType<typeof createEdgeMetrics>;

  private constructor(
    private readonly o: EdgeOptions,
    private readonly clock: Clock,
    readonly store: EdgeStore,
    readonly committer: GroupCommitter,
    readonly forwarder: Forwarder,
    readonly detector: Detector,
    readonly intake: Intake,
    readonly topology: Topology | null,
  ) {
    this.startedAt = clock.now();
    this.m = createEdgeMetrics(o.metrics, this);
  }

  static async start(o: EdgeOptions): Promise<EdgePipeline> {
    const { config: c, logger } = o;
    const clock = o.clock ?? systemClock;
    const topology = c.topology ? loadTopologyFile(c.topology) : null;
    const credentials: CredentialsFile = c.mqttCredentials ? loadCredentialsFile(c.mqttCredentials) : {};
    if (c.mqttMode === 'upstream' && !c.mqttUpstreamUrl) throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_MQTT_UPSTREAM_URL: required with GRIDWATCH_MQTT_MODE=upstream');
    if (c.mqttMode === 'upstream' && (c.mqttTlsPort !== undefined || c.mqttWsPort !== undefined)) logger.warn('GRIDWATCH_MQTT_TLS_PORT / GRIDWATCH_MQTT_WS_PORT are ignored with GRIDWATCH_MQTT_MODE=upstream');
    checkMqttTls(c);
    if (c.mqttMode === 'embedded' && !c.mqttAllowAnonymous && Object.keys(credentials).length === 0) {
      throw new GridwatchError('CONFIG_INVALID', 'GRIDWATCH_MQTT_CREDENTIALS: no device credentials and GRIDWATCH_MQTT_ALLOW_ANONYMOUS is not true: no meter could connect');
    }
    if (c.mqttMode === 'embedded' && c.mqttAllowAnonymous) logger.warn('anonymous MQTT access is enabled (GRIDWATCH_MQTT_ALLOW_ANONYMOUS=true): any client may publish readings for any meter');

    const store = EdgeStore.open({
      dir: c.dataDir,
      edgeId: c.edgeId,
      budgetBytes: c.diskBudgetBytes,
      synchronous: c.sqliteSynchronous,
      clock,
      logger,
      deadLetterMax: c.deadLetterMax,
      retainForReplay: true,
      metrics: o.metrics,
    });
    const meters = new MeterDirectory(c.edgeId, topology, { nominalVoltage: c.defaultNominalVoltage, nominalFrequency: c.defaultNominalFrequency, readingIntervalMs: c.defaultReadingIntervalMs });
    const detector = new Detector({ edgeId: c.edgeId, context: meters.context, clock, config: c.detect });
    const restoredMeters = restoreDetector(store, detector, TOPICS, logger);
    // Silence while the gateway was stopped is not the meters' (edge/detect/README.md, "Dropout after a restart").
    detector.listeningSince(clock.now());
    let pipeline: EdgePipeline | null = null;
    const committer = new GroupCommitter(store, {
      maxDelayMs: c.commitMaxDelayMs,
      maxRecords: c.commitMaxRecords,
      metrics: o.metrics,
      // The forwarder sleeps when the outbox is empty; a commit is the moment to look again.
      onCommitted: () => pipeline?.forwarder.wake(),
      onError: (err) => logger.error({ err: err.message }, 'commit failed; the readings in it are not acknowledged'),
    });
    const authorizer = new Authorizer({ allowAnonymous: c.mqttAllowAnonymous, credentials });
    const intake = new Intake({
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
      checkpoint: { everyRecords: CHECKPOINT_EVERY_RECORDS, perCheckpoint: CHECKPOINT_METERS },
      onCommitted: (ms) => pipeline?.m.ackSeconds.observe(ms / 1000),
    });
    const forwarder = new Forwarder({ store, brokers: c.kafkaBrokers, clientId: `gridwatch-edge-${c.edgeId}`, logger, metrics: o.metrics, topicMap: kafkaTopics(c.kafkaTopicPrefix) });
    intake.knowMeters(restoredMeters);
    pipeline = new EdgePipeline(o, clock, store, committer, forwarder, detector, intake, topology);
    await pipeline.run(authorizer);
    return pipeline;
  }

  private async run(authorizer: Authorizer): Promise<void> {
    const { config: c, logger } = this.o;
    if (c.ensureTopics) {
      // A Kafka outage must not keep the gateway from taking readings: topics are ensured in the background.
      const topics = kafkaTopics(c.kafkaTopicPrefix);
      ensureTopics(c.kafkaBrokers, {
        partitions: c.kafkaTopicPartitions,
        replicationFactor: c.kafkaReplicationFactor,
        topics: Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [k, topics[v] ?? v])),
      }).catch((err: Error) => logger.warn({ err: err.message }, 'could not ensure Kafka topics; the forwarder retries'));
    }
    this.forwarder.start().catch((err: Error) => logger.error({ err: err.message }, 'forwarder stopped with an error'));
    await this.publishTopology();
    this.tickTimer = setInterval(() => this.tick(), c.detectTickMs);
    this.tickTimer.unref();
    this.housekeeping = new Housekeeping(
      [
        { name: 'heartbeat', schedule: c.heartbeatCron, run: () => this.sendHeartbeat() },
        // The WAL is checkpointed passively (never blocks the committer); the budget is enforced after every group commit too.
        { name: 'wal-checkpoint', schedule: c.walCheckpointCron, run: () => this.storeChore(() => this.store.sqlite().pragma('wal_checkpoint(PASSIVE)')) },
        { name: 'budget', schedule: c.budgetCron, run: () => this.storeChore(() => this.store.enforceBudget()) },
        { name: 'retention', schedule: c.retentionCron, run: () => this.storeChore(() => this.store.housekeeping({ deadLetterRetentionMs: c.deadLetterRetentionMs, gapRetentionMs: c.gapRetentionMs })) },
      ],
      logger,
    );
    if (c.mqttMode === 'upstream') {
      this.upstream = UpstreamIntake.start({ url: c.mqttUpstreamUrl!, clientId: `gridwatch-edge-${c.edgeId}`, intake: this.intake, logger });
    } else {
      this.broker = await EmbeddedBroker.start({
        intake: this.intake,
        authorizer,
        logger,
        limits: {
          maxConnections: c.mqttMaxConnections,
          maxPacketBytes: c.mqttMaxPacketBytes,
          maxTopicLength: c.mqttMaxTopicLength,
          maxClientIdLength: c.mqttMaxClientIdLength,
          socketBufferBytes: c.mqttSocketBufferBytes,
        },
        listeners: {
          host: c.mqttHost,
          port: c.mqttPort,
          ...mqttTlsListeners(c),
          ...(c.mqttWsPort !== undefined ? { wsPort: c.mqttWsPort } : {}),
        },
      });
    }
    if (this.broker && c.mqttCredentials) {
      const broker = this.broker;
      this.credentialsWatch = CredentialsWatch.start({ path: c.mqttCredentials, authorizer, disconnectUsers: (u) => broker.disconnectUsers(u), logger, metrics: this.o.metrics });
    }
    this.http = await OpsServer.start({ host: c.httpHost, port: c.httpPort, metrics: this.o.metrics, readiness: () => this.readiness(), beforeScrape: () => this.publishCounts(), logger });
    logger.info({ mqttMode: c.mqttMode, mqtt: this.broker?.addresses ?? null, http: this.http.port }, 'edge gateway started');
  }

  get mqttAddresses() {
    return this.broker?.addresses ?? { tcp: 0 };
  }
  get httpPort(): number {
    return this.http?.port ?? 0;
  }

  readiness(): Readiness {
    const listening = this.broker?.listening ?? this.upstream?.listening ?? false;
    const fwd = this.forwarder.status() as Record<string, unknown>;
    return {
      ready: listening && this.storeOpen && !this.stopping,
      checks: {
        mqttListening: listening,
        mqttMode: this.o.config.mqttMode,
        storeOpen: this.storeOpen,
        shuttingDown: this.stopping,
        // Reported, never a reason to be unready: the outbox keeps readings while Kafka is away.
        kafkaConnected: typeof fwd.connected === 'boolean' ? fwd.connected : null,
      },
    };
  }

  /** For systemd (edge/ops/service.ts): the committer's progress, and one status line. */
  serviceSample(): ServiceSample {
    const p = this.committer.progress;
    const progress = { committed: p.committed, failed: p.failed, pending: this.committer.pendingUnits };
    if (!this.storeOpen) return { progress, status: 'stopped' };
    const ob = outboxStats(this.store, this.clock.now());
    const kafka = this.forwarder.status().connected ? 'connected' : 'not connected';
    const status = `outbox ${ob.depth} records, ${(ob.bytes / 1_048_576).toFixed(1)} MiB, oldest ${Math.round(ob.oldestAgeMs / 1000)} s; ${this.detector.meterCount()} meters; Kafka ${kafka}`;
    return { progress, status };
  }

  /** The topology this gateway serves, on grid.topology (key meterId, compacted) at every start. */
  private async publishTopology(): Promise<void> {
    if (!this.topology) return;
    const now = this.clock.now();
    let batch: CommitUnit['records'] = [];
    const pending: Promise<void>[] = [];
    const flush = () => {
      const unit = { records: batch };
      batch = [];
      pending.push(new Promise<void>((resolve, reject) => this.committer.submit(unit, (err) => (err ? reject(err) : resolve()))));
    };
    for (const e of this.topology.entries()) {
      batch.push({ topic: TOPICS.topology, key: e.meterId, value: JSON.stringify(e), lane: 'control', ts: now, meterId: e.meterId, seq: null });
      if (batch.length >= 1000) flush();
    }
    if (batch.length > 0) flush();
    await Promise.all(pending);
  }

  private tick(): void {
    if (this.stopping) return;
    const anomalies = this.detector.tick();
    if (anomalies.length === 0) return;
    this.intake.commitAnomalies(anomalies, (err) => {
      if (err) this.o.logger.error({ err: err.message }, 'could not commit dropout anomalies');
    });
  }

  private sendHeartbeat(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.publishCounts();
    const c = this.o.config;
    const now = this.clock.now();
    const ob = outboxStats(this.store, now);
    const status = this.heartbeat.build({
      edgeId: c.edgeId,
      substationId: c.substationId ?? null,
      startedAt: this.startedAt,
      now,
      outbox: ob,
      gaps: ob.gaps,
      totals: { accepted: this.intake.counts.accepted, rejected: this.intake.counts.rejectedTotal(), forwarded: forwardedTotal(this.forwarder) },
      medianSkewMs: this.intake.medianSkewMs(),
      clockSkewMs: c.clockSkewMs,
      meters: this.detector.meterCount(),
      version: EDGE_VERSION,
    });
    const unit: CommitUnit = { records: [{ topic: TOPICS.edgeStatus, key: c.edgeId, value: JSON.stringify(status), lane: 'control', ts: status.ts, seq: null }] };
    return new Promise((resolve, reject) => this.committer.submit(unit, (err) => (err ? reject(err) : resolve())));
  }

  private storeChore(fn: () => unknown): void {
    if (!this.stopping && this.storeOpen) fn();
  }

  /** Moves the intake's plain-number counts into the Prometheus counters (deltas since last time). */
  publishCounts(): void {
    const k = this.intake.counts;
    const p = this.published;
    this.m.accepted.inc(k.accepted - p.accepted);
    p.accepted = k.accepted;
    this.m.duplicates.inc(k.duplicates - p.duplicates);
    p.duplicates = k.duplicates;
    for (const r of REJECT_REASONS) {
      const d = k.rejected[r] - (p.rejected[r] ?? 0);
      if (d > 0) this.m.rejected.inc({ reason: r }, d);
      p.rejected[r] = k.rejected[r];
    }
    for (const [key, n] of k.anomalies) {
      const d = n - (p.anomalies.get(key) ?? 0);
      if (d <= 0) continue;
      const [type, state] = key.split(':') as [string, string];
      this.m.anomalies.inc({ type, state }, d);
      p.anomalies.set(key, n);
    }
  }

  /**
   * SIGTERM: stop intake (listeners closed, clients dropped; in-flight publishes finish their
   * commit), flush the committer, let the forwarder drain within the bound, close the store.
   */
  async stop(): Promise<{ drained: boolean; remaining: number }> {
    if (this.stopping) return { drained: false, remaining: -1 };
    this.stopping = true;
    const log = this.o.logger;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.credentialsWatch?.close();
    await this.broker?.close();
    await this.upstream?.close();
    await this.housekeeping?.stop();
    await this.committer.flush();
    await this.committer.close();
    const result = await this.forwarder.stop({ drainTimeoutMs: this.o.config.drainTimeoutMs });
    this.publishCounts();
    this.store.close();
    this.storeOpen = false;
    await this.http?.close();
    log.info(result, 'edge gateway stopped');
    return result;
  }
}

function createEdgeMetrics(metrics: Metrics, p: EdgePipeline) {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  metrics.gauge('edge_meters', 'Meters the detector holds state for', [], function () {
    this.set(p.detector.meterCount());
  });
  metrics.gauge('edge_forwarded_records', 'Records forwarded to Kafka since start', [], function () {
    this.set(num(forwardedTotal(p.forwarder)));
  });
  return {
    accepted: metrics.counter('edge_readings_accepted_total', 'Readings accepted and committed to the outbox'),
    duplicates: metrics.counter('edge_readings_duplicate_total', 'Readings dropped as repeats of a seq already taken (QoS 1 redelivery)'),
    rejected: metrics.counter<'reason'>('edge_readings_rejected_total', 'Messages or array elements rejected, by reason', ['reason']),
    anomalies: metrics.counter<'type' | 'state'>('edge_anomalies_total', 'Anomaly transitions detected, by type and state', ['type', 'state']),
    ackSeconds: metrics.histogram('edge_publish_to_commit_seconds', 'From a publish reaching the gateway to its commit (then the PUBACK)', LATENCY_BUCKETS_S),
  };
}

/**
 * Restores the detector after a restart, kill -9 included: per-meter checkpoints, then the
 * journal rows no checkpoint covers, fed back in order with their outputs discarded (they were
 * committed before the stop). The detector is deterministic in event time, so it ends where it
 * was at the last commit: no duplicate `open`, and seqs already taken are recognised.
 */
function restoreDetector(store: EdgeStore, detector: Detector, topics: typeof TOPICS, logger: Logger): string[] {
  const cp = store.loadCheckpoint();
  if (cp) for (const [id, snap] of cp.states) detector.importMeter(id, snap as Parameters<Detector['importMeter']>[1]);
  let replayed = 0;
  let skipped = 0;
  for (const row of store.replayAfterCheckpoint()) {
    if (row.topic !== topics.readings) continue;
    try {
      const r = JSON.parse(row.value) as Parameters<Detector['onReading']>[0];
      detector.onReading(r);
      replayed++;
    } catch {
      skipped++; // a row the store kept but that does not parse: cannot change state, nothing to replay
    }
  }
  detector.takeDirty();
  const meters = cp ? [...cp.states.keys()] : [];
  logger.info({ checkpointedMeters: meters.length, replayedReadings: replayed, skipped, replayIncomplete: store.replayIncomplete() }, 'detector state restored');
  if (store.replayIncomplete()) logger.warn('the replay journal was cut under disk pressure: detector state of some meters restarts from an older checkpoint');
  return meters;
}

/** Stored topic -> Kafka topic: the v1 names, with the configured prefix. */
export function kafkaTopics(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.values(TOPICS).map((t) => [t, prefix + t]));
}

/** Outbox figures for the heartbeat. */
function outboxStats(store: EdgeStore, now: number): { depth: number; bytes: number; oldestAgeMs: number; gaps: { records: number; readings: number } } {
  const s = store.stats();
  return { depth: s.depth, bytes: s.bytes, oldestAgeMs: s.oldestTs === null ? 0 : Math.max(0, now - s.oldestTs), gaps: { records: s.gapsRecorded, readings: s.gapReadings } };
}

function forwardedTotal(f: Forwarder): number {
  const s = f.status() as unknown as Record<string, unknown>;
  for (const k of ['forwarded', 'sent', 'forwardedRecords', 'acked']) if (typeof s[k] === 'number') return s[k] as number;
  return 0;
}
