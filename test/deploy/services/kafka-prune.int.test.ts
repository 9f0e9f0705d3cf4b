// Against the real broker: old throwaway topics are deleted, young ones and named ones are kept.
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../../shared/kafka/client.ts';
import { pruneThrowawayTopics } from '../../../deploy/services/kafka-prune.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../../harness/env.ts';

describe('pruneThrowawayTopics (real Kafka)', () => {
  const brokers = testEndpoints().kafkaBrokers;
  const security = testKafkaSecurity();
  const admin = createKafkaClient({ clientId: 'prune-test', brokers, security }).admin();
  const young = uniqueName('prune-young');
  // Named as uniqueName would have named it four hours ago.
  const old = `prune-old-${(Date.now() - 4 * 3600_000).toString(36)}-${young.slice(-6)}`;
  afterAll(async () => {
    await admin.deleteTopics({ topics: [young], timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  it('deletes the old one, keeps the young one, and says how many', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: old, numPartitions: 1 }, { topic: young, numPartitions: 1 }], waitForLeaders: true });
    const lines: string[] = [];
    // Other old leftovers on the shared broker may go too, as they are meant to: hence at least 1.
    const deleted = await pruneThrowawayTopics({ brokers, security, log: (l) => lines.push(l) });
    expect(deleted).toBeGreaterThanOrEqual(1);
    const topics = await admin.listTopics();
    expect(topics).not.toContain(old);
    expect(topics).toContain(young);
    expect(lines.join('\n')).toMatch(/deleted \d+ throwaway topic/);
  });
});
