import kafkajs, { type Kafka } from 'kafkajs';
import { LATENCY_BUCKETS_S, type Logger, type Metrics } from '../../shared/index.ts';
import type { EdgeStore, Lane, StoredRecord } from '../store/index.ts';
import { backoffDelay, kafkaError } from '../../shared/kafka/index.ts';
import { kafkajsRecordProducer, type OutRecord, type RecordProducer, type TopicRecords, type UnsentReport } from '../../shared/kafka/producer.ts';
import { encodeForwardedReading, encodeForwardedReadingBatch, READINGS_BATCH_CONTRACT } from '../../shared/contracts/forwarded-reading-avro.ts';
import { CONTRACT_OF_TOPIC } from './contracts.ts';

// The Java client's partitioner (murmur2): a batched readings record goes where its meters' single records would.
const { Partitioners } = kafkajs;

export type ForwardCompression = 'gzip' | 'zstd' | 'none';
/** Value encoding of grid.readings: the JSON contract, or Avro single-object (shared/contracts/forwarded-reading-avro.ts). */
export type ReadingsEncoding = 'json' | 'avro';

export interface ForwarderOptions {
  store: EdgeStore;
  /**
   * From shared/kafka createKafkaClient (with `kafkajsLogs: 'debug'`: this loop logs its failures
   * itself): each lane's producer is then a kafkajs one. Unused when createProducer is given.
   */
  kafka?: Kafka;
  /**
   * A new producer for a lane (the port of shared/kafka/producer.ts): the edge's choice of client
   * (GRIDWATCH_FORWARD_CLIENT, kafkajs or platformatic). Default: kafkajs on `kafka`.
   */
  createProducer?: (lane: Lane) => RecordProducer;
  /** Client id, also in every record's gridwatch-record-id header. */
  clientId: string;
  logger: Logger;
  metrics?: Metrics;
  /** Records per sendBatch. Default 5000 (measured: larger batches drain faster with gzip, see README). */
  batchMax?: number;
  /** Default gzip: see README "Forwarding" for the measurement. */
  compression?: ForwardCompression;
  backoff?: { initialMs: number; maxMs: number };
  /** Stored topic -> Kafka topic (tests use unique names). Unmapped topics are used as stored. */
  topicMap?: Record<string, string>;
  /** How long an idle loop sleeps before looking at the outbox again, unless wake() is called. Default 25 ms. */
  idleMs?: number;
  /**
   * Readings wait up to lingerMs (default 100) for lingerRecords of them (default 1000) before a
   * batch goes: at a paced intake, a send per commit is a Kafka request per few readings (CPU on
   * both sides, and compression works on a batch). Control rows never wait. 0: no lingering.
   */
  lingerMs?: number;
  /** grid.readings values as stored (JSON, default) or in the Avro single-object encoding (a third of the bytes). */
  readingsEncoding?: ReadingsEncoding;
  /**
   * Readings per grid.readings record (default 1: one reading per record, the v1 form). Above 1,
   * the readings of a send are grouped by the partition each meter's key hashes to (kafkajs'
   * default partitioner, so a meter stays on the partition it has with single records) and each
   * group goes in records of up to this many readings, in commit order (contract
   * forwarded-reading-batch/v1: JSON lines, or the Avro batch schema). Kafka's per-record cost
   * (varints, headers, partitioner, Buffers) is then paid once per record (README "Several
   * readings per record").
   */
  readingsPerRecord?: number;
  lingerRecords?: number;
  /**
   * Waiting readings beyond which the loop is draining a backlog and serves the live tail first:
   * rows committed from then on go in their own batch every round, ahead of the backlog, so live
   * data reaches Kafka within a round instead of after the whole backlog (README "Live data during
   * a drain"). Default: off (Infinity). The live tail breaks the per-meter order the design
   * promises ("the forwarder sends the outbox in order") and central's consumers and the
   * reliability tests check, so a gateway turns it on only by choice (for example 4 x batchMax).
   */
  backlogRecords?: number;
  /**
   * A readings batch is cut to what the link carried in this long (default 2000 ms), measured on
   * the sends before it: on a slow link (64 kbit/s carries ~250 readings/s) a batchMax of readings
   * takes ~20 s, and the control lane's next batch waits behind the one request in flight. The
   * fixed cost of a request (round trip, acks=all) is not counted, so a long-latency link keeps
   * its large batches. README "Slow links".
   */
  priorityWaitMs?: number;
  /** Control batches of at most this many records go uncompressed (default 16; 0: every batch compressed). */
  controlPlainMax?: number;
  /**
   * A send not acknowledged for this long (default 20,000 ms) makes status() say not connected:
   * a half-open link (packets black-holed, no reset) keeps the connection "up" while kafkajs waits
   * out its request timeouts and retries, minutes before a send fails.
   */
  stallMs?: number;
}

