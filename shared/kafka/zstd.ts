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
 * Level 3 is zstd's default. Measured on the fleet's stream (bench --only wan): higher levels cost
 * CPU at the edge for a few per cent of bytes.
 */
export const ZSTD_LEVEL = 3;

function zstdCodec() {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: ZSTD_LEVEL });
  return {
    // kafkajs passes its Encoder; the record section to compress is encoder.buffer.
    compress: async (encoder: { buffer: Buffer }): Promise<Buffer> => compressor.compress(encoder.buffer),
    decompress: async (buffer: Buffer): Promise<Buffer> => decompress(buffer),
  };
}

let registered = false;
/** Makes kafkajs read and write zstd record batches (idempotent). */
export function registerZstdCodec(): void {
  if (registered) return;
  registered = true;
  (CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD] = zstdCodec;
}
