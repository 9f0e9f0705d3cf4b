// Issue 14 item 3, short: the cluster under a flood through two edges, the partition leader
// SIGKILLed and restarted. The long variant adds SIGSTOP and a restart (cluster-failover.long.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReliability } from './record.ts';
import { killLeader, runFailover, startCluster } from './cluster-failover.ts';

let cluster: { stop: () => Promise<void> };
beforeAll(async () => {
  cluster = await startCluster();
}, 600_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('broker failover (3-node cluster, RF 3, min.insync 2, short)', () => {
  it('SIGKILL of the partition leader: no acknowledged reading lost, no duplicate after de-duplication', async () => {
    const f = await runFailover({ label: 'failover-short', rate: 200, meters: 100, faults: [killLeader(10_000)] });
    recordReliability({
      id: 'cluster-failover-short',
      test: 'Broker failover',
      fault: f.faults.join('; '),
      load: '2 edge processes (SASL_SSL, RF 3, min.insync 2), 100 meters each, 200 readings/s QoS 1 in all',
      lost: f.lost,
      duplicates: f.duplicatesAfterDedup,
      recoverySeconds: f.drainSeconds,
      note: `${f.acked} PUBACKed; max delivery delay ${f.maxDelaySeconds.toFixed(1)} s; ${f.outOfOrder} out of order; ${f.resends} re-sends dropped by readingId; Kafka reader, not central's archive${f.reread ? `; ${f.reread}` : ''}`,
      suite: 'short',
    });
    expect(f.acked).toBeGreaterThan(2000);
    expect(f.lost).toBe(0);
    expect(f.duplicatesAfterDedup).toBe(0);
    expect(f.outOfOrder).toBe(0);
  });
});
