// Put and get an object through the real MinIO that the harness runs.
import { randomBytes } from 'node:crypto';
import { Client } from 'minio';
import { afterAll, describe, expect, it } from 'vitest';
import { testEndpoints, uniqueName } from '../harness/env.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('minio smoke', () => {
  const { s3 } = testEndpoints();
  const client = new Client({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey });
  const bucket = uniqueName('smoke-archive');
  const key = 'grid.readings/0/00000000000000000000-00000000000000000099.jsonl';

  afterAll(async () => {
    await client.removeObject(bucket, key).catch(() => undefined);
    await client.removeBucket(bucket).catch(() => undefined);
  });

  it('puts an object, gets it back byte for byte, and lists it', async () => {
    await client.makeBucket(bucket);
    expect(await client.bucketExists(bucket)).toBe(true);

    const body = Buffer.concat([Buffer.from('{"meterId":"m-1","voltage":231.5}\n'), randomBytes(64 * 1024)]);
    await client.putObject(bucket, key, body, body.length, { 'Content-Type': 'application/octet-stream' });

    const back = await readAll(await client.getObject(bucket, key));
    expect(back.equals(body)).toBe(true);

    const listed: string[] = [];
    for await (const item of client.listObjectsV2(bucket, 'grid.readings/', true)) {
      if (item.name) listed.push(item.name);
    }
    expect(listed).toEqual([key]);
    const stat = await client.statObject(bucket, key);
    expect(stat.size).toBe(body.length);
  });
});