/**
 * One lane's loop: its own idempotent producer (so its own connections to the brokers and its own
 * request queue), one batch in flight. Control rows never wait for a readings request in flight.
 */
interface LaneLoop {
  readonly lane: Lane;
  producer: RecordProducer | null;
  loop: Promise<void> | null;
  connected: boolean;
  attempt: number;
  /** Rows per send: batchMax, halved after a rejection, doubled back after each success. */
  batch: number;
  wakeUp: (() => void) | null;
  /** performance.now() when the send now in flight began; null between sends. */
  sendingSince: number | null;
  stallLogged: boolean;
}

/**
 * Outbox -> Kafka. Two loops, one per lane (control: anomalies, gaps, heartbeats, topology;
 * readings), each with its own producer and one batch in flight, so rows of a lane leave in id
 * order and, with key = meterId, each meter's readings reach their partition in order; the one
 * exception is a backlog drain (more than backlogRecords waiting readings), where the live tail
 * (rows committed since the drain began) goes ahead of the backlog, so a meter's live readings can
 * reach Kafka before its older backlog readings (central takes late readings; README "Live data
 * during a drain"). Rows are removed only after Kafka acknowledged them (acks=all, idempotent
 * producer). An anomaly is sent as soon as it is committed, whatever readings request is on the
 * wire (README "Fairness": with one loop it waited for that request, ~0.5 s at p50 and 3 s at p95
 * at 10,000 readings/s on this machine); readings cannot be starved by control rows either, since
 * each lane has its own loop. Readings linger up to lingerMs for a batch.
 */
export class Forwarder {
  private readonly control: LaneLoop;
  private readonly readings: LaneLoop;
  private stopping = false;
  private lastError: string | null = null;
  private forwarded = 0;
  private errors = 0;
  /** When the readings lane was first seen with a partial batch waiting (lingering since). */
  private partialSince: number | null = null;
  /** During a backlog drain: rows above this id are the live tail, sent ahead of the backlog. */
  private tailAfter: number | null = null;
  private readonly lingerMs: number;
  private readonly lingerRecords: number;
  private readonly backlogRecords: number;
  private readonly samples: { t: number; n: number }[] = [];
  private readonly priorityWaitMs: number;
  /** Readings per second the link carried beyond a request's fixed cost (latest readings sends, smoothed); null before any. */
  private readingsRate: number | null = null;
  /** Durations (ms) of the latest small sends (a heartbeat, an anomaly): their minimum is a request's fixed cost. */
  private readonly smallSends: number[] = [];
  /** Partition count of each topic as a producer's metadata said after a send to it (outlives a rebuilt producer). */
  private readonly partitionCounts = new Map<string, number>();
  private readonly createProducer: (lane: Lane) => RecordProducer;
  /** The default partitioner on its own, to hash a meter's key as a single record's would be (batched readings). */
  private readonly keyPartition = Partitioners.DefaultPartitioner();
  /** Per topic: the partition of each meter's key at the partition count it was computed for. */
  private readonly meterPartition = new Map<string, { count: number; of: Map<string, number> }>();
  private readonly m;
  /** Whether a send has gone with several readings per record (the readings topic's partition count is known). */
  private batchedReadingsSent = false;

