// ensureTopics against the real Kafka: creates what is missing (compacted where asked), leaves
// what exists, and says which it created.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafkaClient, ensureTopicsOn, partitionCount, topicSpecs } from '../../../shared/kafka/index.ts';
import { testEndpoints, testKafkaSecurity, uniqueName } from '../../harness/env.ts';

describe('ensureTopics (real Kafka)', () => {
  it('creates the missing topics once, compacts topology and state, and leaves existing ones', async () => {
    const kafka = createKafkaClient({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('topics-test'), security: testKafkaSecurity() });
    const names = { readings: uniqueName('t-readings'), topology: uniqueName('t-topology'), state: uniqueName('t-state') };
    const specs = topicSpecs(names);
    expect(specs).toEqual([{ topic: names.readings, compacted: false }, { topic: names.topology, compacted: true }, { topic: names.state, compacted: true }]);
    expect((await ensureTopicsOn(kafka, specs, { partitions: 2 })).sort()).toEqual(Object.values(names).sort());
    expect(await ensureTopicsOn(kafka, specs, { partitions: 5 })).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await partitionCount(admin, names.readings)).toBe(2); // not re-created with 5
      const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: Object.values(names).map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })) });
      const policy = Object.fromEntries(cfg.resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue]));
      expect(policy).toEqual({ [names.readings]: 'delete', [names.topology]: 'compact', [names.state]: 'compact' });
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});
