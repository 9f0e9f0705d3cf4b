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

  it('lets two instances create the same topics at the same moment: both succeed, each topic made once', async () => {
    const mk = () => createKafkaClient({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('topics-race'), security: testKafkaSecurity() });
    const names = { readings: uniqueName('race-readings'), anomalies: uniqueName('race-anomalies'), events: uniqueName('race-events') };
    const specs = topicSpecs(names);
    const [a, b] = await Promise.all([ensureTopicsOn(mk(), specs, { partitions: 2 }), ensureTopicsOn(mk(), specs, { partitions: 2 })]);
    // What each says it created may overlap (both asked before either's request landed) but covers all.
    expect(new Set([...a, ...b])).toEqual(new Set(Object.values(names)));
    const admin = mk().admin();
    await admin.connect();
    try {
      for (const t of Object.values(names)) expect(await partitionCount(admin, t)).toBe(2);
    } finally {
      await admin.disconnect();
    }
  }, 90_000);

  it('does not retry what the broker refuses: an invalid partition count fails at once, with the reason', async () => {
    const kafka = createKafkaClient({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('topics-bad'), security: testKafkaSecurity() });
    const t = Date.now();
    await expect(ensureTopicsOn(kafka, topicSpecs({ readings: uniqueName('bad-partitions') }), { partitions: 0 })).rejects.toMatchObject({ code: 'KAFKA_REJECTED' });
    expect(Date.now() - t).toBeLessThan(1000 + 2000); // the two retry pauses (1 s, 2 s) were not taken
  }, 60_000);
});