  constructor(private readonly opts: ForwarderOptions) {
    const loop = (lane: Lane): LaneLoop => ({ lane, producer: null, loop: null, connected: false, attempt: 0, batch: opts.batchMax ?? 5000, wakeUp: null, sendingSince: null, stallLogged: false });
    this.control = loop('control');
    this.readings = loop('readings');
    const kafka = opts.kafka;
    const onUnsent = (lane: Lane, u: UnsentReport): void => {
      this.unsentRecords += u.messages;
      this.m?.unsent.inc(u.messages);
      this.opts.logger.warn({ lane, messages: u.messages, partitions: u.partitions, resend: u.resend }, 'forwarder: Kafka acknowledged a send without some partitions, sending them again');
    };
    if (opts.createProducer !== undefined) this.createProducer = opts.createProducer;
    else if (kafka !== undefined) this.createProducer = (lane) => kafkajsRecordProducer(kafka, { onUnsent: (u) => onUnsent(lane, u) });
    else throw new Error('Forwarder: give kafka or createProducer');
    this.lingerMs = opts.lingerMs ?? 100;
    this.lingerRecords = Math.min(opts.lingerRecords ?? 1000, opts.batchMax ?? 5000);
    this.backlogRecords = opts.backlogRecords ?? Number.POSITIVE_INFINITY;
    this.priorityWaitMs = opts.priorityWaitMs ?? 2000;
    this.m = opts.metrics
      ? {
          forwarded: opts.metrics.counter('forwarded_records_total', 'Outbox records acknowledged by Kafka', ['topic']),
          errors: opts.metrics.counter('forward_errors_total', 'Failed sends to Kafka', ['code']),
          unsent: opts.metrics.counter('forward_unsent_records_total', 'Records kafkajs reported sent without sending (partition moved during a retry); sent again', []),
          latency: opts.metrics.histogram('forward_send_seconds', 'Duration of one sendBatch until Kafka acknowledged, per lane (control: anomalies, gaps, heartbeats, topology)', LATENCY_BUCKETS_S, ['lane']),
        }
      : null;
  }

  /** Starts the loops and returns; they run (and retry while Kafka is away) until stop(). */
  start(): Promise<void> {
    for (const l of [this.control, this.readings]) if (l.loop === null) l.loop = this.run(l);
    return Promise.resolve();
  }

  /**
   * A commit happened: the idle control loop looks at the outbox now when control rows wait, the
   * idle readings loop when a full lingering batch waits; otherwise their timers bring them back in time.
   */
  wake(): void {
    const s = this.opts.store;
    if (this.control.wakeUp !== null && s.waitingIn('control') > 0) this.control.wakeUp();
    if (this.readings.wakeUp !== null && (this.lingerMs === 0 || s.waitingIn('readings') >= this.lingerRecords)) this.readings.wakeUp();
  }

  /** Records a resolved send had left unsent (and that were sent again): the kafkajs defect in shared/kafka/send.ts. */
  unsentRecords = 0;

  /** Live-tail batches sent since start (a backlog drain served the live data first). */
  tailBatches = 0;

  /** Sends what Kafka takes within drainTimeoutMs, then stops and disconnects. */
  async stop(opts: { drainTimeoutMs: number }): Promise<{ drained: boolean; remaining: number }> {
    const deadline = Date.now() + opts.drainTimeoutMs;
    const loops = [this.control, this.readings];
    const started = loops.every((l) => l.loop !== null);
    while (Date.now() < deadline && started && this.opts.store.stats().depth > 0) {
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    }
    this.stopping = true;
    for (const l of loops) l.wakeUp?.();
    if (started) await Promise.race([Promise.all(loops.map((l) => l.loop)), sleep(5000)]);
    await Promise.all(loops.map((l) => this.dropProducer(l)));
    const remaining = this.opts.store.isOpen() ? this.opts.store.stats().depth : -1;
    return { drained: remaining === 0, remaining };
  }

  status(): { connected: boolean; lastError: string | null; forwarded: number; errors: number; ratePerSec: number; stalledMs: number } {
    const stalledMs = this.stalledMs();
    return { connected: this.control.connected && this.readings.connected && stalledMs === 0, lastError: this.lastError, forwarded: this.forwarded, errors: this.errors, ratePerSec: this.rate(), stalledMs };
  }

  /** How long the oldest send in flight has waited, once that is past stallMs (0: no send, or a younger one). */
  private stalledMs(): number {
    return Math.max(this.stalledMsOf(this.control), this.stalledMsOf(this.readings));
  }

