// Issue 14 item 1, long: the same link faults as link-faults.int.test.ts at their real length:
// the link cut for 10 minutes (reset and timeout variants), a half-open link for 10 minutes, 800 ms
// latency and 64 kbit/s for 3 minutes each, under the same paced QoS 1 flood.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReliability } from './record.ts';
import { startProxiedKafka, type ProxiedKafka } from './link-rig.ts';
import { describeFigures, describeSplits, linkFaults, runLinkFault } from './link-scenario.ts';

let k: ProxiedKafka;
beforeAll(async () => {
  k = await startProxiedKafka();
}, 600_000);
afterAll(async () => {
  await k?.stop();
});

const MIN = 60_000;
const cases = [
  { id: 'link-latency-800ms-long', test: 'Link faults: 800 ms latency with jitter', key: 'latency', rate: 200, faultMs: 3 * MIN },
  { id: 'link-bandwidth-64k-long', test: 'Link faults: 64 kbit/s', key: 'bandwidth64k', rate: 400, faultMs: 3 * MIN },
  { id: 'link-cut-reset-10min', test: 'Link faults: cut, reset', key: 'cutReset', rate: 200, faultMs: 10 * MIN },
  { id: 'link-cut-timeout-10min', test: 'Link faults: cut, timeout', key: 'cutTimeout', rate: 200, faultMs: 10 * MIN },
  { id: 'link-half-open-10min', test: 'Link faults: half-open (black hole)', key: 'halfOpen', rate: 200, faultMs: 10 * MIN },
] as const;

describe('link faults between edge and Kafka (toxiproxy, long)', () => {
  for (const c of cases) {
    it(`${c.test}, ${c.faultMs / MIN} min: nothing PUBACKed lost, order per meter, no duplicates`, async () => {
      const fault = linkFaults(k)[c.key];
      const f = await runLinkFault(k, { label: c.id, rate: c.rate, meters: 100, faultMs: c.faultMs, fault, drainTimeoutMs: 10 * MIN });
      recordReliability({
        id: c.id,
        test: c.test,
        fault: `${fault.fault}, ${c.faultMs / MIN} min, SASL_SSL`,
        load: `100 meters, ${c.rate} readings/s QoS 1 over 4 MQTT connections, a last gasp every 2 s, heartbeat every 2 s`,
        lost: f.lost,
        duplicates: f.duplicatesAfterDedup,
        recoverySeconds: f.drainSeconds,
        note: `${describeFigures(f)}; ${describeSplits(f)}`,
        suite: 'long',
      });
      expect(f.lost).toBe(0);
      expect(f.probesLost).toBe(0);
      expect(f.outOfOrder).toBe(0);
      expect(f.duplicatesAfterDedup).toBe(0);
      if (c.key === 'bandwidth64k') {
        expect(f.anomalyMaxSeconds).toBeLessThan(15);
        expect(f.heartbeatMaxSeconds).toBeLessThan(15);
      }
    });
  }
});
