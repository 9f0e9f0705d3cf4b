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

  constructor(private readonly opts: RunnerOptions) {
    this.name = opts.name;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeout ?? 30_000,
      heartbeatInterval: opts.heartbeatInterval ?? 3000,
      rebalanceTimeout: 60_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 4 * 1048576,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.assignment = new Map(Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
      opts.logger.info({ groupId: opts.groupId, assignment: Object.fromEntries(this.assignment) }, 'consumer group joined');
      opts.onAssignment?.(this.assignment);
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
