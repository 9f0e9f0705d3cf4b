// Issue 14 item 7, the CI length: test/reliability/soak.ts at 10,000 readings/s for 120 s (the
// issue's "2-minute version in CI"), memory judged from the later of a 45 s warm-up (from when the
// edges first take 90 % of the rate) and central's recent-readings store being full (32 readings
// for 99 % of the meters); after the flood the pipeline drains (outboxes empty, central's lag 0,
// at most 3 minutes) before anything is judged lost. The soak's edges send 100 readings per
// grid.readings record (every consumer there is gridwatch's own). In the reliability project, not
// `npm test`: at 10,000/s this 2-core machine is at its limit (docs/reliability.md "Soak": lost 0
// and the edges keeping up, but central's lag and the heaps' breathing in a short judged window
// are not yet reliably within their bounds), and a test known to fail now and then would hold up
// every `npm test`.
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

describe('gridwatch soak (CI length)', () => {
  it('keeps every process flat after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-ci', test: 'Soak: the whole pipeline, CI length', duration: '120s', warmup: '45s', sample: '2s', maxLag: 30_000, suite: 'short' });
  }, 600_000);
});
