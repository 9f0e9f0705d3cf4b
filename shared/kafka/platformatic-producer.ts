// The @platformatic/kafka adapter of the producer port (shared/kafka/producer.ts), the edge's
// second Kafka client (issue 12 goal 2): same idempotent acks=all contract, same TLS/SASL, same
// partition per key as kafkajs. What it saves, measured against kafkajs in one process:
// edge/forward/README.md "Two producer clients".
// The library is imported at the first connect, not with this module: it costs ~55 MB of RSS and
// ~0.5 s to load here (kafkajs ~15 MB), which only a gateway that chose it should pay.
import type { Producer } from '@platformatic/kafka';
import type { KafkaSecurity } from './security.ts';
import type { OutRecord, RecordCodec, RecordProducer, TopicRecords } from './producer.ts';
import { registerZstdCodec, zstdCompressSync, zstdDecompressSync } from './zstd.ts';

export interface PlatformaticProducerOptions {
  brokers: string[];
  clientId: string;
  /** Only its ssl and sasl are read (the producer thread gets them as data). */
  security?: Pick<KafkaSecurity, 'ssl' | 'sasl'>;
  /** Default 5,000 ms, as kafkajs' connectionTimeout in shared/kafka/client.ts. */
  connectionTimeoutMs?: number;
  /** Per request (and the Produce request's own acks timeout); default 30,000 ms. */
  requestTimeoutMs?: number;
  /** Retries of one request before send() rejects; default 5, 200 ms apart (the caller has its own backoff). */
  retries?: number;
  /** zstd level of the batches this process writes (process-wide, as with kafkajs). */
  zstdLevel?: number;
}

type Library = typeof import('@platformatic/kafka');
let library: Promise<Library> | null = null;
/** @platformatic/kafka, imported once. */
export function loadPlatformatic(): Promise<Library> {
  library ??= import('@platformatic/kafka');
  return library;
}

// zstd through zstd-napi at this process's level, as kafkajs' codec (shared/kafka/zstd.ts): its
// own is node:zlib's, absent before Node 22.15 and at level 3 (~5 bytes per reading more than 9).
let zstdInstalled = false;
function installZstd(compressionsAlgorithms: Library['compressionsAlgorithms'], level: number | undefined): void {
  registerZstdCodec(level);
  if (zstdInstalled) return;
  zstdInstalled = true;
  // The library hands a Buffer, or its DynamicBuffer whose `buffer` is the bytes.
  const bytes = (data: unknown): Buffer => (Buffer.isBuffer(data) ? data : (data as { buffer: Buffer }).buffer);
  const zstd = compressionsAlgorithms.zstd as { compressSync: (d: unknown) => Buffer; decompressSync: (d: unknown) => Buffer; available: boolean };
  zstd.compressSync = (data) => zstdCompressSync(bytes(data));
  zstd.decompressSync = (data) => zstdDecompressSync(bytes(data));
  zstd.available = true;
}

/** Buffers of the header names and of the values that repeat (contract names), made once. */
const headerBytes = new Map<string, Buffer>();
function cached(text: string): Buffer {
  let b = headerBytes.get(text);
  if (b === undefined) {
    b = Buffer.from(text);
    if (headerBytes.size < 64) headerBytes.set(text, b);
  }
  return b;
}

export interface PlatformaticMessage {
  topic: string;
  key?: Buffer;
  value: Buffer;
  headers?: Map<Buffer, Buffer>;
  partition?: number;
}

function toMessage(topic: string, r: OutRecord): PlatformaticMessage {
  const m: PlatformaticMessage = { topic, value: typeof r.value === 'string' ? Buffer.from(r.value) : r.value };
  if (r.key !== null) m.key = Buffer.from(r.key);
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.headers !== undefined) {
    const h = new Map<Buffer, Buffer>();
    // The record id (`<client>:<outbox id>`) differs per record; names and contracts repeat.
    for (const [k, v] of Object.entries(r.headers)) h.set(cached(k), k === 'gridwatch-record-id' ? Buffer.from(v) : cached(v));
    m.headers = h;
  }
  return m;
}

