// The producer thread: @platformatic/kafka's producers of this process (one per forwarder lane),
// so that their encoding, compression, checksums, TLS and socket work run beside the gateway's
// main thread (MQTT intake, validation, detection, SQLite commits) and not in its way. The main
// side is thread-producer.ts; the records arrive packed (record-pack.ts), errors go back as data.
import { parentPort } from 'node:worker_threads';
import { platformaticCore, loadPlatformatic, type PlatformaticCore, type PlatformaticProducerOptions } from './platformatic-producer.ts';
import { errorToData, unpackBatch, type PackedBatch } from './record-pack.ts';
import type { RecordCodec } from './producer.ts';

export type ThreadRequest =
  | { op: 'load'; seq: number; id: number }
  | { op: 'held'; seq: number; id: number }
  | { op: 'open'; seq: number; id: number; options: PlatformaticProducerOptions }
  | { op: 'connect'; seq: number; id: number }
  | { op: 'send'; seq: number; id: number; codec: RecordCodec; batch: PackedBatch }
  | { op: 'close'; seq: number; id: number };

export type ThreadReply =
  | { seq: number; ok: true; partitions?: [string, number][]; held?: number }
  | { seq: number; ok: false; error: ReturnType<typeof errorToData>; unknownProducer?: boolean };

const port = parentPort;
if (port === null) throw new Error('producer-thread.ts runs as a worker thread (thread-producer.ts starts it)');

const producers = new Map<number, PlatformaticCore>();

async function handle(r: ThreadRequest): Promise<ThreadReply> {
  if (r.op === 'load') {
    await loadPlatformatic();
    return { seq: r.seq, ok: true };
  }
  if (r.op === 'held') return { seq: r.seq, ok: true, held: producers.size };
  if (r.op === 'open') {
    await loadPlatformatic();
    producers.set(r.id, platformaticCore(r.options));
    return { seq: r.seq, ok: true };
  }
  const p = producers.get(r.id);
  if (p === undefined) {
    if (r.op === 'close') return { seq: r.seq, ok: true };
    return { seq: r.seq, ok: false, unknownProducer: true, error: errorToData(new Error(`producer thread: no producer ${r.id}`)) };
  }
  if (r.op === 'connect') {
    try {
      await p.connect();
    } catch (err) {
      // The caller drops a producer whose connect failed without closing it (the forwarder makes
      // a new one): kept here, each failed connect of an outage would stay in this map.
      producers.delete(r.id);
      throw err;
    }
    return { seq: r.seq, ok: true };
  }
  if (r.op === 'send') {
    await p.sendMessages(unpackBatch(r.batch), r.codec);
    const partitions: [string, number][] = [];
    for (const [topic] of r.batch.topics) {
      const n = p.partitionsOf(topic);
      if (n !== undefined) partitions.push([topic, n]);
    }
    return { seq: r.seq, ok: true, partitions };
  }
  producers.delete(r.id);
  await p.disconnect();
  return { seq: r.seq, ok: true };
}

port.on('message', (r: ThreadRequest) => {
  handle(r).then(
    (reply) => port.postMessage(reply),
    (err: unknown) => port.postMessage({ seq: r.seq, ok: false, error: errorToData(err) } satisfies ThreadReply),
  );
});
