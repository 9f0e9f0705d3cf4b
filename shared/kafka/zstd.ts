// The zstd codec of Kafka record batches (issue 12 goal 4, bytes on the WAN). kafkajs knows the
// codec's id but ships no implementation: a producer or consumer meeting a zstd batch without one
// fails with "ZSTD compression not implemented". Registered once, when shared/kafka/client.ts is
// loaded, so every program's consumer reads zstd batches and the edge can choose to write them.
// zstd-napi (Node-API bindings of the reference library) works on Node 20 as on 22/24; node:zlib's
// zstd exists only from Node 22.15.
import kafkajs from 'kafkajs';
import { Compressor, decompress } from 'zstd-napi';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * zstd's own default is 3. On the fleet's stream (10,000 meters, every channel, Avro, ~1,700
 * records per partition batch) level 3 gives 25.8 bytes per reading, 9 gives 20.2, 12 20.2, 15
 * 19.9 at ~2-5x the CPU of 9 (bench/wan.ts, edge/forward/README.md): 9 is where the curve flattens.
 */
export const ZSTD_DEFAULT_LEVEL = 9;
let level = ZSTD_DEFAULT_LEVEL;

function zstdCodec() {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: level });
  return {
    // kafkajs passes its Encoder; the record section to compress is encoder.buffer.
    compress: async (encoder: { buffer: Buffer }): Promise<Buffer> => compressor.compress(encoder.buffer),
    decompress: async (buffer: Buffer): Promise<Buffer> => decompress(buffer),
  };
}

let compressor: { level: number; c: Compressor } | null = null;
/**
 * A zstd frame of `data` at this process's level (registerZstdCodec), synchronously: the codec of
 * the @platformatic/kafka producer (shared/kafka/platformatic-producer.ts), which compresses inline.
 */
export function zstdCompressSync(data: Buffer): Buffer {
  if (compressor === null || compressor.level !== level) {
    const c = new Compressor();
    c.setParameters({ compressionLevel: level });
    compressor = { level, c };
  }
  return compressor.c.compress(data);
}
export { decompress as zstdDecompressSync };

let registered = false;
/**
 * Makes kafkajs read and write zstd record batches (idempotent). `compressionLevel` (1-19) applies
 * to every zstd batch this process writes from then on (kafkajs' codec registry is process-wide).
 */
export function registerZstdCodec(compressionLevel?: number): void {
  if (compressionLevel !== undefined) level = compressionLevel;
  if (registered) return;
  registered = true;
  (CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD] = zstdCodec;
}
