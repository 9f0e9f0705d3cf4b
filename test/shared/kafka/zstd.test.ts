import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { registerZstdCodec } from '../../../shared/kafka/zstd.ts';

describe('zstd codec of Kafka record batches', () => {
  it('is registered with kafkajs and gives back the bytes it compressed, in fewer bytes', async () => {
    registerZstdCodec();
    const make = (kafkajs.CompressionCodecs as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>)[kafkajs.CompressionTypes.ZSTD];
    expect(make).toBeTypeOf('function');
    const codec = make!();
    const records = Buffer.from(Array.from({ length: 500 }, (_, i) => `{"meterId":"m-${i % 50}","seq":${i},"voltage":${(229 + (i % 7) * 0.1).toFixed(2)}}`).join(''));
    const packed = await codec.compress({ buffer: records });
    expect(packed.length).toBeLessThan(records.length / 4);
    // zstd frame magic 28 B5 2F FD: a real zstd frame, not a copy.
    expect(packed.subarray(0, 4).toString('hex')).toBe('28b52ffd');
    expect((await codec.decompress(packed)).equals(records)).toBe(true);
  });
});
