// The model registry's bucket against the real MinIO: before the first upload it does not exist,
// and `gridwatch models list` must show an empty registry, not fail (it did).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/index.ts';
import { ModelStore } from '../../../central/learn/registry-store.ts';
import { uniqueName } from '../../harness/env.ts';

describe('ModelStore (real MinIO)', () => {
  const s3 = { s3Endpoint: process.env.GRIDWATCH_S3_ENDPOINT!, s3AccessKey: process.env.GRIDWATCH_S3_ACCESS_KEY!, s3SecretKey: process.env.GRIDWATCH_S3_SECRET_KEY! };

  it('lists a registry whose bucket does not exist yet as empty, and still refuses to fetch from it', async () => {
    const store = ModelStore.fromSettings({ ...s3, modelsBucket: uniqueName('models-absent') }, silentLogger());
    expect(await store.list()).toEqual([]);
    await expect(store.fetch('0'.repeat(64))).rejects.toThrow();
  });
});
