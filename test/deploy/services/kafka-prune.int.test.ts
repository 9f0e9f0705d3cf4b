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
    // A deletion is acknowledged by the controller before every broker's metadata has it: a
    // listTopics right after it once still named the old topic (a broker holding ~950 topics).
    // So the list is read again until it no longer does, for at most 30 s.
    let topics = await admin.listTopics();
    for (const end = Date.now() + 30_000; topics.includes(old) && Date.now() < end; topics = await admin.listTopics()) await new Promise((r) => setTimeout(r, 250));
    expect(topics).not.toContain(old);
    expect(topics).toContain(young);
    expect(lines.join('\n')).toMatch(/deleted \d+ throwaway topic/);
  });
});