/**
 * A Connection of @platformatic/kafka that fails can emit 'error' twice (the failure, then its
 * socket's own error as it closes: seen with a refused SASL mechanism over TLS 1.3), and its pool
 * listens with `once`: the second is an unhandled 'error' event, which ends the process. Every
 * connection the client makes or loses gets a listener of its own; a failure still reaches the
 * caller through the request that met it.
 */
export function guardConnectionErrors(client: { on(event: string, f: (payload: unknown) => void): unknown }): void {
  const guarded = new WeakSet<object>();
  const guard = (payload: unknown): void => {
    const c = (payload as { connection?: { on?: (e: string, f: () => void) => void } } | undefined)?.connection;
    if (c === undefined || typeof c.on !== 'function' || guarded.has(c)) return;
    guarded.add(c);
    c.on('error', () => undefined);
  };
  for (const event of ['client:broker:connect', 'client:broker:failed', 'client:broker:disconnect']) client.on(event, guard);
}

/** The producer as the thread host of thread-producer.ts drives it: records already in the library's shape. */
export interface PlatformaticCore {
  connect(): Promise<void>;
  /** Resolves once every destination broker answered with no partition error, acks=all. */
  sendMessages(messages: PlatformaticMessage[], codec: RecordCodec): Promise<void>;
  partitionsOf(topic: string): number | undefined;
  disconnect(): Promise<void>;
}

/**
 * @platformatic/kafka's producer: idempotent (it then keeps one request in flight per broker and
 * acks=all), the Java client's partition for a key (compatibilityPartitioner; its default
 * partitioner hashes differently), a bounded number of retries so a send fails and the caller's
 * backoff and stall report take over (its idempotent default is to retry for ever).
 */
export function platformaticCore(o: PlatformaticProducerOptions): PlatformaticCore {
  const sasl = o.security?.sasl as { mechanism: string; username: string; password: string } | undefined;
  let producer: Producer | null = null;
  const make = async (): Promise<Producer> => {
    const lib = await loadPlatformatic();
    installZstd(lib.compressionsAlgorithms, o.zstdLevel);
    const p = new lib.Producer({
      clientId: o.clientId,
      bootstrapBrokers: o.brokers,
      idempotent: true,
      acks: lib.ProduceAcks.ALL,
      partitioner: lib.compatibilityPartitioner,
      autocreateTopics: false,
      connectTimeout: o.connectionTimeoutMs ?? 5000,
      timeout: o.requestTimeoutMs ?? 30_000,
      retries: o.retries ?? 5,
      retryDelay: 200,
      ...(o.security?.ssl ? { tls: o.security.ssl } : {}),
      // Its mechanism names are upper case (SCRAM-SHA-512); security.ts keeps kafkajs' lower case.
      ...(sasl ? { sasl: { mechanism: sasl.mechanism.toUpperCase() as 'PLAIN', username: sasl.username, password: sasl.password } } : {}),
    });
    guardConnectionErrors(p);
    return p;
  };
  return {
    async connect() {
      producer ??= await make();
      try {
        await producer.initIdempotentProducer({});
      } catch (err) {
        await producer.close().catch(() => undefined);
        throw err;
      }
    },
    async sendMessages(messages, codec) {
      if (producer === null) throw new Error('platformaticRecordProducer: send before connect');
      if (messages.length === 0) return;
      // A partition error is a ResponseError, a failed broker a rejection.
      await producer.send({ messages: messages as never, compression: codec });
    },
    partitionsOf: (topic) => (producer?.currentMetadata as { topics?: Map<string, { partitionsCount: number }> } | undefined)?.topics?.get(topic)?.partitionsCount,
    disconnect: async () => {
      await producer?.close();
    },
  };
}

/** @platformatic/kafka's producer behind the port, on the caller's thread (platformaticCore). */
export function platformaticRecordProducer(o: PlatformaticProducerOptions): RecordProducer {
  const core = platformaticCore(o);
  return {
    client: 'platformatic',
    connect: () => core.connect(),
    async send(batch: TopicRecords[], codec) {
      const messages: PlatformaticMessage[] = [];
      for (const { topic, records } of batch) for (const r of records) messages.push(toMessage(topic, r));
      await core.sendMessages(messages, codec);
    },
    partitionsOf: (topic) => core.partitionsOf(topic),
    disconnect: () => core.disconnect(),
  };
}
