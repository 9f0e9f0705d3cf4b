// Issue 14 item 7, the long soak (`npm run test:reliability`): test/reliability/soak.ts at 10,000
// readings/s for 10 minutes (GRIDWATCH_SOAK_DURATION changes it; the hour is
// `gridwatch soak --duration 1h`, docs/reliability.md "Soak").
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

const DURATION = process.env.GRIDWATCH_SOAK_DURATION ?? '10m';

describe('gridwatch soak (long)', () => {
  it('keeps every process flat after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-long', test: 'Soak: the whole pipeline, long', duration: DURATION, warmup: '2m', sample: '5s', maxLag: 30_000, suite: 'long' });
  }, 3_600_000);
});
