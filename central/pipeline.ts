// The composition root of `gridwatch central`: every part is created and connected here.
//
//   broadcast consumer (own group per instance, every partition)
//     grid.topology ........ -> topology registry (also loaded from a file at start)
//     grid.central-state ... -> hand-over snapshots (latest per substation)
//     grid.events .......... -> event store -> API, SSE
//     grid.anomalies ....... -> anomaly store (API); frequency anomalies -> grid correlator
//     grid.edge-status ..... -> edge store (API); owned substations -> local correlator
//     grid.gaps ............ -> owned substations -> local correlator
//   group consumer (shared group: the work is split)
//     grid.anomalies ....... -> local correlator (the substations of the partitions we own)
//     grid.readings ........ -> recent readings (API)
//     all four ............. -> archiver; offsets committed only when archived
//   correlators -> grid.events (+ webhook) ; local correlator state -> grid.central-state
//
// Rebalance hand-over and its limits: central/README.md.
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { CompressionTypes, type Admin, type Batch, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Counter, Gauge, Histogram } from 'prom-client';
import {
  LATENCY_BUCKETS_S,
  Metrics,
  createLogger,
  systemClock,
  toGridwatchError,
  validators,
  type Anomaly,
  type Clock,
  type GridEvent,
  type Logger,
} from '../shared/index.ts';
import { Archiver, createInfluxWriter, createSink, S3Sink, type ArchiveBatch, type InfluxWriter } from './archive/index.ts';
import { AnomalyStore, EdgeStore, EventStore, ReadingStore, SseHub, apiAuthFromConfig, createApiHandler, listen, listenOptionsFromConfig, type ApiAuth, type Health } from './api/index.ts';
import type { CentralConfig } from './config.ts';
import { CatchUp } from './consume/catch-up.ts';
import { loadCorrelatorFactory, type CorrelatorFactory, type CorrelatorPort } from './consume/correlator-port.ts';
import { HandoverState, SNAPSHOT_VERSION, encodeSnapshot, type Snapshot } from './consume/handover.ts';
import { createKafka, ensureTopics, partitionCount, partitionOf } from './consume/kafka.ts';
import { ConsumerRunner } from './consume/runner.ts';
import { WebhookNotifier } from './notify/index.ts';
import { TopologyRegistry } from './registry/index.ts';

/** Uncompressed bytes per produce request, and the largest single record (before gzip). */
const MAX_REQUEST_BYTES = 512 * 1024;
const MAX_RECORD_BYTES = 4 * 1024 * 1024;

export const CONSOLE_DIR = fileURLToPath(new URL('./console/', import.meta.url));


export interface CentralPipelineOptions {
  config: CentralConfig;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Correlator settings (window, shares, minimum counts); the correlator's defaults otherwise. */
  correlate?: Record<string, unknown>;
  /** The correlator to use; the real one (central/correlate) by default. */
  correlator: CorrelatorFactory;
  consoleDir?: string;
  /** Partitions of the topics this instance creates when missing (default 6, as the edge). */
  topicPartitions?: number;
  /** How long to wait for the state topic before importing a partition's snapshots (default 30 s). */
  handoverWaitMs?: number;
}

interface PipelineMetrics {
  consumed: Counter<'topic' | 'consumer'>;
  invalid: Counter<'topic'>;
  events: Counter<'type' | 'scope' | 'state'>;
  duplicates: Counter<'kind'>;
  lag: Gauge<'topic' | 'partition'>;
  fetchLag: Gauge<'topic' | 'partition'>;
  publish: Histogram;
  recordToEvent: Histogram;
  commits: Counter<'result'>;
  refused: Counter<'topic'>;
}

/** Creates a pipeline with the real correlator unless one is given. */
export async function createCentralPipeline(opts: Omit<CentralPipelineOptions, 'correlator'> & { correlator?: CorrelatorFactory }): Promise<CentralPipeline> {
  return new CentralPipeline({ ...opts, correlator: opts.correlator ?? (await loadCorrelatorFactory()) });
}

