import cron, { type ScheduledTask } from 'node-cron';
import { GridwatchError, type Logger } from '../../shared/index.ts';

export interface Job {
  name: string;
  /** node-cron expression (seconds field allowed). */
  schedule: string;
  run: () => void | Promise<void>;
}

/**
 * Periodic chores on node-cron: WAL checkpoints, outbox disk-budget enforcement,
 * dead-letter and gap retention, the heartbeat. A job never overlaps itself, and a failure is
 * logged with its job name and retried at the next tick (none of them is urgent on its own).
 */
export class Housekeeping {
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    jobs: Job[],
    private readonly logger: Logger,
  ) {
    for (const j of jobs) {
      if (!cron.validate(j.schedule)) throw new GridwatchError('CONFIG_INVALID', `housekeeping job ${j.name}: invalid cron expression "${j.schedule}"`);
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
    for (const t of this.tasks) await t.destroy();
  }
}
