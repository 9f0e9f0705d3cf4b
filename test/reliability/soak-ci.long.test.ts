// Issue 14 item 7, the CI length: test/reliability/soak.ts at 10,000 readings/s for 90 s, memory
// judged from the later of a 45 s warm-up (from when the edges first take 90 % of the rate) and
// central's recent-readings store being full (32 readings for 99 % of the meters); with start-up and
// drain about two minutes on an idle machine. Meant for `npm test` (renamed soak.int.test.ts) once
// it passes: in the reliability project until then, because it has not yet been seen flat
// (docs/reliability.md "Soak": on the shared 2-core machine of its runs, at load 9-25 from other
// work, the pipeline got under a core, the edges forwarded a few per cent of what they took and
// grew with the backlog), and a test known to fail would hold up every `npm test`.
import { describe, it } from 'vitest';
import { soakCase } from './soak.ts';

describe('gridwatch soak (CI length)', () => {
  it('keeps every process flat after the warm-up, the lag bounded, and loses nothing', async () => {
    await soakCase({ id: 'soak-ci', test: 'Soak: the whole pipeline, CI length', duration: '90s', warmup: '45s', sample: '2s', maxLag: 30_000, suite: 'short' });
  }, 600_000);
});