export class CentralPipeline {
  readonly config: CentralConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly registry: TopologyRegistry;
  readonly events: EventStore;
  readonly anomalies: AnomalyStore;
  readonly readings: ReadingStore;
  readonly edges: EdgeStore;
  readonly sse: SseHub;
  readonly handover = new HandoverState();
  private readonly local: CorrelatorPort;
  private readonly grid: CorrelatorPort;
  private readonly m: PipelineMetrics;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly catchUp: CatchUp;
  private readonly broadcast: ConsumerRunner;
  private readonly group: ConsumerRunner;
  private readonly notifier: WebhookNotifier | null;
  private archiver: Archiver | null = null;
  private influx: InfluxWriter | null = null;
  private server: Server | null = null;
  private auth: ApiAuth | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private anomalyPartitions = 0;
  private readonly adopting = new Map<number, Promise<void>>();
  private readonly adopted = new Set<number>();
  private readonly partitionCache = new Map<string, number>();
  /** Offsets processed per group partition, committed directly when there is no archive. */
  private readonly processed = new Map<string, { topic: string; partition: number; offset: string }>();
  private readonly dirty = new Set<string>();
  private rebalancing = false;
  private lastAssignment = new Map<string, number[]>();
  private stopping = false;
  private started = false;
  private topologyReady = false;
  private stateReady = false;
  private committing: Promise<void> | null = null;
  private gridDiscarded = 0;
  /** Grid events a failed publish left behind: sent first by the next publish; offsets wait for them. */
  private unpublished: GridEvent[] = [];
  private replaySkipped = 0;
  private readonly opts: CentralPipelineOptions;

