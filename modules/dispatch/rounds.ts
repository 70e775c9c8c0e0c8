import { Rerun } from "../../src/rerun.ts";

/** What tells a worker to run a round: the view (every change it sees) or the writer (this process's commits with events). */
export interface RoundCues {
  listen(f: () => void): () => void;
}

/**
 * When the dispatch's background workers (assigner, outbox relay) run a round, written once: at each of
 * its cues, at least every `intervalMs` (a safety net), and whenever `kick()` asks; never two at once
 * (src/rerun.ts).
 */
export class ViewRounds {
  private readonly runs: Rerun;
  private readonly timer: ReturnType<typeof setInterval>;
  private unlisten: () => void = () => {};

  constructor(
    private readonly cues: RoundCues,
    intervalMs: number,
    /** One round; resolves true to run again at once. It must not reject. */
    body: () => Promise<boolean>,
    /** After the rounds end with nothing asked meanwhile. */
    idle: () => void = () => {},
  ) {
    this.runs = new Rerun(body, idle);
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref?.();
  }

  start(): void {
    this.unlisten = this.cues.listen(() => this.kick());
    this.kick();
  }

  kick(): void {
    this.runs.kick();
  }

  get isStopped(): boolean {
    return this.runs.isStopped;
  }

  /** No round starts after this; resolves once the one under way has ended. */
  async stop(): Promise<void> {
    this.unlisten();
    clearInterval(this.timer);
    await this.runs.stop();
  }
}
