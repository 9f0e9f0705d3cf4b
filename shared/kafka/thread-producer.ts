// The third adapter of the producer port (shared/kafka/producer.ts): @platformatic/kafka on a
// thread of its own, client `platformatic-thread`. The caller's thread only packs each send's
// records into one buffer (record-pack.ts) and hands it over without a copy; the producer thread
// (producer-thread.ts) encodes, compresses (gzip is synchronous in that library), checksums,
// encrypts and writes them, and answers once Kafka acknowledged every record. On the gateway that
// work otherwise runs on the one thread that also takes MQTT, validates, detects and commits, and
// every publish waits behind it (edge/forward/README.md "Two producer clients").
//
// One thread per process, started at the first connect and shared by every producer of the
// process (a forwarder has one per lane); it holds the library once (~55 MB). If the thread dies,
// every request waiting on it fails as Kafka unavailable (retryable), its producers are gone, and
// the caller's next producer starts a new thread.
import { Worker } from 'node:worker_threads';
import { GridwatchError } from '../errors.ts';
import type { PlatformaticProducerOptions } from './platformatic-producer.ts';
import type { ThreadReply, ThreadRequest } from './producer-thread.ts';
import type { RecordProducer } from './producer.ts';
import { errorFromData, packBatch } from './record-pack.ts';

// From source: shared/kafka/producer-worker.mjs (tsx shim); in the prebuilt gateway this module is
// inside dist/edge.mjs, and dist/producer-worker.mjs is the thread bundled on its own.
const WORKER_URL = new URL('./producer-worker.mjs', import.meta.url);

type Ok = Extract<ThreadReply, { ok: true }>;
type Request = ThreadRequest extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

const unavailable = (message: string, cause?: unknown): GridwatchError => new GridwatchError('KAFKA_UNAVAILABLE', message, { retryable: true, ...(cause !== undefined ? { cause } : {}) });

interface Running {
  worker: Worker;
  generation: number;
  /** Requests waiting on this thread (a thread's exit fails its own, not a successor's). */
  pending: Map<number, { resolve: (r: Ok) => void; reject: (e: Error) => void }>;
}

class ProducerThread {
  private running: Running | null = null;
  private generation = 0;
  private seq = 0;

  /** The running thread's generation, or null. */
  current(): number | null {
    return this.running?.generation ?? null;
  }

  /** Whether the thread that `generation` names still runs. */
  alive(generation: number | null): boolean {
    return this.running !== null && generation === this.running.generation;
  }

  /** Starts the thread if none runs; returns its generation. */
  ensure(): number {
    if (this.running !== null) return this.running.generation;
    const worker = new Worker(WORKER_URL, { execArgv: [] });
    const r: Running = { worker, generation: ++this.generation, pending: new Map() };
    // Referenced only while a request waits: an idle producer thread does not hold the process.
    worker.unref();
    worker.on('message', (reply: ThreadReply) => {
      const p = r.pending.get(reply.seq);
      if (p === undefined) return;
      r.pending.delete(reply.seq);
      if (r.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(reply);
      else if (reply.unknownProducer === true) p.reject(unavailable('producer thread: the producer is gone (its thread was restarted)'));
      else p.reject(errorFromData(reply.error));
    });
    let cause: Error | undefined;
    worker.on('error', (err) => {
      cause = err;
    });
    worker.on('exit', (code) => {
      if (this.running === r) this.running = null;
      const err = unavailable(`producer thread exited (code ${code})${cause ? `: ${cause.message}` : ''}`, cause);
      for (const p of r.pending.values()) p.reject(err);
      r.pending.clear();
    });
    this.running = r;
    return r.generation;
  }

  request(req: Request, transfer: ArrayBuffer[] = []): Promise<Ok> {
    const r = this.running;
    if (r === null) return Promise.reject(unavailable('producer thread: not running'));
    const seq = ++this.seq;
    return new Promise<Ok>((resolve, reject) => {
      r.pending.set(seq, { resolve, reject });
      r.worker.ref();
      try {
        r.worker.postMessage({ ...req, seq }, transfer);
      } catch (err) {
        // Not data (a function in the options): nothing waits on the thread for it.
        r.pending.delete(seq);
        if (r.pending.size === 0) r.worker.unref();
        reject(err as Error);
      }
    });
  }

  /** Ends the thread and its producers (what waits on it fails as unavailable). */
  async stop(): Promise<void> {
    const r = this.running;
    this.running = null;
    if (r !== null) await r.worker.terminate();
  }
}

const thread = new ProducerThread();
let nextId = 0;

/** Starts the producer thread and loads the library in it (~0.5 s, off the caller's thread). */
export async function preloadProducerThread(): Promise<void> {
  thread.ensure();
  await thread.request({ op: 'load', id: 0 });
}

/** How many producers the thread holds (none after connects that failed, or after every producer disconnected); 0 when no thread runs. */
export async function producerThreadHolds(): Promise<number> {
  if (!thread.alive(thread.current())) return 0;
  return (await thread.request({ op: 'held', id: 0 })).held ?? 0;
}

/** Ends the producer thread of this process, if one runs (its producers fail as unavailable). */
export function stopProducerThread(): Promise<void> {
  return thread.stop();
}

/** @platformatic/kafka behind the port, on the producer thread; the same options and contract as platformaticRecordProducer. */
export function threadRecordProducer(o: PlatformaticProducerOptions): RecordProducer {
  const id = ++nextId;
  let generation: number | null = null;
  const partitions = new Map<string, number>();
  // Only data crosses to the thread: not a KafkaSecurity's describe(), nor the authenticationProvider
  // function kafkajs adds to a sasl object it was given (it mutates it: seen when one KafkaSecurity
  // served a kafkajs client first); the mechanism, user and password are what the library reads.
  const { security, ...rest } = o;
  const sasl = security?.sasl as { mechanism: string; username: string; password: string } | undefined;
  const options: PlatformaticProducerOptions = {
    ...rest,
    ...(security ? { security: { ...(security.ssl ? { ssl: security.ssl } : {}), ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as never } : {}) } } : {}),
  };
  const live = (): boolean => thread.alive(generation);
  return {
    client: 'platformatic-thread',
    async connect() {
      if (!live()) {
        generation = thread.ensure();
        await thread.request({ op: 'open', id, options });
      }
      try {
        await thread.request({ op: 'connect', id });
      } catch (err) {
        // The thread dropped it (producer-thread.ts): a next connect opens it again.
        generation = null;
        throw err;
      }
    },
    async send(batch, codec) {
      if (!live()) throw unavailable('producer thread: send before connect, or its thread was restarted');
      const packed = packBatch(batch);
      if (packed.topics.length === 0) return;
      const reply = await thread.request({ op: 'send', id, codec, batch: packed }, [packed.buffer]);
      for (const [topic, n] of reply.partitions ?? []) partitions.set(topic, n);
    },
    partitionsOf: (topic) => partitions.get(topic),
    async disconnect() {
      if (!live()) return;
      generation = null;
      await thread.request({ op: 'close', id });
    },
  };
}
