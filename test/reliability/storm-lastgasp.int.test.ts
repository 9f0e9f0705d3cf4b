import { afterAll, describe, it } from 'vitest';
import { runLastGaspStorm } from './storm-lastgasp.ts';

// Issue 14 (5), the short storm in `npm test`: 900 last gasps of a whole substation with 36,000
// readings queued just before them. The gasps overtaking that queue is seen in the order rows leave
// the outbox (storm-lastgasp.ts), not in when the lanes empty: on a fast machine both lanes are
// empty within one 50 ms sample of the last gasp (CI of 2026-12-01 failed on that timing). The
// long one: storm-lastgasp.long.test.ts, 3000 meters.
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

describe('last-gasp storm, short: a substation of 900 meters loses power (edge + central in process, real Kafka)', () => {
  it('turns 900 last gasps into one substation outage event within the hold', async () => {
    await runLastGaspStorm({ metersPerTransformer: 30, burst: 40, id: 'storm-last-gasp-short', suite: 'short', cleanup });
  });
});
