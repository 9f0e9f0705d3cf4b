// `gridwatch central`, the aggregator: the composition root. Parts are built in the order data
// flows, started in that order and stopped in reverse (shared/lifecycle.ts):
//
//   Kafka admin (topics, partition count)
//   offset gate ......... archive to MinIO/S3 or a directory, + InfluxDB (or direct commits)
//   grid-event outbox ... grid.events + grid.central-state (the only producer)
//   workflow ............ operators' actions and maintenance windows: written to their topics
//                         (acks=all) before the API answers, read back whole by the broadcast consumer
//   learned scorer ...... (learnedScoring on) windows of this instance's readings scored by a model
//                         in a worker thread; `pattern` anomalies produced to grid.anomalies
//   notifier ............ webhook of published grid events
//   API ................. HTTP, SSE, console, /metrics, /healthz, /readyz over the in-memory stores
//   broadcast consumer .. every partition of topology, state, events, anomalies, edge-status, gaps,
//                         event-actions, maintenance
//                         (central/flows/broadcast.ts), read to the end before the group joins
//   anomalies consumer .. this instance's share of anomalies (group <centralGroup>.anomalies):
//                         substation ownership follows its assignment; a consumer of its own so an
//                         anomaly never waits behind a fetch of readings (issue 12, goal 6)
//   group consumer ...... this instance's share of readings, gaps, events, actions, maintenance
//                         (both: central/flows/group.ts)
//   hand-over ........... on stop: drain, final commit, snapshots of every owned substation
//   timers .............. correlator tick, commits, lag, snapshot refresh
//
// Flow, ownership and hand-over in detail: central/README.md.
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { Metrics, createLogger, systemClock, type Clock, type Logger } from '../shared/index.ts';
import { createKafkaClient, ensureTopics, modelsTopic, partitionCount, topicNames, type TopicNames } from '../shared/kafka/index.ts';
import { kafkaSecurity, refusalAtStart } from '../shared/kafka/security.ts';
import { intervalPart, part, startParts, stopParts, type Part } from '../shared/lifecycle.ts';
import { AnomalyStore, EdgeStatusStore, EventStore, ReadingStore, SseHub, apiAuthFromConfig, consoleLoginFromConfig, createApiHandler, listen, listenOptionsFromConfig, type ApiAuth, type Health } from './api/index.ts';
import type { CentralConfig } from './config.ts';
import { CatchUp } from './consume/catch-up.ts';
import { realCorrelator, type CorrelatorFactory, type CorrelatorPort } from './consume/correlator-port.ts';
import { measureLag } from './consume/lag.ts';
import { ArchiveGate, OffsetCommitter, createOffsetGate, type OffsetGate } from './consume/offsets.ts';
import { createInfluxReader } from './archive/index.ts';
import { topicPrefix } from './archive/layout.ts';
import { SubstationOwnership } from './consume/ownership.ts';
import { ConsumerRunner } from './consume/runner.ts';
import { anomaliesGroupId, seedOffsetsFrom } from './consume/groups.ts';
import { BroadcastFlow } from './flows/broadcast.ts';
import { GroupFlow } from './flows/group.ts';
import { centralMetrics, viewMetrics } from './metrics.ts';
import { WebhookNotifier } from './notify/index.ts';
import { DEFAULT_MODEL_DIR } from './learn/model-file.ts';
import { LearnedPart } from './learn/part.ts';
import { ModelRegistry } from './learn/registry.ts';
import { ModelStore } from './learn/registry-store.ts';
import { GridEventOutbox } from './publish/outbox.ts';
import { kafkaProducer, kafkaRecordWriter } from './publish/producer.ts';
import { TopologyRegistry } from './registry/index.ts';
import { Workflow, type WorkflowTopics } from './workflow/service.ts';
import { workflowTopics } from './workflow/topics.ts';

/** Bytes per partition of one group-consumer fetch (see where it is used). */
export const GROUP_FETCH_BYTES_PER_PARTITION = 512 * 1024;

export const CONSOLE_DIR = fileURLToPath(new URL('./console/', import.meta.url));

export interface AggregatorOptions {
  config: CentralConfig;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Correlator settings (window, shares, minimum counts); the correlator's defaults otherwise. */
  correlate?: Record<string, unknown>;
  /** The correlator to use; the real one (central/correlate) by default. */
  correlator?: CorrelatorFactory;
  consoleDir?: string;
  /** Partitions of the topics this instance creates when missing (default 6, as the edge). */
  topicPartitions?: number;
  /** How long to wait for the state topic before importing a partition's snapshots (default 30 s). */
  handoverWaitMs?: number;
}

