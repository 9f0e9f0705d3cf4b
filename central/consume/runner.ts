// A kafkajs consumer with the few things central needs around it: several subscriptions with their
// own start position, manual commits, knowing the assignment, pausing and waiting for the batch in
// flight (shutdown), and a crash flag for /healthz.
import type { Batch, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';

export interface RunnerOptions {
  /** For logs: "group consumer", "broadcast consumer". */
  name: string;
  kafka: Kafka;
  groupId: string;
  logger: Logger;
  subscriptions: { topics: string[]; fromBeginning: boolean }[];
  onBatch: (batch: Batch, ctx: { heartbeat(): Promise<void>; isStale(): boolean }) => Promise<void>;
  /** Called after every join with the partitions now assigned, per topic. */
  onAssignment?: (assigned: Map<string, number[]>) => void;
  /** Called when a rebalance starts. */
  onRebalancing?: () => void;
  partitionsConsumedConcurrently?: number;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  maxBytesPerPartition?: number;
}

export class ConsumerRunner implements Part {
  readonly name: string;
  readonly consumer: Consumer;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  crashed: Error | null = null;
  joined = false;
  assignment = new Map<string, number[]>();
  /** performance.now() of the last acknowledged heartbeat or join (monotonic: immune to clock steps). */
  private aliveAt: number | null = null;
  private readonly sessionTimeout: number;
  private readonly heartbeatInterval: number;

  constructor(private readonly opts: RunnerOptions) {
    this.name = opts.name;
    this.sessionTimeout = opts.sessionTimeout ?? 30_000;
    this.heartbeatInterval = opts.heartbeatInterval ?? 3000;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: this.sessionTimeout,
      heartbeatInterval: this.heartbeatInterval,
      rebalanceTimeout: 60_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1048576,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    const { GROUP_JOIN, REBALANCING, CRASH, HEARTBEAT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      const lapsed = this.joined ? this.membershipLapsed() : null;
      this.joined = true;
      this.assignment = new Map(Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
      opts.logger.info({ groupId: opts.groupId, assignment: Object.fromEntries(this.assignment) }, 'consumer group joined');
      if (lapsed !== null) {
        // The membership lapsed (a zombie back from a pause): another member may have owned every
        // partition meanwhile, so what this instance holds of them is stale, even of the ones it
        // gets back. Everything is revoked first, then the new assignment taken as a fresh one.
        opts.logger.warn({ groupId: opts.groupId, lapsed }, 'group membership had lapsed: every partition revoked before the new assignment');
        opts.onAssignment?.(new Map());
      }
      opts.onAssignment?.(this.assignment);
      this.aliveAt = performance.now();
    });
    this.consumer.on(HEARTBEAT, () => {
      this.aliveAt = performance.now();
    });
    this.consumer.on(REBALANCING, () => {
      opts.logger.info({ groupId: opts.groupId }, 'consumer group rebalancing');
      opts.onRebalancing?.();
    });
    this.consumer.on(CRASH, (e) => {
      const err = e.payload.error;
      if (!e.payload.restart) this.crashed = err;
      opts.logger.error({ groupId: opts.groupId, err, restart: e.payload.restart }, 'consumer crashed');
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const s of this.opts.subscriptions) if (s.topics.length > 0) await this.consumer.subscribe({ topics: s.topics, fromBeginning: s.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        this.inFlight++;
        try {
          await this.opts.onBatch(batch, { heartbeat, isStale });
        } finally {
          this.inFlight--;
          if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
        }
      },
    });
  }

  /**
   * Why this member may no longer own its partitions, or null while it surely does: the group
   * coordinator gives a member's partitions away once it has not heard a heartbeat for the session
   * timeout, so past the session timeout less one heartbeat interval since the last acknowledged
   * heartbeat (or join) the assignment is no longer trusted. The archive asks before every write
   * (the zombie fence, docs/archive.md).
   */
  membershipLapsed(): string | null {
    if (this.aliveAt === null) return 'not a member of the group yet';
    const since = performance.now() - this.aliveAt;
    if (since <= this.sessionTimeout - this.heartbeatInterval) return null;
    return `no heartbeat acknowledged for ${Math.round(since)} ms, session timeout ${this.sessionTimeout} ms`;
  }

  /** Stops fetching every subscribed topic; batches in flight finish (see drain). */
  pauseAll(): void {
    const topics = this.opts.subscriptions.flatMap((s) => s.topics);
    try {
      this.consumer.pause(topics.map((topic) => ({ topic })));
    } catch (err) {
      this.opts.logger.warn({ err }, 'pause failed (consumer not running)');
    }
  }

  /** Resolves when no batch is being processed. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets);
  }

  /** Leaves the group and closes the connections. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
