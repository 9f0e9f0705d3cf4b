// Housekeeping on node-cron, with its real scheduler (every second: the finest schedule it has).
import { describe, expect, it } from 'vitest';
import { Housekeeping } from '../../../edge/ops/housekeeping.ts';
import type { Logger } from '../../../shared/index.ts';

function recordingLogger(): { logger: Logger; errors: { job: string; err: string }[] } {
  const errors: { job: string; err: string }[] = [];
  const logger = { error: (f: { job: string; err: string }) => void errors.push(f), warn: () => undefined, info: () => undefined } as unknown as Logger;
  return { logger, errors };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('housekeeping', () => {
  it('refuses an invalid schedule when it is built, naming the job, before anything runs', () => {
    const { logger } = recordingLogger();
    expect(() => new Housekeeping([{ name: 'retention', schedule: '*/61 * * *', run: () => undefined }], logger)).toThrow(/housekeeping job retention: invalid cron expression "\*\/61 \* \* \*"/);
  });

  it('runs its jobs from start to stop; a failing job is logged with its name and the others keep running', async () => {
    const { logger, errors } = recordingLogger();
    let beats = 0;
    const hk = new Housekeeping(
      [
        { name: 'heartbeat', schedule: '* * * * * *', run: () => void beats++ },
        {
          name: 'budget',
          schedule: '* * * * * *',
          run: () => {
            throw new Error('disk I/O error');
          },
        },
      ],
      logger,
    );
    await sleep(1200);
    expect(beats).toBe(0); // nothing before start
    await hk.start();
    await sleep(2300);
    await hk.stop();
    expect(beats).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => e.job === 'budget' && e.err === 'disk I/O error')).toBe(true);
    const after = beats;
    await sleep(1200);
    expect(beats).toBe(after); // nothing after stop
  }, 15_000);

  it('never runs a job over itself', async () => {
    const { logger } = recordingLogger();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const hk = new Housekeeping(
      [
        {
          name: 'wal-checkpoint',
          schedule: '* * * * * *',
          run: async () => {
            runs++;
            maxRunning = Math.max(maxRunning, ++running);
            await sleep(2500); // longer than the schedule's period
            running--;
          },
        },
      ],
      logger,
    );
    await hk.start();
    await sleep(3500);
    await hk.stop();
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(maxRunning).toBe(1);
  }, 15_000);
});