export class Aggregator {
  readonly config: CentralConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly instanceId: string;
  readonly topics: TopicNames;
  readonly registry: TopologyRegistry;
  readonly events: EventStore;
  readonly anomalies: AnomalyStore;
  readonly readings: ReadingStore;
  readonly edges: EdgeStatusStore;
  readonly ownership: SubstationOwnership;
  readonly outbox: GridEventOutbox;
  readonly workflow: Workflow;
  readonly workflowTopics: WorkflowTopics;
  readonly committer: OffsetCommitter;
  private readonly local: CorrelatorPort;
  private readonly group: ConsumerRunner;
  private readonly anomalyGroup: ConsumerRunner;
  private readonly broadcast: ConsumerRunner;
  private readonly gate: OffsetGate;
  private readonly groupFlow: GroupFlow;
  private readonly notifier: WebhookNotifier | null;
  /** The learned scorer; null with learnedScoring off. */
  readonly learned: LearnedPart | null;
  /** The model registry; null with learnedScoring or learnedRegistry off. */
  readonly modelRegistry: ModelRegistry | null;
  private readonly parts: Part[];
  private readonly counters = { gridDiscarded: 0 };
  private server: Server | null = null;
  private readonly sse: SseHub;
  private state: 'new' | 'starting' | 'running' | 'failed' | 'stopping' | 'crashing' = 'new';
  private caughtUp = false;

