/**
 * Jobs run one after the other, in the order they were queued; a job's failure is its caller's and
 * never stops the jobs after it. The sink's flushes and assignments and the analyzer's runs go through one.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /** Jobs queued or running. */
  get pending(): number {
    return this.queued;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.tail.then(job).finally(() => this.queued--);
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Resolves once every job queued so far has ended. */
  idle(): Promise<void> {
    return this.tail;
  }
}
