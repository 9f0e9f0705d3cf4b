// Issue 14 item 7, the CI length (`npm test`): test/reliability/soak.ts at 10,000 readings/s for
// 90 s, judged after a 45 s warm-up (central's recent-readings rings, 32 per meter, are full by then
// and the heaps have grown to their working size); with start-up and drain about two minutes.
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

describe('gridwatch soak (CI length)', () => {
  it('keeps every process flat after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-ci', test: 'Soak: the whole pipeline, CI length', duration: '90s', warmup: '45s', sample: '2s', maxLag: 30_000, suite: 'short' });
  }, 600_000);
});
