// Issue 14 item 3, short (npm test): one edge under a flood, the partition leader SIGKILLed and
// started again while the flood goes on, once per edge producer client. The long variant adds a second edge, a SIGSTOP of a
// leader and a restart (cluster-failover.long.test.ts).
import { failoverSuite, killLeader } from './cluster-failover.ts';

failoverSuite({
  id: 'cluster-failover-short',
  title: 'SIGKILL of the partition leader',
  suite: 'short',
  run: { label: 'failover-short', rate: 200, meters: 100, edges: 1, faults: [killLeader(8_000, { restartInBackground: true })], tailMs: 8_000 },
  minAcked: 2000,
  timeoutMs: 300_000,
  clients: ['kafkajs', 'platformatic', 'platformatic-thread'],
});
