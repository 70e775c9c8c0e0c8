/**
 * "Run it now, or once more right after the run under way", written once: a kick while a run is going
 * never starts a second one beside it and is never lost — the run repeats once it ends. Users: the dispatch
 * assigner (a change, a deadline or a tick asks for a new plan) and the outbox relay (a committed change
 * asks for a publish).
 */
export class Rerun {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    /** One run; resolves true to be run again at once (more work is waiting). It must not reject. */
    private readonly body: () => Promise<boolean>,
    /** Called after the runs end with nothing asked meanwhile (e.g. to arm a timer for the next deadline). */
    private readonly idle: () => void = () => {},
  ) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No run starts after this; resolves once the run under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        if (await this.body()) this.again = true;
      } while (this.again && !this.stopped);
    } finally {
      this.running = null;
    }
    if (!this.stopped) this.idle();
  }
}
