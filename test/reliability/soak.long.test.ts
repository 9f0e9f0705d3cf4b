// Issue 14 item 7, the long soak (`npm run test:reliability`): test/reliability/soak.ts at 10,000
// readings/s for the hour, `gridwatch soak --duration 1h` (GRIDWATCH_SOAK_DURATION changes
// it). Judged after a 2-minute warm-up in windows of a fifth of the rest (11 minutes): long enough
// for RSS flatness within 5 % to be decided through the heaps' breathing (cli/soak-report.ts).
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

const DURATION = process.env.GRIDWATCH_SOAK_DURATION ?? '1h';

describe('gridwatch soak (long)', () => {
  it('keeps every process flat (RSS and handles) and under budget after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-long', test: 'Soak: the whole pipeline, long', duration: DURATION, warmup: '2m', sample: '5s', suite: 'long' });
  }, 5_400_000);
});
