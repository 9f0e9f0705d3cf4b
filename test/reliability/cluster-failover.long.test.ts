// Issue 14 item 3, long: the cluster under a flood through two edges; the partition leader
// SIGKILLed (restarted 20 s later), a leader SIGSTOPped for 30 s, a broker restarted. The short
// variant (SIGKILL of the leader only) is cluster-failover.int.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReliability } from './record.ts';
import { killLeader, pauseBroker, restartBroker, runFailover, startCluster } from './cluster-failover.ts';

let cluster: { stop: () => Promise<void> };
beforeAll(async () => {
  cluster = await startCluster();
}, 600_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('broker failover (3-node cluster, RF 3, min.insync 2, long)', () => {
  it('SIGKILL of the leader, SIGSTOP 30 s, a restart: no acknowledged reading lost, no duplicate after de-duplication', async () => {
    const f = await runFailover({ label: 'failover-long', rate: 200, meters: 100, faults: [killLeader(20_000), pauseBroker(30_000), restartBroker()] });
    recordReliability({
      id: 'cluster-failover-long',
      test: 'Broker failover',
      fault: f.faults.join('; '),
      load: '2 edge processes (SASL_SSL, RF 3, min.insync 2), 100 meters each, 200 readings/s QoS 1 in all',
      lost: f.lost,
      duplicates: f.duplicatesAfterDedup,
      recoverySeconds: f.drainSeconds,
      note: `${f.acked} PUBACKed; max delivery delay ${f.maxDelaySeconds.toFixed(1)} s; ${f.outOfOrder} out of order; ${f.resends} re-sends dropped by readingId; Kafka reader, not central's archive${f.reread ? `; ${f.reread}` : ''}`,
      suite: 'long',
    });
    expect(f.acked).toBeGreaterThan(5000);
    expect(f.lost).toBe(0);
    expect(f.duplicatesAfterDedup).toBe(0);
    expect(f.outOfOrder).toBe(0);
  });
});
