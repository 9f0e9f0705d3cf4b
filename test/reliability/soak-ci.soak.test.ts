// Issue 14 item 7, the CI length, in `npm test` (the `soak` project, vitest.config.ts: it runs after
// the unit files and before the integration files, alone, so the rest of the suite does not share
// the two cores with it): test/reliability/soak.ts at 3,000 readings/s (3,000 meters; 10,000/s
// needs 1.6-1.9 of the 2 cores, docs/reliability.md "Soak") for 120 s (the issue's "2-minute
// version in CI"), judged from the later of a 45 s warm-up (from when the edges first take 90 % of
// the rate) and central's recent-readings store being full (32 readings for 99 % of the meters);
// after the flood the pipeline drains (outboxes empty, central's lag 0, at most 3 minutes) before
// anything is judged lost. The soak's edges send 100 readings per grid.readings record (every
// consumer there is gridwatch's own). A minute of judged time cannot tell an RSS leak from the
// heaps' breathing (cli/soak-report.ts), so this length judges handles (within 5 %), every
// process's peak RSS against its budget, central's lag and loss; the hour-long soak
// (soak.long.test.ts) decides RSS flatness within 5 %.
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

describe('gridwatch soak (CI length)', () => {
  it('keeps handles flat and RSS under budget after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-ci', test: 'Soak: the whole pipeline, CI length', duration: '120s', warmup: '45s', sample: '2s', meters: 3000, suite: 'short' });
  }, 600_000);
});
