import { afterAll, describe, it } from 'vitest';
import { runLastGaspStorm } from './storm-lastgasp.ts';

// Issue 14 (5): 3000 last gasps of a whole substation, 30,000 readings queued just before them
// (GRIDWATCH_GASP_METERS_PER_TRANSFORMER / GRIDWATCH_GASP_BURST: other sizes). storm-lastgasp.ts.
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

describe('last-gasp storm: a substation loses power (edge + central in process, real Kafka)', () => {
  it('turns thousands of last gasps into one substation outage event within the hold', async () => {
    await runLastGaspStorm({
      metersPerTransformer: Number(process.env.GRIDWATCH_GASP_METERS_PER_TRANSFORMER ?? 100),
      burst: Number(process.env.GRIDWATCH_GASP_BURST ?? 10),
      id: 'storm-last-gasp',
      suite: 'long',
      cleanup,
    });
  });
});