  private stalledMsOf(l: LaneLoop): number {
    if (l.sendingSince === null) return 0;
    const waited = performance.now() - l.sendingSince;
    if (waited < (this.opts.stallMs ?? 20_000)) return 0;
    if (!l.stallLogged) {
      l.stallLogged = true;
      this.opts.logger.warn({ client: this.opts.clientId, lane: l.lane, waitedMs: Math.round(waited), backlog: this.opts.store.isOpen() ? this.opts.store.stats().depth : null }, 'forwarder: a send has not been acknowledged; reporting Kafka as not connected until it is');
    }
    return Math.round(waited);
  }

  private async run(l: LaneLoop): Promise<void> {
    while (!this.stopping) {
      try {
        const producer = await this.connect(l);
        const sent = l.lane === 'control' ? await this.sendControl(l, producer) : await this.sendReadings(l, producer);
        l.attempt = 0;
        if (sent === 0) await this.idle(l, l.lane === 'readings' && this.partialSince !== null ? Math.max(1, this.partialSince + this.lingerMs - performance.now()) : (this.opts.idleMs ?? 25));
      } catch (err) {
        if (this.stopping) break;
        await this.failed(l, err);
      }
    }
  }

  private async connect(l: LaneLoop): Promise<RecordProducer> {
    if (l.producer !== null) return l.producer;
    // Idempotent, acks=all, one request in flight per broker (both adapters keep idempotent order only then).
    const producer = this.createProducer(l.lane);
    await producer.connect();
    l.producer = producer;
    if (!l.connected) this.opts.logger.info({ client: this.opts.clientId, lane: l.lane, producer: producer.client, backlog: this.opts.store.stats().depth }, 'forwarder connected to Kafka');
    l.connected = true;
    return producer;
  }

  /**
   * One round of the readings lane: nothing while a partial batch lingers; during a backlog drain
   * the live tail first, then one batch of the backlog (oldest first).
   */
  private async sendReadings(l: LaneLoop, producer: RecordProducer): Promise<number> {
    const store = this.opts.store;
    const waiting = store.waitingIn('readings');
    if (waiting === 0) {
      this.partialSince = null;
      this.tailAfter = null;
      return 0;
    }
    if (waiting < this.lingerRecords && !this.stopping && this.lingerMs > 0) {
      const now = performance.now();
      if (this.partialSince === null) this.partialSince = now;
      if (now - this.partialSince < this.lingerMs) return 0;
    }
    this.partialSince = null;
    if (this.tailAfter === null && waiting > this.backlogRecords) this.tailAfter = store.newestId();
    let sent = 0;
    let limit = this.readingsLimit();
    // Several readings per record need the topic's partition count, which the producer knows after
    // the topic's first send: until then a whole batchMax would go one reading per record (a Kafka
    // record each, the slow form) and hold the live tail back behind it, so the first send is small.
    if ((this.opts.readingsPerRecord ?? 1) > 1 && !this.batchedReadingsSent) limit = Math.min(limit, FIRST_BATCHED_SEND);
    if (this.tailAfter !== null) {
      const tail = store.peekAfter('readings', this.tailAfter, limit);
      if (tail.length > 0) {
        sent += await this.sendRows(l, producer, tail);
        this.tailBatches++;
      }
    }
    const rows = store.peek('readings', limit);
    // The backlog is gone once the oldest waiting row is live: plain FIFO again.
    if (this.tailAfter !== null && (rows.length === 0 || rows[0]!.id > this.tailAfter)) this.tailAfter = null;
    if (rows.length > 0) sent += await this.sendRows(l, producer, rows);
    return sent;
  }

  private async sendControl(l: LaneLoop, producer: RecordProducer): Promise<number> {
    const rows = this.opts.store.peek('control', l.batch);
    if (rows.length === 0) return 0;
    return this.sendRows(l, producer, rows);
  }

