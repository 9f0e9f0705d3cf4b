// Issue 14 item 3, long: the cluster under a flood through two edges; the partition leader
// SIGKILLed (restarted 20 s later), a leader SIGSTOPped for 30 s, a broker restarted. The short
// variant (SIGKILL of the leader only, in npm test) is cluster-failover.int.test.ts.
import { failoverSuite, killLeader, pauseBroker, restartBroker } from './cluster-failover.ts';

failoverSuite({
  id: 'cluster-failover-long',
  title: 'SIGKILL of the leader, SIGSTOP 30 s, a restart',
  suite: 'long',
  run: { label: 'failover-long', rate: 200, meters: 100, faults: [killLeader(20_000), pauseBroker(30_000), restartBroker()], central: true },
  minAcked: 5000,
  timeoutMs: 3_600_000,
});
