// Issue 14 item 7 in `npm test`: test/reliability/soak.ts at 5,000 readings/s (5,000 meters, one
// reading a second each) for 75 s, judged from the later of a 30 s warm-up (from when the edges
// first take 90 % of the rate) and central's recent-readings store being full; then the pipeline
// drains (the edges' outboxes empty, central's lag 0, at most 2 minutes) before anything is
// judged lost. About three minutes on an idle 2-core machine. Half of `gridwatch soak`'s
// 10,000/s: that is the rate the idle 2-core machine carries through all of gridwatch's processes
// and the servers with its lag bounded (docs/reliability.md "Soak"); soak-ci.long.test.ts keeps
// the 10,000/s CI length in the reliability project.
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

describe('gridwatch soak (npm test length, 5,000 readings/s)', () => {
  it('keeps every process flat after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-5k', test: 'Soak: the whole pipeline at 5,000 readings/s, npm test length', duration: '75s', warmup: '30s', sample: '2s', maxLag: 15_000, meters: 5000, drainTimeout: '2m', suite: 'short' });
  }, 420_000);
});
