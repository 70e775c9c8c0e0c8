import type { Logger } from "../../src/log.ts";
import type { SqlRunner } from "../../src/ports/warehouse.ts";
import { deletePartials } from "./merge.ts";

export interface RunFailure {
  /** ISO time of the run's end. */
  finishedAt: string;
  files: number;
  rows: number;
  error: string;
}

/**
 * The analyzer_runs table: a row per run, 'running' until it succeeds (inside its merge) or fails. A
 * failure that cannot be written (the warehouse was unreachable, e.g. restarting) is kept and written
 * before the next run, so no run stays 'running' while this process lives.
 */
export class RunLog {
  private readonly unrecorded = new Map<string, RunFailure>();

  constructor(
    private readonly w: SqlRunner,
    private readonly log: Logger,
  ) {}

  /** Runs still marked running were cut short (a crash or a kill): closed so their partials are cleaned up. */
  async closeInterrupted(): Promise<void> {
    const interrupted = await this.w.query<{ run_id: string }>(
      `UPDATE analyzer_runs SET outcome = 'failed', finished_at = now(), error = 'interrupted: the analyzer stopped before the run finished'
       WHERE outcome = 'running' RETURNING run_id`,
    );
    if (interrupted.length > 0) this.log.warn(`analyzer: marked ${interrupted.length} interrupted run(s) as failed`);
  }

  async begin(runId: string, engine: string, startedAt: Date): Promise<void> {
    await this.w.query(`INSERT INTO analyzer_runs (run_id, engine, started_at, outcome) VALUES ($1, $2, $3::timestamptz, 'running')`, [
      runId,
      engine,
      startedAt.toISOString(),
    ]);
  }

  /** A run with nothing to merge. */
  async succeeded(runId: string, finishedAt: string): Promise<void> {
    await this.w.query(`UPDATE analyzer_runs SET outcome = 'succeeded', finished_at = $2::timestamptz WHERE run_id = $1`, [runId, finishedAt]);
  }

  /** Deletes the run's partials and records its failure (`begun`: its row exists); kept for later if the warehouse does not answer. */
  async failed(runId: string, begun: boolean, f: RunFailure): Promise<void> {
    try {
      await deletePartials(this.w, runId);
      if (begun)
        await this.w.query(`UPDATE analyzer_runs SET outcome = 'failed', finished_at = $2::timestamptz, files = $3, rows = $4, error = $5 WHERE run_id = $1`, [
          runId,
          f.finishedAt,
          f.files,
          f.rows,
          f.error,
        ]);
    } catch (e) {
      // Kept, and written before the next run (the run row and its partials may be in the warehouse).
      this.unrecorded.set(runId, f);
      this.log.warn(`analyzer: could not record the failure of run ${runId} yet: ${(e as Error).message}`);
    }
  }

  /** Writes the failures kept since the warehouse last failed to answer. */
  async recordFailures(): Promise<void> {
    for (const [runId, f] of this.unrecorded) {
      await deletePartials(this.w, runId);
      await this.w.query(
        `UPDATE analyzer_runs SET outcome = 'failed', finished_at = $2::timestamptz, files = $3, rows = $4, error = $5 WHERE run_id = $1 AND outcome = 'running'`,
        [runId, f.finishedAt, f.files, f.rows, f.error],
      );
      this.unrecorded.delete(runId);
      this.log.warn(`analyzer: recorded the failure of run ${runId} now that the warehouse answers`);
    }
  }
}