  constructor(opts: AggregatorOptions) {
    const c = (this.config = opts.config);
    this.instanceId = c.instanceId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    const logger = (this.logger = (opts.logger ?? createLogger({ program: 'central', level: c.logLevel })).child({ instance: this.instanceId }));
    const metrics = (this.metrics = opts.metrics ?? new Metrics('central'));
    const clock = opts.clock ?? systemClock;
    const m = centralMetrics(metrics);
    const t = (this.topics = topicNames(c));

    // Views and cores.
    this.registry = new TopologyRegistry({ logger, metrics, ...(c.topology ? { file: c.topology } : {}) });
    const factory = opts.correlator ?? realCorrelator;
    const correlatorOpts = { topology: this.registry.topology, clock, ...(opts.correlate ? { config: opts.correlate } : {}) };
    const local = (this.local = factory(correlatorOpts));
    const grid = factory(correlatorOpts);
    this.events = new EventStore(c.recentEvents);
    this.anomalies = new AnomalyStore(c.recentAnomalies);
    this.readings = new ReadingStore(c.readingsPerMeter, c.metersTracked);
    this.edges = new EdgeStatusStore({ lateMs: 30_000, lostMs: 60_000, maxEdges: 10_000 });
    const sse = (this.sse = new SseHub({ maxClients: c.sseMaxClients }));
    this.events.onChange((e) => sse.broadcast(e));
    const notifier = (this.notifier = c.webhookUrl
      ? new WebhookNotifier({ url: c.webhookUrl, minSeverity: c.webhookMinSeverity, queueSize: c.webhookQueueSize, maxAttempts: c.webhookMaxAttempts, timeoutMs: c.webhookTimeoutMs, secret: c.webhookSecret, caFile: c.webhookCaFile, logger, metrics })
      : null);

    // Kafka, in data-flow order.
    const security = kafkaSecurity(c);
    logger.info({ brokers: c.kafkaBrokers, kafka: security.describe() }, 'Kafka connection');
    const kafka = createKafkaClient({ brokers: c.kafkaBrokers, clientId: `gridwatch-central-${this.instanceId}`, logger, security });
    const admin = kafka.admin();
    const catchUp = new CatchUp(admin);
    const wait = opts.handoverWaitMs ?? 30_000;
    const wt = (this.workflowTopics = workflowTopics(c));
    const workflow = (this.workflow = new Workflow({ writer: kafkaRecordWriter(kafka), topics: wt, events: this.events, topology: this.registry.topology, clock, logger, metrics }));
    this.events.decorateWith((e) => workflow.decorate(e));
    const ownership = (this.ownership = new SubstationOwnership({ instanceId: this.instanceId, local, catchUp, stateTopic: t.state, handoverWaitMs: wait, clock, logger }));
    // The zombie fence: no archive write once the group membership may have lapsed.
    const gate = (this.gate = createOffsetGate(c, t, { logger, metrics, clock, fence: () => this.anomalyGroup.membershipLapsed() ?? this.group.membershipLapsed() }));
    const outbox = (this.outbox = new GridEventOutbox({
      producer: kafkaProducer(kafka),
      topics: t,
      snapshots: ownership,
      metrics: m,
      logger,
      // Planned (inside a maintenance window) is decided once, as the event is written.
      prepare: (e) => workflow.mark(e),
      onPublished: (e) => {
        this.events.upsert(e);
        notifier?.notify(workflow.decorate(e));
      },
    }));
    viewMetrics(metrics, { events: this.events, edges: this.edges, readings: this.readings, clock, unpublished: () => outbox.pending });
    const broadcastFlow = new BroadcastFlow({ topics: t, metrics: m, clock, registry: this.registry, events: this.events, anomalies: this.anomalies, edges: this.edges, ownership, local, grid, catchUp, outbox, counters: this.counters, workflow: { topics: wt, workflow } });
    const learned = (this.learned = c.learnedScoring === 'on'
      ? new LearnedPart({ modelDir: c.learnedModelDir ?? DEFAULT_MODEL_DIR, anomaliesTopic: t.anomalies, producer: kafkaProducer(kafka), nominalOf: (id) => this.registry.topology.meter(id)?.nominalVoltage, lateMs: c.learnedLateMs, instanceId: this.instanceId, logger, metrics, clock })
      : null);
    if (!learned) logger.info('learned scoring off (learnedScoring=off): rules only');
    // The model registry (central/learn/registry.ts): grid.models names the models in service.
    const modelRegistry = (this.modelRegistry = learned && c.learnedRegistry === 'on'
      ? new ModelRegistry({ kafka, topic: modelsTopic(c), centralGroup: c.centralGroup, instanceId: this.instanceId, ensureTopic: c.ensureTopics, store: c.s3Endpoint ? ModelStore.fromSettings({ ...c, s3Endpoint: c.s3Endpoint }, logger) : null, scorer: () => learned.scorer, defaultDir: c.learnedModelDir ?? DEFAULT_MODEL_DIR, logger, metrics })
      : null);
    const consumerOf = (topic: string) => (topic === t.anomalies ? this.anomalyGroup : this.group).consumer;
    const flow = {
      pause: (topic: string, partition: number) => consumerOf(topic).pause([{ topic, partitions: [partition] }]),
      resume: (topic: string, partition: number) => consumerOf(topic).resume([{ topic, partitions: [partition] }]),
    };
    const groupFlow = (this.groupFlow = new GroupFlow({ topics: t, metrics: m, clock, readings: this.readings, ownership, local, outbox, gate, flow, archiveOnly: [wt.actions, wt.maintenance], ...(learned ? { onReading: (v: string | Buffer) => learned.onReading(typeof v === 'string' ? v : v.toString()) } : {}) }));
    // One group per instance: every instance reads every partition of these topics. Nothing is
    // committed, so the group leaves no offsets behind.
    const broadcast = (this.broadcast = new ConsumerRunner({ name: 'broadcast consumer', kafka, groupId: `${c.centralGroup}.instance.${this.instanceId}`, logger, subscriptions: broadcastFlow.subscriptions, onBatch: (b) => broadcastFlow.onBatch(b), partitionsConsumedConcurrently: 3 }));
    // Ownership (and so the correlator's tick) follows the anomalies group's assignment.
    let rebalancing = false;
    const anomalyGroupId = anomaliesGroupId(c.centralGroup);
    const anomalyGroup = (this.anomalyGroup = new ConsumerRunner({
      name: 'anomalies consumer',
      kafka,
      groupId: anomalyGroupId,
      logger,
      subscriptions: [{ topics: [t.anomalies], fromBeginning: true }],
      onBatch: (b) => groupFlow.onBatch(b),
      onAssignment: (a) => {
        rebalancing = false;
        groupFlow.onAssignment(a, [t.anomalies]);
      },
      onRebalancing: () => (rebalancing = true),
      partitionsConsumedConcurrently: 3,
    }));
    const group = (this.group = new ConsumerRunner({
      name: 'group consumer',
      kafka,
      groupId: c.centralGroup,
      logger,
      subscriptions: [{ topics: groupFlow.dataTopics, fromBeginning: true }],
      onBatch: (b) => groupFlow.onBatch(b),
      onAssignment: (a) => groupFlow.onAssignment(a, groupFlow.dataTopics),
      partitionsConsumedConcurrently: 4,
      // kafkajs fetches again only once every batch of the last fetch is handled, so a last gasp's
      // gap record waits behind one fetch of readings: 4 MiB per partition of gzip'd readings was
      // ~100,000 readings per partition, tens of seconds of work while behind. 512 KiB keeps that
      // wait to about a second per partition; Kafka still returns at least one whole batch.
      maxBytesPerPartition: GROUP_FETCH_BYTES_PER_PARTITION,
    }));
    const commit = async (o: { topic: string; partition: number; offset: string }[]): Promise<void> => {
      await Promise.all([anomalyGroup.commit(o.filter((x) => x.topic === t.anomalies)), group.commit(o.filter((x) => x.topic !== t.anomalies))]);
    };
    const committer = (this.committer = new OffsetCommitter({ gate, outbox, commit, metrics: m, logger, afterFlush: () => groupFlow.relieve() }));

    const tick = (): void => {
      if (rebalancing) return;
      const fromLocal = local.tick().filter((e) => e.substationId === null || ownership.owns(e.substationId));
      for (const e of fromLocal) if (e.substationId) ownership.changed(e.substationId);
      const fromGrid = grid.tick();
      if (!ownership.isGridOwner()) this.counters.gridDiscarded += fromGrid.length;
      void outbox.publish(ownership.isGridOwner() ? [...fromLocal, ...fromGrid] : fromLocal, 'tick');
    };
    let auth: ApiAuth | null = null;
    // The history routes read the archive the gate writes, and InfluxDB (docs/archive.md).
    let readingsPartitions: number | undefined;
    const history = {
      ...(gate instanceof ArchiveGate ? { sink: gate.sink } : {}),
      ...(c.influxUrl ? { influx: createInfluxReader({ url: c.influxUrl, token: c.influxToken ?? '', org: c.influxOrg, bucket: c.influxBucket, ...(c.influxCaFile ? { caFile: c.influxCaFile } : {}) }) } : {}),
      readingsPartitions: () => readingsPartitions,
      roots: { readings: topicPrefix(t.readings), anomalies: topicPrefix(t.anomalies), events: topicPrefix(t.events), 'event-actions': topicPrefix(wt.actions), maintenance: topicPrefix(wt.maintenance) },
    };
    const running = (fn: () => void) => () => {
      if (this.state === 'running') fn();
    };

    this.parts = [
      part('kafka admin', async () => {
        try {
          await admin.connect();
          if (c.ensureTopics) {
            const compacted = new Set([t.topology, t.state, wt.maintenance]);
            const all = [...Object.values(t), wt.actions, wt.maintenance];
            const created = await ensureTopics(admin, all.map((topic) => ({ topic, compacted: compacted.has(topic) })), { partitions: opts.topicPartitions ?? 6 });
            if (created.length > 0) logger.info({ created }, 'topics created');
          }
          ownership.setPartitionCount(await partitionCount(admin, t.anomalies));
          await seedOffsetsFrom(admin, t.anomalies, c.centralGroup, anomalyGroupId, logger);
          readingsPartitions = await partitionCount(admin, t.readings);
        } catch (err) {
          // A refused login, an untrusted certificate or a denied ACL stops central at start (exit 78).
          throw refusalAtStart(err, { brokers: c.kafkaBrokers, security }) ?? err;
        }
      }, () => admin.disconnect().catch(() => undefined)),
      gate,
      outbox,
      workflow,
      ...(learned ? [learned] : []),
      ...(modelRegistry ? [modelRegistry] : []),
      part('notifier', () => undefined, (deadline) => notifier?.stop(this.state === 'crashing' ? 0 : Math.min(2000, Math.max(0, deadline - Date.now())))),
      part('api', async () => {
        auth = apiAuthFromConfig(c, logger, metrics);
        auth.start();
        const handler = createApiHandler({ workflow, auth, tls: Boolean(c.httpTlsCertFile), events: this.events, anomalies: this.anomalies, readings: this.readings, edges: this.edges, registry: this.registry, sse, metrics, clock, logger, health: () => this.health(), consoleDir: opts.consoleDir ?? CONSOLE_DIR, history, consoleLogin: consoleLoginFromConfig(c) });
        this.server = await listen(handler, c.httpPort, c.httpHost, listenOptionsFromConfig(c));
      }, () => {
        auth?.stop();
        return closeServer(this.server, sse);
      }),
      broadcast,
      part('topology and state read', async () => {
        // The operators' actions and windows too: a restarted instance is ready only once it shows them.
        const [topo, state, actions, windows] = await Promise.all([t.topology, t.state, wt.actions, wt.maintenance].map((topic) => catchUp.waitFor(topic, wait)));
        this.caughtUp = true;
        if (!topo || !state || !actions || !windows) logger.warn({ topology: topo, state, actions, windows }, 'topology, state, event-actions or maintenance topic not read to its end in time; continuing');
        logger.info({ topology: this.registry.summary().meters, snapshots: ownership.handover.snapshots }, 'topology and state topics read');
      }),
      anomalyGroup,
      group,
      // SIGTERM: stop consuming, let the batches in flight finish, archive everything buffered,
      // commit, write the state of every owned substation (the next owner imports it).
      part('hand-over', () => undefined, async () => {
        if (this.state === 'crashing') return;
        anomalyGroup.pauseAll();
        group.pauseAll();
        broadcast.pauseAll();
        await Promise.all([anomalyGroup.drain(), group.drain(), broadcast.drain()]);
        await groupFlow.settled(); // batches whose publish was still in flight reach the gate
        await committer.settled();
        await committer.commitDue(true);
        ownership.markAllOwnedDirty();
        if (!(await outbox.publish([], 'shutdown'))) logger.error('final state snapshots not written');
      }),
      intervalPart('correlator tick', c.tickMs, running(tick)),
      intervalPart('commit', c.commitIntervalMs, running(() => void committer.commitDue(false))),
      intervalPart('lag', c.lagIntervalMs, running(() => void Promise.all([measureLag(admin, anomalyGroupId, [t.anomalies], m.lag, logger), measureLag(admin, c.centralGroup, groupFlow.dataTopics, m.lag, logger)]))),
      intervalPart('snapshot refresh', 30_000, running(() => ownership.markAllOwnedDirty())),
    ];
  }

