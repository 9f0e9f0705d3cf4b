import cron, { type ScheduledTask } from 'node-cron';
import { GridwatchError, type Logger } from '../../shared/index.ts';
import type { Part } from '../../shared/lifecycle.ts';

export interface Job {
  name: string;
  /** node-cron expression (seconds field allowed). */
  schedule: string;
  run: () => void | Promise<void>;
}

/**
 * Periodic chores on node-cron: the heartbeat, WAL checkpoints, outbox disk-budget enforcement, dead-letter
 * and gap retention. A job never overlaps itself, and a failure is logged with its job name and
 * retried at the next tick (none of them is urgent on its own). The schedules are checked when it
 * is built (before anything opens), the jobs run from start() to stop().
 */
export class Housekeeping implements Part {
  readonly name = 'housekeeping';
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    private readonly jobs: Job[],
    private readonly logger: Logger,
  ) {
    for (const j of jobs) {
      if (!cron.validate(j.schedule)) throw new GridwatchError('CONFIG_INVALID', `housekeeping job ${j.name}: invalid cron expression "${j.schedule}"`);
    }
  }

  async start(): Promise<void> {
    for (const j of this.jobs) {
      this.tasks.push(
        cron.schedule(
          j.schedule,
          async () => {
            try {
              await j.run();
            } catch (err) {
              this.logger.error({ job: j.name, err: (err as Error).message }, 'housekeeping job failed; retried at its next run');
            }
          },
          { name: `gridwatch-edge-${j.name}`, noOverlap: true },
        ),
      );
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks.splice(0)) await t.destroy();
  }
}