  private async sendRows(l: LaneLoop, producer: RecordProducer, rows: StoredRecord[]): Promise<number> {
    const lane = l.lane;
    const t0 = performance.now();
    // send() resolves only once every partition is acknowledged (with kafkajs: checked and
    // repaired in shared/kafka/send.ts), and the rows are deleted below.
    // A small control batch (an anomaly, a heartbeat) goes uncompressed: its bytes hardly count,
    // and kafkajs' gzip runs in libuv's thread pool, where it queues behind the readings' batches
    // (README "Fairness": 53 -> 4 ms at p50 from record to a reader).
    const plain = lane === 'control' && rows.length <= (this.opts.controlPlainMax ?? CONTROL_PLAIN_MAX);
    const batch = this.toTopicRecords(rows);
    l.sendingSince = t0;
    try {
      await producer.send(batch, plain ? 'none' : (this.opts.compression ?? 'gzip'));
      for (const { topic } of batch) {
        const count = producer.partitionsOf(topic);
        if (count !== undefined) this.partitionCounts.set(topic, count);
      }
    } finally {
      l.sendingSince = null;
      l.stallLogged = false;
    }
    const ms = performance.now() - t0;
    this.m?.latency.observe({ lane }, ms / 1000);
    this.measured(lane, rows.length, ms);
    if (this.stopping && !this.opts.store.isOpen()) return rows.length;
    // rows is the oldest waiting rows of this lane in id order: one id range.
    this.opts.store.removeRange(lane, rows[0]!.id, rows[rows.length - 1]!.id);
    this.forwarded += rows.length;
    this.samples.push({ t: Date.now(), n: rows.length });
    if (this.m !== null) {
      // One increment per topic and send, not per row (a label lookup each).
      const byTopic = new Map<string, number>();
      for (const r of rows) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) this.m.forwarded.inc({ topic }, n);
    }
    l.batch = Math.min(this.opts.batchMax ?? 5000, l.batch * 2);
    return rows.length;
  }

  /** Readings per batch: batchMax (halved after a rejection), and on a slow link what it carries in priorityWaitMs. */
  readingsLimit(): number {
    const batch = this.readings.batch;
    if (this.readingsRate === null) return batch;
    return Math.max(MIN_READINGS_BATCH, Math.min(batch, Math.floor((this.readingsRate * this.priorityWaitMs) / 1000)));
  }

  private measured(lane: Lane, rows: number, ms: number): void {
    if (rows <= SMALL_SEND) {
      this.smallSends.push(ms);
      if (this.smallSends.length > 16) this.smallSends.shift();
    }
    if (lane !== 'readings') return;
    // Before any small send the whole duration counts: a shorter batch than needed, never a longer one.
    const fixed = this.smallSends.length > 0 ? Math.min(...this.smallSends) : 0;
    const rate = (rows * 1000) / Math.max(1, ms - fixed);
    this.readingsRate = this.readingsRate === null ? rate : (this.readingsRate + rate) / 2;
  }

  private toTopicRecords(rows: StoredRecord[]): TopicRecords[] {
    const byTopic = new Map<string, OutRecord[]>();
    const avro = this.opts.readingsEncoding === 'avro';
    const perRecord = this.opts.readingsPerRecord ?? 1;
    let readings: Map<string, StoredRecord[]> | null = null;
    for (const r of rows) {
      const topic = this.opts.topicMap?.[r.topic] ?? r.topic;
      const contract = CONTRACT_OF_TOPIC[r.topic] ?? 'unknown/v1';
      // Several readings per record once the topic's partition count is known (after its first send).
      if (perRecord > 1 && contract === 'forwarded-reading/v1' && r.key !== null && this.partitionCounts.has(topic)) {
        readings ??= new Map();
        this.batchedReadingsSent = true;
        let list = readings.get(topic);
        if (list === undefined) readings.set(topic, (list = []));
        list.push(r);
        continue;
      }
      let list = byTopic.get(topic);
      if (list === undefined) byTopic.set(topic, (list = []));
      // An Avro reading names its schema (fingerprint) and itself (readingId): the record-id
      // header, ~3 of its ~20 bytes on the WAN after compression, is left off (README "Forwarding").
      if (avro && contract === 'forwarded-reading/v1') list.push({ key: r.key, value: encodeForwardedReading(JSON.parse(r.value) as Record<string, unknown>), headers: { 'gridwatch-contract': contract } });
      else list.push({ key: r.key, value: r.value, headers: { 'gridwatch-contract': contract, 'gridwatch-record-id': `${this.opts.clientId}:${r.id}` } });
    }
    if (readings !== null) {
      for (const [topic, list] of readings) {
        let out = byTopic.get(topic);
        if (out === undefined) byTopic.set(topic, (out = []));
        out.push(...this.batchedReadings(topic, list, perRecord, avro));
      }
    }
    return [...byTopic].map(([topic, records]) => ({ topic, records }));
  }

  /**
   * Readings of one send in records of up to perRecord readings of one partition each, in id
   * order within a partition (so per meter). The partition is the one kafkajs' default
   * partitioner gives the meter's key, set on the record: a meter's readings land where single
   * records would put them. The record's key is null (it holds many meters; each reading names
   * its meterId), its value JSON lines (the stored texts joined by "\n") or the Avro batch.
   */
  private batchedReadings(topic: string, rows: StoredRecord[], perRecord: number, avro: boolean): OutRecord[] {
    const count = this.partitionCounts.get(topic)!;
    let known = this.meterPartition.get(topic);
    // Bounded: an edge has thousands of meters; past 100,000 keys the map starts again.
    if (known === undefined || known.count !== count || known.of.size > 100_000) this.meterPartition.set(topic, (known = { count, of: new Map() }));
    const meta = Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const byPartition = new Map<number, StoredRecord[]>();
    for (const r of rows) {
      // The hash of a meter's key is remembered (a Map entry per meter) while the count holds: murmur2 and its Buffer once per meter, not per reading.
      let p = known.of.get(r.key!);
      if (p === undefined) known.of.set(r.key!, (p = this.keyPartition({ topic, partitionMetadata: meta, message: { key: r.key, value: null } })));
      let list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, (list = []));
      list.push(r);
    }
    const out: OutRecord[] = [];
    const headers = { 'gridwatch-contract': READINGS_BATCH_CONTRACT };
    for (const [partition, list] of byPartition) {
      for (let i = 0; i < list.length; i += perRecord) {
        const part = list.slice(i, i + perRecord);
        const value = avro ? encodeForwardedReadingBatch(part.map((r) => JSON.parse(r.value) as Record<string, unknown>)) : part.map((r) => r.value).join('\n');
        out.push({ partition, key: null, value, headers });
      }
    }
    return out;
  }

  /**
   * A failed send: the rows stay in the outbox and are sent again (central drops the duplicates an
   * in-doubt batch may cause). The producer is rebuilt so a fresh idempotent session starts.
   * Rejected batches are halved to isolate a record Kafka refuses; it is retried (and logged)
   * until an operator acts, never dropped.
   */
  private async failed(l: LaneLoop, err: unknown): Promise<void> {
    const e = kafkaError(err, 'forwarding to Kafka');
    this.errors++;
    this.lastError = e.message;
    this.m?.errors.inc({ code: e.code });
    if (!e.retryable) l.batch = Math.max(1, Math.floor(l.batch / 2));
    const delay = backoffDelay(l.attempt++, this.opts.backoff?.initialMs ?? 200, this.opts.backoff?.maxMs ?? 10_000);
    const log = e.retryable ? this.opts.logger.warn.bind(this.opts.logger) : this.opts.logger.error.bind(this.opts.logger);
    log({ err: e.toJSON(), lane: l.lane, attempt: l.attempt, retryInMs: delay, backlog: this.opts.store.isOpen() ? this.opts.store.stats().depth : null, batch: l.batch }, 'forwarder: send failed, will retry');
    l.connected = false;
    await this.dropProducer(l);
    await this.idle(l, delay);
  }

  private async dropProducer(l: LaneLoop): Promise<void> {
    const p = l.producer;
    l.producer = null;
    l.connected = false;
    if (p !== null) await p.disconnect().catch(() => undefined);
  }

  private idle(l: LaneLoop, ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        l.wakeUp = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      l.wakeUp = done;
    });
  }

  private rate(): number {
    const now = Date.now();
    while (this.samples.length > 0 && this.samples[0]!.t < now - 5000) this.samples.shift();
    const n = this.samples.reduce((s, x) => s + x.n, 0);
    return n / 5;
  }
}

/**
 * Control batches of at most this many records are sent uncompressed (~6 KB of anomalies at most:
 * under a second at 64 kbit/s); larger ones, a storm of last gasps, are compressed like readings.
 */
const CONTROL_PLAIN_MAX = 16;
/** A slow link's readings batch is never cut below this (a request per few readings would waste the link on overhead). */
const MIN_READINGS_BATCH = 50;
/** Readings in the first send with several readings per record wanted, before the partition count is known. */
const FIRST_BATCHED_SEND = 100;
/** Sends of at most this many records are timed as a request's fixed cost (their bytes hardly count). */
const SMALL_SEND = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
