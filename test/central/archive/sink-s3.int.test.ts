// The sink contract against the real MinIO the harness runs, in a bucket of its own.
import { describe, expect, it } from 'vitest';
import { S3Sink, createSink } from '../../../central/archive/index.ts';
import { testEndpoints, uniqueName } from '../../harness/env.ts';
import { archiveSinkContract } from './sink-contract.ts';

const { s3 } = testEndpoints();
const opts = (bucket: string) => ({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket });

archiveSinkContract('S3Sink (MinIO)', async () => {
  const sink = new S3Sink(opts(uniqueName('archive-contract')));
  await sink.ensureBucket();
  return sink;
});

describe('S3Sink', () => {
  it('ensureBucket is idempotent and createSink prefers S3', async () => {
    const bucket = uniqueName('archive-ensure');
    const sink = createSink({ s3: opts(bucket), dir: '/nonexistent' }) as S3Sink;
    expect(sink.describe()).toContain(bucket);
    await sink.ensureBucket();
    await sink.ensureBucket();
    expect(await sink.list('')).toEqual([]);
  });

  it('fails a put into a bucket that does not exist with a non-retryable ARCHIVE_FAILED', async () => {
    const sink = new S3Sink(opts(uniqueName('archive-missing')));
    await expect(sink.put('k', Buffer.from('x'))).rejects.toMatchObject({ code: 'ARCHIVE_FAILED', retryable: false });
  });

  it('fails a listing of a bucket that does not exist, naming it (an archive reader must not take a wrong bucket for an empty one)', async () => {
    const sink = new S3Sink(opts(uniqueName('archive-absent')));
    await expect(sink.list('')).rejects.toMatchObject({ code: 'ARCHIVE_FAILED', details: { s3Code: 'NoSuchBucket' } });
  });
});
