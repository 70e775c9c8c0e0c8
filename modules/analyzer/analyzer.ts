import type { AnalyticsEngine } from "../../src/ports/analytics-engine.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { SqlRunner, Warehouse } from "../../src/ports/warehouse.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { CUMULATIVE_TABLES, PARTIAL_TABLES } from "./merge.ts";
import { RunLog } from "./run-log.ts";
import { backlog, CountedFiles, runOnce, type RunContext, type RunKind, type RunSummary } from "./run.ts";
import { Scheduler } from "./scheduler.ts";
import type { ThresholdSnapshot } from "../../src/domain/threshold.ts";
import { DEFAULT_TREND_PERIOD_SECONDS, isTrendPeriod, TREND_PERIOD_RULE } from "../../src/domain/trend-period.ts";

export { CELL_SIZE_SETTING, TREND_PERIOD_SETTING, TRENDS_INCOMPLETE_SETTING } from "./merge.ts";
export type { RunSummary } from "./run.ts";

/**
 * The analyzer role: every tick, the report and incident files of the lake not yet counted are aggregated by an
 * analytics engine into the warehouse's partial_* tables, then merged into the cumulative tables in one
 * transaction that also records the files as counted. A file is therefore counted exactly once: a run
 * that fails at any point merges nothing, and the next run retries its files. Raw lake data is never
 * deleted or rewritten.
 */

export interface Analyzer {
  /** Runs now; a run already going (or queued) finishes first. Never rejects for a failed run: see outcome. */
  runNow(): Promise<RunSummary>;
  /** Recounts the whole lake with the configured cell size and replaces the cumulative tables atomically. */
  rebuild(): Promise<RunSummary>;
  /** When the schedule starts the next run; null when on demand only. */
  nextRunAt(): Date | null;
  /** Stops the schedule and waits for the run in progress. */
  stop(): Promise<void>;
}

export interface AnalyzerDeps {
  lake: Lake;
  warehouse: Warehouse;
  engine: AnalyticsEngine;
  /** Grid cell size in degrees for the hotspot histogram. */
  cellSizeDeg: number;
  /** Trend period in seconds (src/domain/trend-period.ts); default DEFAULT_TREND_PERIOD_SECONDS. */
  trendPeriodSeconds?: number;
  /** The thresholds now: each run records the ones that changed since the last (the trend charts' markers). None: not recorded. */
  thresholds?: () => Promise<ThresholdSnapshot>;
  /** Cron expression with seconds ("0 * * * * *" = every minute); null = on demand only. */
  schedule: string | null;
  log?: Logger;
  /** How often the backlog (acu_consumer_lag{group="acu-analyzer"}) is measured; default 15 000 ms. */
  backlogEveryMs?: number;
}

/** acu_consumer_lag's group label of the analyzer: records in lake files not counted yet. */
export const ANALYZER_LAG_GROUP = "acu-analyzer";

export async function startAnalyzer(deps: AnalyzerDeps): Promise<Analyzer> {
  const { lake, warehouse, engine, cellSizeDeg, schedule } = deps;
  const log = deps.log ?? silentLogger;
  if (!(typeof cellSizeDeg === "number" && Number.isFinite(cellSizeDeg) && cellSizeDeg > 0))
    throw new Error(`analyzer: the cell size must be a positive number of degrees, got ${cellSizeDeg}`);
  const trendPeriodSeconds = deps.trendPeriodSeconds ?? DEFAULT_TREND_PERIOD_SECONDS;
  if (!isTrendPeriod(trendPeriodSeconds)) throw new Error(`analyzer: the trend period ${TREND_PERIOD_RULE}, got ${trendPeriodSeconds}`);

  const runs = new RunLog(warehouse, log);
  await runs.closeInterrupted();
  const counted = new CountedFiles(BACKLOG_REFRESH_MS);
  const context: RunContext = { lake, warehouse, engine, cellSizeDeg, trendPeriodSeconds, runs, thresholds: deps.thresholds, counted };
  const vacuum = new Vacuum(warehouse, log);

  const execute = async (what: RunKind): Promise<RunSummary> => {
    const s = await runOnce(context, what);
    metrics.analyzerRunSeconds.observe({ outcome: s.outcome }, s.durationMs / 1000);
    if (s.outcome === "succeeded")
      log.info(
        `analyzer: ${what} ${s.runId} succeeded (${engine.engine}): ${s.files} file(s), ${s.rows} report(s), ${s.incidents} finished incident(s) in ${s.durationMs} ms`,
      );
    else log.warn(`analyzer: ${what} ${s.runId} failed (${engine.engine}) after ${s.durationMs} ms: ${s.error}`);
    if (s.outcome === "succeeded" && s.files > 0) await vacuum.afterMerge(s.rows);
    return s;
  };

  const scheduler = new Scheduler<RunSummary>(schedule, () => execute("run"), log);
  if (schedule !== null) log.info(`analyzer: scheduled "${schedule}", engine ${engine.engine}, cell ${cellSizeDeg}°`);

  const stopLag = trackLag(ANALYZER_LAG_GROUP, () => backlog(lake, warehouse, counted), deps.backlogEveryMs ?? 15_000);

  return {
    runNow: () => scheduler.enqueue(() => execute("run")),
    rebuild: () => scheduler.enqueue(() => execute("rebuild")),
    nextRunAt: () => scheduler.nextRun(),
    stop: () => {
      stopLag();
      return scheduler.stop();
    },
  };
}

/** The backlog gauge asks the warehouse at most this often when no run did (run.ts, CountedFiles). */
const BACKLOG_REFRESH_MS = 5 * 60_000;

/** VACUUM ANALYZE the cumulative tables after this many merging runs (PGlite has no autovacuum worker). */
const VACUUM_EVERY_RUNS = 60;
const VACUUM_AFTER_ROWS = 250_000;

/** Dead rows of merged updates and deleted partials: PGlite has no autovacuum, a server does it anyway. */
class Vacuum {
  private merges = 0;
  private rows = 0;

  constructor(
    private readonly w: SqlRunner,
    private readonly log: Logger,
  ) {}

  async afterMerge(rows: number): Promise<void> {
    this.merges++;
    this.rows += rows;
    try {
      await this.w.query(`VACUUM ${PARTIAL_TABLES.join(", ")}`);
      if (this.merges >= VACUUM_EVERY_RUNS || this.rows >= VACUUM_AFTER_ROWS) {
        await this.w.query(`VACUUM ANALYZE ${CUMULATIVE_TABLES.join(", ")}, lake_files_counted`);
        this.merges = 0;
        this.rows = 0;
      }
    } catch (e) {
      this.log.warn(`analyzer: vacuum skipped: ${(e as Error).message}`);
    }
  }
}