  async start(): Promise<void> {
    this.state = 'starting';
    try {
      await startParts(this.parts, this.logger);
    } catch (err) {
      this.state = 'failed'; // the parts that had started are stopped already
      throw err;
    }
    this.state = 'running';
    const c = this.config;
    this.logger.info({ http: this.httpPort, group: c.centralGroup, archive: this.gate.archive, influx: this.gate.influx === 'on' ? `${c.influxUrl} bucket ${c.influxBucket}` : 'off' }, 'central started');
  }

  /** Graceful: the hand-over (final commit and snapshots), then every part in reverse. */
  async stop(deadlineMs = 60_000): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.logger.info('stopping');
    await stopParts(this.parts, Date.now() + deadlineMs, this.logger);
    this.logger.info('stopped');
  }

  /**
   * For tests: what a crash leaves behind. Nothing is flushed, committed or snapshotted beyond what
   * each batch already wrote; the connections close so the group moves on at once.
   */
  async kill(): Promise<void> {
    this.state = 'crashing';
    await stopParts(this.parts, Date.now(), this.logger);
  }

  get httpPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  isGridOwner(): boolean {
    return this.ownership.isGridOwner();
  }

  health(): Health {
    const crashed = this.anomalyGroup.crashed ?? this.group.crashed ?? this.broadcast.crashed;
    const joined = this.anomalyGroup.joined && this.group.joined;
    const ready = this.state === 'running' && this.caughtUp && joined && !crashed;
    return {
      live: !crashed,
      ready,
      details: {
        instance: this.instanceId,
        crashed: crashed?.message ?? null,
        groupJoined: joined,
        groupsJoined: { anomalies: this.anomalyGroup.joined, data: this.group.joined },
        ownedAnomalyPartitions: this.ownership.adopted,
        gridOwner: this.isGridOwner(),
        topologyMeters: this.registry.topology.size,
        snapshots: this.ownership.handover.snapshots,
        archive: this.gate.archive,
        influx: this.gate.influx,
        unpublishedEvents: this.outbox.pending,
        notifier: this.notifier?.stats() ?? null,
        workflow: { eventsActedOn: this.workflow.actions.size, maintenanceWindows: this.workflow.maintenance.size },
        correlator: this.local.stats(),
        learned: this.learned ? { modelVersion: this.learned.scorer.version, ...this.learned.counters, registry: this.modelRegistry ? { record: this.modelRegistry.record, lastRefusal: this.modelRegistry.lastRefusal } : null } : null,
        stores: { events: this.events.counts(), anomalies: this.anomalies.size, meters: this.readings.size, sseClients: this.sse.size },
      },
    };
  }

  stats(): Record<string, unknown> {
    return { replaySkipped: this.ownership.replaySkipped, gridDiscarded: this.counters.gridDiscarded, adopted: this.ownership.adopted, pausedPartitions: this.groupFlow.pausedPartitions, correlator: this.local.stats() };
  }
}

async function closeServer(server: Server | null, sse: SseHub): Promise<void> {
  sse.close();
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