  constructor(opts: CentralPipelineOptions) {
    this.opts = opts;
    const c = (this.config = opts.config);
    this.instanceId = c.instanceId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    this.logger = (opts.logger ?? createLogger({ program: 'central', level: c.logLevel })).child({ instance: this.instanceId });
    this.metrics = opts.metrics ?? new Metrics('central');
    this.clock = opts.clock ?? systemClock;
    this.m = pipelineMetrics(this.metrics);

    this.registry = new TopologyRegistry({ logger: this.logger, metrics: this.metrics, ...(c.topology ? { file: c.topology } : {}) });
    const correlatorOpts = { topology: this.registry.topology, clock: this.clock, ...(opts.correlate ? { config: opts.correlate } : {}) };
    this.local = opts.correlator(correlatorOpts);
    this.grid = opts.correlator(correlatorOpts);

    this.events = new EventStore(c.recentEvents);
    this.anomalies = new AnomalyStore(c.recentAnomalies);
    this.readings = new ReadingStore(c.readingsPerMeter, c.metersTracked);
    this.edges = new EdgeStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10_000 });
    this.sse = new SseHub({ maxClients: c.sseMaxClients });
    this.events.onChange((e) => this.sse.broadcast(e));
    this.viewMetrics();
    this.notifier = c.webhookUrl
      ? new WebhookNotifier({ url: c.webhookUrl, minSeverity: c.webhookMinSeverity, queueSize: c.webhookQueueSize, maxAttempts: c.webhookMaxAttempts, timeoutMs: c.webhookTimeoutMs, secret: c.webhookSecret, caFile: c.webhookCaFile, logger: this.logger, metrics: this.metrics })
      : null;

    this.kafka = createKafka({ brokers: c.kafkaBrokers, clientId: `gridwatch-central-${this.instanceId}`, logger: this.logger });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.catchUp = new CatchUp(this.admin);
    this.broadcast = new ConsumerRunner({
      kafka: this.kafka,
      // One group per instance: every instance reads every partition of these topics. Nothing is
      // committed, so the group leaves no offsets behind.
      groupId: `${c.centralGroup}.instance.${this.instanceId}`,
      logger: this.logger,
      subscriptions: [
        { topics: [c.topicTopology, c.topicState, c.topicEvents], fromBeginning: true },
        { topics: [c.topicAnomalies, c.topicEdgeStatus, c.topicGaps], fromBeginning: false },
      ],
      onBatch: (b) => this.onBroadcastBatch(b),
      partitionsConsumedConcurrently: 3,
    });
    this.group = new ConsumerRunner({
      kafka: this.kafka,
      groupId: c.centralGroup,
      logger: this.logger,
      subscriptions: [{ topics: [c.topicAnomalies, c.topicReadings, c.topicGaps, c.topicEvents], fromBeginning: true }],
      onBatch: (b) => this.onGroupBatch(b),
      onAssignment: (a) => this.onAssignment(a),
      onRebalancing: () => {
        this.rebalancing = true;
      },
      partitionsConsumedConcurrently: 4,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const c = this.config;
    await this.admin.connect();
    if (c.ensureTopics) {
      const created = await ensureTopics(
        this.admin,
        [
          { topic: c.topicReadings },
          { topic: c.topicAnomalies },
          { topic: c.topicEvents },
          { topic: c.topicEdgeStatus },
          { topic: c.topicGaps },
          { topic: c.topicTopology, compacted: true },
          { topic: c.topicState, compacted: true },
        ],
        this.opts.topicPartitions ?? 6,
      );
      if (created.length > 0) this.logger.info({ created }, 'topics created');
    }
    this.anomalyPartitions = await partitionCount(this.admin, c.topicAnomalies);
    await this.startArchive();
    await this.producer.connect();
    this.auth = apiAuthFromConfig(c, this.logger, this.metrics);
    this.auth.start();
    this.server = await listen(this.apiHandler(this.auth), c.httpPort, c.httpHost, listenOptionsFromConfig(c));

    await this.broadcast.start();
    const wait = this.opts.handoverWaitMs ?? 30_000;
    const [topo, state] = await Promise.all([this.catchUp.waitFor(c.topicTopology, wait), this.catchUp.waitFor(c.topicState, wait)]);
    this.topologyReady = true;
    this.stateReady = true;
    if (!topo || !state) this.logger.warn({ topology: topo, state }, 'topology or state topic not read to its end in time; continuing');
    this.logger.info({ topology: this.registry.summary().meters, snapshots: this.handover.snapshots }, 'topology and state topics read');

    await this.group.start();
    this.every(c.tickMs, () => this.tick());
    this.every(c.commitIntervalMs, () => void this.commitDue(false));
    this.every(c.lagIntervalMs, () => void this.measureLag());
    this.every(30_000, () => this.markAllOwnedDirty());
    this.started = true;
    this.logger.info({ http: this.httpPort, group: c.centralGroup, archive: this.archiver ? 'on' : 'off', influx: this.influx ? `${c.influxUrl} bucket ${c.influxBucket}` : 'off' }, 'central started');
  }

  get httpPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      if (!this.stopping) fn();
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private async startArchive(): Promise<void> {
    const c = this.config;
    let sink;
    if (c.s3Endpoint) {
      const s3 = S3Sink.fromSettings({ ...c, s3Endpoint: c.s3Endpoint }, this.logger);
      await s3.ensureBucket();
      sink = s3;
    } else if (c.archiveDir) {
      sink = createSink({ dir: c.archiveDir });
    } else {
      this.logger.warn('no archive configured (GRIDWATCH_S3_ENDPOINT or GRIDWATCH_ARCHIVE_DIR): offsets are committed once processed');
      return;
    }
    // An empty or absent token is valid: InfluxDB 1.8 without authentication takes any.
    if (c.influxUrl) this.influx = createInfluxWriter({ url: c.influxUrl, token: c.influxToken ?? '', org: c.influxOrg, bucket: c.influxBucket, caFile: c.influxCaFile, logger: this.logger });
    this.archiver = new Archiver({
      sink,
      logger: this.logger,
      metrics: this.metrics,
      maxRecords: c.archiveMaxRecords,
      maxAgeMs: c.archiveMaxAgeMs,
      clock: this.clock,
      topicKinds: { [c.topicReadings]: 'readings', [c.topicAnomalies]: 'anomalies', [c.topicEvents]: 'events' },
      ...(this.influx ? { influx: this.influx } : {}),
    });
  }

  /**
   * SIGTERM: stop consuming, let the batch in flight finish, archive everything buffered, commit,
   * write the state of every owned substation (the next owner imports it), leave the group, close.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.logger.info('stopping');
    if (this.started) {
      this.group.pauseAll();
      this.broadcast.pauseAll();
      await Promise.all([this.group.drain(), this.broadcast.drain()]);
      await this.committing;
      await this.commitDue(true);
      this.markAllOwnedDirty();
      await this.publish([], 'shutdown').catch((err: unknown) => this.logger.error({ err }, 'final state snapshots not written'));
    }
    await this.group.stop().catch((err: unknown) => this.logger.error({ err }, 'group consumer stop failed'));
    await this.broadcast.stop().catch((err: unknown) => this.logger.error({ err }, 'broadcast consumer stop failed'));
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    await this.notifier?.stop();
    await this.influx?.close().catch((err: unknown) => this.logger.error({ err }, 'influx close failed'));
    this.sse.close();
    this.auth?.stop();
    if (this.server) {
      const server = this.server;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    this.logger.info('stopped');
  }

  /**
   * For tests: what a crash leaves behind. Nothing is flushed, committed or snapshotted beyond what
   * each batch already wrote; the connections close so the group moves on at once.
   */
  async kill(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.group.stop().catch(() => undefined);
    await this.broadcast.stop().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    await this.notifier?.stop(0);
    this.sse.close();
    this.auth?.stop();
    this.server?.closeAllConnections();
    this.server?.close();
  }

  health(): Health {
    const crashed = this.group.crashed ?? this.broadcast.crashed;
    const ready = this.started && !this.stopping && this.topologyReady && this.stateReady && this.group.joined && !crashed;
    return {
      live: !crashed,
      ready,
      details: {
        instance: this.instanceId,
        crashed: crashed?.message ?? null,
        groupJoined: this.group.joined,
        ownedAnomalyPartitions: [...this.adopted].sort((a, b) => a - b),
        gridOwner: this.isGridOwner(),
        topologyMeters: this.registry.topology.size,
        snapshots: this.handover.snapshots,
        archive: this.archiver ? 'on' : 'off',
        influx: this.influx ? 'on' : 'off',
        unpublishedEvents: this.unpublished.length,
        notifier: this.notifier?.stats() ?? null,
        correlator: this.local.stats(),
        stores: { events: this.events.counts(), anomalies: this.anomalies.size, meters: this.readings.size, sseClients: this.sse.size },
      },
    };
  }

  private apiHandler(auth: ApiAuth) {
    return createApiHandler({
      auth,
      tls: Boolean(this.config.httpTlsCertFile),
      events: this.events,
      anomalies: this.anomalies,
      readings: this.readings,
      edges: this.edges,
      registry: this.registry,
      sse: this.sse,
      metrics: this.metrics,
      clock: this.clock,
      logger: this.logger,
      health: () => this.health(),
      consoleDir: this.opts.consoleDir ?? CONSOLE_DIR,
    });
  }

  // ---------------------------------------------------------------- ownership and hand-over

  private partitionOfSubstation(substationId: string): number {
    let p = this.partitionCache.get(substationId);
    if (p === undefined) {
      p = partitionOf(substationId, this.anomalyPartitions);
      if (this.partitionCache.size > 100_000) this.partitionCache.clear();
      this.partitionCache.set(substationId, p);
    }
    return p;
  }

  private owns(substationId: string): boolean {
    return this.adopted.has(this.partitionOfSubstation(substationId));
  }

  /** Grid-scope events are published by the owner of anomalies partition 0 (see README). */
  isGridOwner(): boolean {
    return this.adopted.has(0);
  }

  private onAssignment(assignment: Map<string, number[]>): void {
    this.rebalancing = false;
    const c = this.config;
    const anomalies = new Set(assignment.get(c.topicAnomalies) ?? []);
    for (const p of [...this.adopting.keys()]) {
      if (anomalies.has(p)) continue;
      const dropped = this.handover.release(p);
      for (const s of dropped) this.local.dropSubstation(s);
      this.adopting.delete(p);
      this.adopted.delete(p);
      this.logger.info({ partition: p, substations: dropped.length }, 'anomalies partition revoked: substation state dropped');
    }
    for (const p of anomalies) this.adopt(p).catch((err: unknown) => this.logger.error({ err, partition: p }, 'adopting partition failed'));
    for (const [topic, partitions] of this.lastAssignment) {
      const now = new Set(assignment.get(topic) ?? []);
      for (const p of partitions) {
        if (now.has(p)) continue;
        this.processed.delete(`${topic}\u0000${p}`);
        if (this.archiver) this.archiver.onRevoke(topic, p).catch((err: unknown) => this.logger.error({ err, topic, partition: p }, 'archive revoke failed'));
      }
    }
    this.lastAssignment = assignment;
  }

  /** Imports the latest snapshots of the partition's substations, once the state topic is read to its end. */
  private adopt(partition: number): Promise<void> {
    let p = this.adopting.get(partition);
    if (p) return p;
    p = (async () => {
      const complete = await this.catchUp.waitFor(this.config.topicState, this.opts.handoverWaitMs ?? 30_000);
      if (!complete) this.logger.warn({ partition }, 'state topic not read to its end in time; importing what was read');
      if (this.adopting.get(partition) !== p) return; // revoked meanwhile
      const snaps = this.handover.forPartition(partition);
      for (const s of snaps) {
        this.local.importState(s.state as never);
        this.handover.adopted(s);
      }
      this.adopted.add(partition);
      this.logger.info({ partition, substations: snaps.length }, 'anomalies partition adopted');
    })();
    this.adopting.set(partition, p);
    return p;
  }

  private markAllOwnedDirty(): void {
    for (const p of this.adopted) for (const s of this.handover.substationsOf(p)) this.dirty.add(s);
  }

  private snapshotMessages(): Message[] {
    const out: Message[] = [];
    for (const s of this.dirty) {
      if (s === '' || !this.owns(s)) continue;
      const snap: Snapshot = {
        v: SNAPSHOT_VERSION,
        substationId: s,
        partition: this.partitionOfSubstation(s),
        nextOffset: this.handover.nextOffset(s),
        state: this.local.exportState(s),
        writtenAt: this.clock.now(),
        instance: this.instanceId,
      };
      out.push({ key: s, value: encodeSnapshot(snap) });
    }
    this.dirty.clear();
    return out;
  }

  // ---------------------------------------------------------------- output

  /**
   * Produces grid events and the state snapshots of changed substations. Requests are cut at
   * ~512 KB (the broker refuses a record batch over message.max.bytes, 1 MB by default) and
   * gzip-compressed; a single record too large even so is refused, logged and counted, not retried.
   */
  private async publish(fresh: GridEvent[], _why: string): Promise<void> {
    // Events that a failed publish left behind go first, in order (at least once: a version may
    // reach Kafka twice; readers keep the highest version per eventId).
    const events = this.unpublished.length > 0 ? [...this.unpublished.splice(0), ...fresh] : fresh;
    const snapshots = this.snapshotMessages();
    if (events.length === 0 && snapshots.length === 0) return;
    try {
      await this.produce(events, snapshots);
    } catch (err) {
      this.unpublished = events.concat(this.unpublished);
      for (const m of snapshots) this.dirty.add(String(m.key));
      throw err;
    }
    for (const e of events) {
      this.m.events.inc({ type: e.type, scope: e.scope, state: e.state });
      this.events.upsert(e);
      this.notifier?.notify(e);
    }
  }

  private async produce(events: GridEvent[], snapshots: Message[]): Promise<void> {
    const all: { topic: string; key: string; value: string }[] = [
      ...events.map((e) => ({ topic: this.config.topicEvents, key: e.substationId ?? 'grid', value: JSON.stringify(e) })),
      ...snapshots.map((m) => ({ topic: this.config.topicState, key: String(m.key), value: String(m.value) })),
    ];
    const end = this.m.publish.startTimer();
    let chunk: typeof all = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const r of chunk) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push({ key: r.key, value: r.value });
      }
      chunk = [];
      bytes = 0;
      await this.producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1, compression: CompressionTypes.GZIP });
    };
    for (const r of all) {
      const size = r.value.length + r.key.length + 64;
      if (size > MAX_RECORD_BYTES) {
        this.m.refused.inc({ topic: r.topic });
        this.logger.error({ topic: r.topic, key: r.key, bytes: size }, 'record too large to publish; not sent');
        continue;
      }
      if (bytes + size > MAX_REQUEST_BYTES) await flush();
      chunk.push(r);
      bytes += size;
    }
    await flush();
    end();
  }

  private tick(): void {
    if (this.rebalancing || !this.started) return;
    const local = this.local.tick().filter((e) => e.substationId === null || this.owns(e.substationId));
    for (const e of local) if (e.substationId) this.dirty.add(e.substationId);
    const grid = this.grid.tick();
    const out = this.isGridOwner() ? [...local, ...grid] : local;
    if (!this.isGridOwner()) this.gridDiscarded += grid.length;
    this.publish(out, 'tick').catch((err: unknown) => this.logger.error({ err: toGridwatchError(err, 'KAFKA_UNAVAILABLE', true) }, 'publishing tick events failed'));
  }

  // ---------------------------------------------------------------- group consumer

  private async onGroupBatch(batch: Batch): Promise<void> {
    const c = this.config;
    const { topic, partition } = batch;
    const n = batch.messages.length;
    if (n === 0) return;
    this.m.consumed.inc({ topic, consumer: 'group' }, n);
    this.m.fetchLag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
    const archived: ArchiveBatch['messages'] = [];
    const events: GridEvent[] = [];
    const now = this.clock.now();
    if (topic === c.topicAnomalies) await this.adopt(partition);

    for (const m of batch.messages) {
      if (m.value === null) continue;
      const value = m.value.toString();
      const key = m.key === null ? null : m.key.toString();
      if (this.archiver) archived.push({ offset: m.offset, timestamp: m.timestamp, key, value });
      if (topic === c.topicReadings) {
        if (key === null) this.m.invalid.inc({ topic });
        else if (!this.readings.add(key, value, now)) this.m.duplicates.inc({ kind: 'reading' });
      } else if (topic === c.topicAnomalies) {
        const a = this.parseAnomaly(topic, value);
        if (a) this.correlateLocal(a, key, partition, BigInt(m.offset), Number(m.timestamp), events);
      }
    }
    // Events and snapshots go to Kafka before this batch can be archived and committed (README:
    // hand-over). A failed publish keeps the events (unpublished) and commitDue commits nothing
    // until they are out: the correlator has absorbed these records and would not make them again.
    try {
      await this.publish(events, 'anomalies');
    } catch (err) {
      this.logger.error({ err: toGridwatchError(err, 'KAFKA_UNAVAILABLE', true), pending: this.unpublished.length }, 'publishing grid events failed; kept for the next attempt, offsets held');
    }
    if (this.archiver) this.archiver.add({ topic, partition, messages: archived });
    else this.processed.set(`${topic}\u0000${partition}`, { topic, partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() });
  }

  private parseAnomaly(topic: string, value: string): Anomaly | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      this.m.invalid.inc({ topic });
      return null;
    }
    if (!validators.anomaly.check(parsed)) {
      this.m.invalid.inc({ topic });
      return null;
    }
    return parsed;
  }

  private correlateLocal(a: Anomaly, key: string | null, partition: number, offset: bigint, kafkaTs: number, out: GridEvent[]): void {
    const owner = a.substationId ?? key ?? '';
    if (this.handover.isReplay(owner, offset)) {
      this.replaySkipped++;
      this.m.duplicates.inc({ kind: 'anomaly_replay' });
      return;
    }
    this.handover.consumed(owner, partition, offset);
    // Frequency is one grid-wide condition: the grid correlator (fed by the broadcast) has it.
    if (a.type === 'frequency_deviation') return;
    const events = this.local.onAnomaly(a);
    this.dirty.add(owner);
    if (events.length > 0) {
      const seconds = Math.max(0, this.clock.now() - kafkaTs) / 1000;
      for (const _ of events) this.m.recordToEvent.observe(seconds);
      out.push(...events);
    }
  }

  async commitDue(all: boolean): Promise<void> {
    if (this.committing) return this.committing;
    this.committing = (async () => {
      if (this.unpublished.length > 0) {
        // Offsets move only once every event made from the records below them is in Kafka.
        await this.publish([], 'retry').catch(() => undefined);
        if (this.unpublished.length > 0) {
          this.logger.warn({ pending: this.unpublished.length }, 'grid events not yet published; offsets not committed');
          return;
        }
      }
      let offsets: { topic: string; partition: number; offset: string }[];
      if (this.archiver) {
        try {
          const done = all ? await this.archiver.flushAll() : await this.archiver.flushDue();
          offsets = done.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.nextOffset }));
        } catch (err) {
          const e = toGridwatchError(err, 'ARCHIVE_FAILED', true);
          const ok = (e.details?.committable ?? []) as { topic: string; partition: number; nextOffset: string }[];
          offsets = ok.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.nextOffset }));
          this.logger.error({ err: e }, 'archive flush failed; offsets of the failed partitions stay uncommitted and the flush is retried');
        }
      } else {
        offsets = [...this.processed.values()];
        this.processed.clear();
      }
      if (offsets.length === 0) return;
      try {
        await this.group.commit(offsets);
        this.m.commits.inc({ result: 'ok' });
      } catch (err) {
        // A partition moved during a rebalance: its new owner re-reads from the last commit, and
        // the archive's progress marker keeps the objects exactly once.
        this.m.commits.inc({ result: 'failed' });
        this.logger.warn({ err: (err as Error).message, offsets: offsets.length }, 'offset commit failed');
      }
    })().finally(() => {
      this.committing = null;
    });
    return this.committing;
  }

  private async measureLag(): Promise<void> {
    const c = this.config;
    const topics = [c.topicAnomalies, c.topicReadings, c.topicGaps, c.topicEvents];
    try {
      const committed = await this.admin.fetchOffsets({ groupId: c.centralGroup, topics });
      for (const t of committed) {
        const ends = await this.admin.fetchTopicOffsets(t.topic);
        for (const p of t.partitions) {
          const end = ends.find((e: { partition: number }) => e.partition === p.partition);
          if (!end) continue;
          const from = p.offset === '-1' ? BigInt(end.low) : BigInt(p.offset);
          this.m.lag.set({ topic: t.topic, partition: String(p.partition) }, Number(BigInt(end.high) - from));
        }
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'measuring consumer lag failed');
    }
  }

  // ---------------------------------------------------------------- broadcast consumer

  private async onBroadcastBatch(batch: Batch): Promise<void> {
    const c = this.config;
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return;
    this.m.consumed.inc({ topic, consumer: 'broadcast' }, batch.messages.length);
    const out: GridEvent[] = [];
    const now = this.clock.now();
    for (const m of batch.messages) {
      const key = m.key === null ? null : m.key.toString();
      const value = m.value === null ? null : m.value.toString();
      if (topic === c.topicTopology) this.registry.applyRecord(key, value);
      else if (topic === c.topicState) this.handover.apply(key, value);
      else if (value === null) continue;
      else if (topic === c.topicEvents) this.onEventRecord(value);
      else if (topic === c.topicAnomalies) this.onBroadcastAnomaly(value, out);
      else if (topic === c.topicEdgeStatus) this.onEdgeStatus(value, now, out);
      else if (topic === c.topicGaps) this.onGap(value);
    }
    this.catchUp.advance(topic, partition, BigInt(batch.lastOffset()) + 1n);
    await this.publish(out, 'broadcast');
  }

  private parse(topic: string, value: string): unknown {
    try {
      return JSON.parse(value);
    } catch {
      this.m.invalid.inc({ topic });
      return undefined;
    }
  }

  private onEventRecord(value: string): void {
    const e = this.parse(this.config.topicEvents, value);
    if (validators.gridEvent.check(e)) this.events.upsert(e);
    else this.m.invalid.inc({ topic: this.config.topicEvents });
  }

  private onBroadcastAnomaly(value: string, out: GridEvent[]): void {
    const a = this.parseAnomaly(this.config.topicAnomalies, value);
    if (!a) return;
    if (!this.anomalies.add(a)) this.m.duplicates.inc({ kind: 'anomaly' });
    if (a.type !== 'frequency_deviation') return;
    // Every instance keeps the grid view current; only the grid owner publishes what it concludes,
    // so a new owner continues from the same state instead of starting empty.
    const events = this.grid.onAnomaly(a);
    if (this.isGridOwner()) out.push(...events);
    else this.gridDiscarded += events.length;
  }

  private onEdgeStatus(value: string, now: number, out: GridEvent[]): void {
    const s = this.parse(this.config.topicEdgeStatus, value);
    if (!validators.edgeStatus.check(s)) {
      this.m.invalid.inc({ topic: this.config.topicEdgeStatus });
      return;
    }
    this.edges.update(s, now);
    if (s.substationId === null || !this.owns(s.substationId)) return;
    this.handover.track(s.substationId, this.partitionOfSubstation(s.substationId));
    out.push(...this.local.onEdgeStatus(s));
    this.dirty.add(s.substationId);
  }

  private onGap(value: string): void {
    const g = this.parse(this.config.topicGaps, value);
    if (!validators.gap.check(g)) {
      this.m.invalid.inc({ topic: this.config.topicGaps });
      return;
    }
    const sub = this.registry.topology.meter(g.meterId)?.substationId;
    if (sub === undefined || !this.owns(sub)) return;
    this.local.onGap(g);
    this.dirty.add(sub);
  }

  /**
   * Gauges computed at scrape time from what this instance sees of the whole grid (every instance
   * reads grid.events and grid.edge-status whole, so aggregate them across instances with max).
   */
  private viewMetrics(): void {
    const events = this.events;
    const edges = this.edges;
    const clock = this.clock;
    this.metrics.gauge('central_open_events', 'Open grid events, by severity, scope and type (the whole grid, as seen by this instance)', ['severity', 'scope', 'type'], function collect() {
      this.reset();
      const counts = new Map<string, { labels: { severity: string; scope: string; type: string }; n: number }>();
      for (const e of events.openEvents()) {
        const key = `${e.severity}\u0000${e.scope}\u0000${e.type}`;
        const c = counts.get(key) ?? { labels: { severity: e.severity, scope: e.scope, type: e.type }, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set(c.labels, c.n);
    });
    const unpublished = (): number => this.unpublished.length;
    this.metrics.gauge('central_events_unpublished', 'Grid events a failed publish left behind (sent first next time; offsets are not committed while any wait)', [], function collect() {
      this.set(unpublished());
    });
    this.metrics.gauge('central_edge_heartbeat_age_seconds', 'Seconds since the last heartbeat of each edge gateway reached this instance', ['edge'], function collect() {
      this.reset();
      for (const e of edges.list(clock.now())) this.set({ edge: e.edgeId }, e.ageMs / 1000);
    });
  }

  stats(): Record<string, unknown> {
    return { replaySkipped: this.replaySkipped, gridDiscarded: this.gridDiscarded, adopted: [...this.adopted], correlator: this.local.stats() };
  }
}

function pipelineMetrics(m: Metrics): PipelineMetrics {
  return {
    consumed: m.counter('central_records_consumed_total', 'Records consumed, by topic and consumer (group: shared work; broadcast: every instance)', ['topic', 'consumer']),
    invalid: m.counter('central_records_invalid_total', 'Records that are not valid v1 contract values (counted, archived, not correlated)', ['topic']),
    events: m.counter('central_grid_events_total', 'Grid event publications, by type, scope and state', ['type', 'scope', 'state']),
    duplicates: m.counter('central_duplicates_total', 'Re-delivered records recognised and not counted twice, by kind', ['kind']),
    lag: m.gauge('central_consumer_lag_records', 'End offset minus committed offset of the central group, per partition', ['topic', 'partition']),
    fetchLag: m.gauge('central_fetch_lag_records', 'High watermark minus the last offset fetched, per partition (this instance)', ['topic', 'partition']),
    publish: m.histogram('central_publish_seconds', 'Time to produce grid events and state snapshots (acks=all)', LATENCY_BUCKETS_S),
    recordToEvent: m.histogram('central_anomaly_to_event_seconds', 'From an anomaly entering Kafka to the grid event it caused being computed', LATENCY_BUCKETS_S),
    commits: m.counter('central_offset_commits_total', 'Offset commits, by result', ['result']),
    refused: m.counter('central_publish_refused_total', 'Grid events or state snapshots too large to produce (logged; never silent)', ['topic']),
  };
}
