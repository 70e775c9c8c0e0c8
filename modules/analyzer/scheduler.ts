import { CronJob, sendAt } from "cron";
import type { Logger } from "../../src/log.ts";
import { SerialQueue } from "../serial-queue.ts";

/**
 * Runs jobs one at a time: on demand, and on a cron schedule when one is given. A tick while a job is
 * going (or queued) is skipped: that job will see the new files.
 */
export class Scheduler<T> {
  private readonly queue = new SerialQueue();
  private stopped = false;
  private readonly job: CronJob | null;

  /** `schedule`: cron with seconds ("0 * * * * *" = every minute); null = on demand only. Throws on a bad expression. */
  constructor(schedule: string | null, tick: () => Promise<T>, log: Logger) {
    this.job =
      schedule === null
        ? null
        : CronJob.from({
            cronTime: schedule,
            start: true,
            onTick: () => {
              if (this.queue.pending > 0 || this.stopped) return;
              this.enqueue(tick).catch((e: unknown) => log.warn(`analyzer: scheduled run failed: ${(e as Error).message}`));
            },
          });
  }

  enqueue(job: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error("analyzer: stopped"));
    return this.queue.run(job);
  }

  /** When the schedule fires next; null when on demand only or stopped. */
  nextRun(): Date | null {
    return this.job && !this.stopped ? this.job.nextDate().toJSDate() : null;
  }

  /** Stops the schedule and waits for the job in progress (and those queued). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.job?.stop();
    await this.queue.idle();
  }
}

/** When a cron schedule (with seconds) fires next after `now`; null for on demand only. Throws on a bad expression. */
export function nextTick(schedule: string | null): Date | null {
  return schedule === null ? null : sendAt(schedule).toJSDate();
}
