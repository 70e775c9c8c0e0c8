import { CronJob } from "cron";
import type { AnalyticsEngine } from "../../src/ports/analytics-engine.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { SqlRunner, Warehouse } from "../../src/ports/warehouse.ts";
import { LAKE_DIRS, parseLakePath } from "../../src/domain/lake-layout.ts";
import { metrics, trackLag } from "../../src/metrics.ts";
import { silentLogger, type Logger } from "../../src/log.ts";

/**
 * The analyzer role: every tick, the report files of the lake not yet counted are aggregated by an
 * analytics engine into the warehouse's partial_* tables, then merged into the cumulative tables in one
 * transaction that also records the files as counted. A file is therefore counted exactly once: a run
 * that fails at any point merges nothing, and the next run retries its files. Raw lake data is never
 * deleted or rewritten.
 */

export interface RunSummary {
  runId: string;
  engine: string;
  files: number;
  rows: number;
  durationMs: number;
  outcome: "succeeded" | "failed";
  error?: string;
}

export interface Analyzer {
  /** Runs now; a run already going (or queued) finishes first. Never rejects for a failed run: see outcome. */
  runNow(): Promise<RunSummary>;
  /** Recounts the whole lake with the configured cell size and replaces the cumulative tables atomically. */
  rebuild(): Promise<RunSummary>;
  /** Stops the schedule and waits for the run in progress. */
  stop(): Promise<void>;
}

export interface AnalyzerDeps {
  lake: Lake;
  warehouse: Warehouse;
  engine: AnalyticsEngine;
  /** Grid cell size in degrees for the hotspot histogram. */
  cellSizeDeg: number;
  /** Cron expression with seconds ("0 * * * * *" = every minute); null = on demand only. */
  schedule: string | null;
  log?: Logger;
  /** How often the backlog (acu_consumer_lag{group="acu-analyzer"}) is measured; default 15 000 ms. */
  backlogEveryMs?: number;
}

/** acu_consumer_lag's group label of the analyzer: reports in lake files not counted yet. */
export const ANALYZER_LAG_GROUP = "acu-analyzer";

/** analyzer_settings key of the cell size the cumulative tables were built with. */
export const CELL_SIZE_SETTING = "cell_size_deg";
/** Serialises merges and rebuilds across processes sharing one PostgreSQL. */
const ANALYZER_LOCK = 7_263_002;
/** VACUUM ANALYZE the cumulative tables after this many merging runs (PGlite has no autovacuum worker). */
const VACUUM_EVERY_RUNS = 60;
const VACUUM_AFTER_ROWS = 250_000;

const PARTIAL_TABLES = ["partial_exercise_totals", "partial_cell_histogram", "partial_region_histogram"] as const;
const CUMULATIVE_TABLES = ["exercise_totals", "cell_histogram", "region_histogram"] as const;

export async function startAnalyzer(deps: AnalyzerDeps): Promise<Analyzer> {
  const { lake, warehouse: w, engine, cellSizeDeg, schedule } = deps;
  const log = deps.log ?? silentLogger;
  if (!(typeof cellSizeDeg === "number" && Number.isFinite(cellSizeDeg) && cellSizeDeg > 0))
    throw new Error(`analyzer: the cell size must be a positive number of degrees, got ${cellSizeDeg}`);

  // Runs still marked running were cut short (a crash or a kill): close them so their partials are cleaned up.
  const interrupted = await w.query<{ run_id: string }>(
    `UPDATE analyzer_runs SET outcome = 'failed', finished_at = now(), error = 'interrupted: the analyzer stopped before the run finished'
     WHERE outcome = 'running' RETURNING run_id`,
  );
  if (interrupted.length > 0) log.warn(`analyzer: marked ${interrupted.length} interrupted run(s) as failed`);

  /**
   * Failed runs whose failure could not be written (the warehouse was unreachable, e.g. restarting):
   * written before the next run, so no run stays 'running' while this process lives.
   */
  const unrecorded = new Map<string, { finishedAt: string; files: number; rows: number; error: string }>();
  const recordFailures = async (): Promise<void> => {
    for (const [runId, f] of unrecorded) {
      await deletePartials(w, runId);
      await w.query(
        `UPDATE analyzer_runs SET outcome = 'failed', finished_at = $2::timestamptz, files = $3, rows = $4, error = $5 WHERE run_id = $1 AND outcome = 'running'`,
        [runId, f.finishedAt, f.files, f.rows, f.error],
      );
      unrecorded.delete(runId);
      log.warn(`analyzer: recorded the failure of run ${runId} now that the warehouse answers`);
    }
  };

  let queue: Promise<unknown> = Promise.resolve();
  let queued = 0;
  let stopped = false;
  let mergesSinceVacuum = 0;
  let rowsSinceVacuum = 0;

  const enqueue = (what: "run" | "rebuild"): Promise<RunSummary> => {
    if (stopped) return Promise.reject(new Error("analyzer: stopped"));
    queued++;
    const p = queue.then(() => execute(what)).finally(() => queued--);
    queue = p.catch(() => {});
    return p;
  };

  const execute = async (what: "run" | "rebuild"): Promise<RunSummary> => {
    const s = await runOnce(what);
    metrics.analyzerRunSeconds.observe({ outcome: s.outcome }, s.durationMs / 1000);
    if (s.outcome === "succeeded")
      log.info(`analyzer: ${what} ${s.runId} succeeded (${engine.engine}): ${s.files} file(s), ${s.rows} report(s) in ${s.durationMs} ms`);
    else log.warn(`analyzer: ${what} ${s.runId} failed (${engine.engine}) after ${s.durationMs} ms: ${s.error}`);
    if (s.outcome === "succeeded" && s.files > 0) await maintain(s.rows);
    return s;
  };

  /** One run; `rebuild` recounts every file and replaces the cumulative tables in the merge transaction. */
  const runOnce = async (what: "run" | "rebuild"): Promise<RunSummary> => {
    const runId = newRunId();
    const t0 = performance.now();
    const startedAt = new Date();
    let files: string[] = [];
    let rows = 0;
    let recorded = false;
    const summary = (outcome: RunSummary["outcome"], error?: string): RunSummary => ({
      runId,
      engine: engine.engine,
      files: files.length,
      rows,
      durationMs: Math.round(performance.now() - t0),
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
    try {
      await recordFailures();
      await cleanupLeftovers(w);
      await w.query(`INSERT INTO analyzer_runs (run_id, engine, started_at, outcome) VALUES ($1, $2, $3::timestamptz, 'running')`, [
        runId,
        engine.engine,
        startedAt.toISOString(),
      ]);
      recorded = true;
      if (what === "run") await checkCellSize(w, cellSizeDeg, false);

      const listed = await reportFiles(lake);
      files = what === "rebuild" ? listed : await uncounted(w, listed);

      const finishedAt = () => new Date(startedAt.getTime() + Math.round(performance.now() - t0)).toISOString();
      if (files.length > 0 || what === "rebuild") {
        if (files.length > 0) rows = (await engine.computePartials({ runId, files, cellSizeDeg })).rows;
        await w.transaction((tx) => merge(tx, { runId, files, rows, cellSizeDeg, rebuild: what === "rebuild", finishedAt }));
      } else {
        await w.query(`UPDATE analyzer_runs SET outcome = 'succeeded', finished_at = $2::timestamptz WHERE run_id = $1`, [runId, finishedAt()]);
      }
      return summary("succeeded");
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      const finishedAt = new Date(startedAt.getTime() + Math.round(performance.now() - t0)).toISOString();
      try {
        await deletePartials(w, runId);
        if (recorded) {
          await w.query(
            `UPDATE analyzer_runs SET outcome = 'failed', finished_at = $2::timestamptz, files = $3, rows = $4, error = $5 WHERE run_id = $1`,
            [runId, finishedAt, files.length, rows, error],
          );
        }
      } catch (e2) {
        // Kept, and written before the next run (the run row and its partials may be in the warehouse).
        unrecorded.set(runId, { finishedAt, files: files.length, rows, error });
        log.warn(`analyzer: could not record the failure of run ${runId} yet: ${(e2 as Error).message}`);
      }
      return summary("failed", error);
    }
  };

  /** Dead rows of merged updates and deleted partials: PGlite has no autovacuum, a server does it anyway. */
  const maintain = async (rows: number): Promise<void> => {
    mergesSinceVacuum++;
    rowsSinceVacuum += rows;
    try {
      await w.query(`VACUUM ${PARTIAL_TABLES.join(", ")}`);
      if (mergesSinceVacuum >= VACUUM_EVERY_RUNS || rowsSinceVacuum >= VACUUM_AFTER_ROWS) {
        await w.query(`VACUUM ANALYZE ${CUMULATIVE_TABLES.join(", ")}, lake_files_counted`);
        mergesSinceVacuum = 0;
        rowsSinceVacuum = 0;
      }
    } catch (e) {
      log.warn(`analyzer: vacuum skipped: ${(e as Error).message}`);
    }
  };

  let job: CronJob | null = null;
  if (schedule !== null) {
    job = CronJob.from({
      cronTime: schedule,
      start: true,
      onTick: () => {
        // A tick while a run is going (or queued) is skipped: that run will see the new files.
        if (queued > 0 || stopped) return;
        enqueue("run").catch((e: unknown) => log.warn(`analyzer: scheduled run failed: ${(e as Error).message}`));
      },
    });
    log.info(`analyzer: scheduled "${schedule}", engine ${engine.engine}, cell ${cellSizeDeg}°`);
  }

  const stopLag = trackLag(ANALYZER_LAG_GROUP, () => backlog(lake, w), deps.backlogEveryMs ?? 15_000);

  return {
    runNow: () => enqueue("run"),
    rebuild: () => enqueue("rebuild"),
    stop: async () => {
      stopped = true;
      stopLag();
      job?.stop();
      await queue;
    },
  };
}

/** Paths of the lake's report files. */
async function reportFiles(lake: Lake): Promise<string[]> {
  return (await lake.list(`${LAKE_DIRS.reports}/`)).map((f) => f.path).filter((p) => p.endsWith(".parquet"));
}

/** Those of `listed` no run has counted yet, sorted. */
async function uncounted(w: SqlRunner, listed: string[]): Promise<string[]> {
  const rows = await w.query<{ path: string }>(
    `SELECT u.path FROM unnest($1::text[]) AS u(path)
     WHERE NOT EXISTS (SELECT 1 FROM lake_files_counted c WHERE c.path = u.path)`,
    [listed],
  );
  return rows.map((r) => r.path).sort(byCodeUnits);
}

/** Reports in lake files not counted yet, by the offsets their names carry (a file: one contiguous run of offsets). */
async function backlog(lake: Lake, w: SqlRunner): Promise<number> {
  let n = 0;
  for (const path of await uncounted(w, await reportFiles(lake))) {
    const f = parseLakePath(path);
    if (f) n += f.lastOffset - f.firstOffset + 1;
  }
  return n;
}

interface MergeRequest {
  runId: string;
  files: string[];
  rows: number;
  cellSizeDeg: number;
  rebuild: boolean;
  /** ISO time recorded as the run's end. */
  finishedAt: () => string;
}

/** The run's one transaction: all of it (cumulative tables, counted files, partials gone, run succeeded) or none of it. */
async function merge(tx: SqlRunner, m: MergeRequest): Promise<void> {
  const { runId, files } = m;
  await tx.query(`SELECT pg_advisory_xact_lock(${ANALYZER_LOCK})`);
  await tx.query(`SET LOCAL work_mem = '64MB'`);

  const run = await tx.query<{ outcome: string }>(`SELECT outcome FROM analyzer_runs WHERE run_id = $1`, [runId]);
  if (run[0]?.outcome !== "running") throw new Error(`run ${runId} is no longer running (${run[0]?.outcome ?? "missing"}); nothing merged`);

  if (m.rebuild) {
    await tx.query(`TRUNCATE ${CUMULATIVE_TABLES.join(", ")}, lake_files_counted`);
    await tx.query(
      `INSERT INTO analyzer_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [CELL_SIZE_SETTING, String(m.cellSizeDeg)],
    );
  } else {
    await checkCellSize(tx, m.cellSizeDeg, true);
    // ON CONFLICT DO NOTHING would silently count a file twice if two runs raced: check, and the
    // primary key of lake_files_counted makes the insert below fail if one slipped in anyway.
    const already = await tx.query<{ path: string }>(`SELECT path FROM lake_files_counted WHERE path = ANY($1::text[]) ORDER BY path LIMIT 5`, [files]);
    if (already.length > 0)
      throw new Error(`file(s) already counted by another run, nothing merged: ${already.map((r) => r.path).join(", ")}`);
  }

  // The partials must hold exactly the rows the engine read (guards against a partial write).
  const sums = await tx.query<{ t: string; reports: number }>(
    `SELECT 'exercise' AS t, COALESCE(sum(reports), 0)::float8 AS reports FROM partial_exercise_totals WHERE run_id = $1
     UNION ALL SELECT 'cell', COALESCE(sum(reports), 0)::float8 FROM partial_cell_histogram WHERE run_id = $1
     UNION ALL SELECT 'region', COALESCE(sum(reports), 0)::float8 FROM partial_region_histogram WHERE run_id = $1`,
    [runId],
  );
  for (const s of sums)
    if (s.reports !== m.rows) throw new Error(`partials of run ${runId} are incomplete: ${s.t} partials hold ${s.reports} reports, the engine read ${m.rows}`);

  // Add the partials: update the keys that exist, insert the others. Merges are serialised by the
  // advisory lock, so no other writer adds a key in between (and the primary keys would catch it).
  await tx.query(
    `UPDATE exercise_totals AS t SET reports = t.reports + p.reports, score_sum = t.score_sum + p.score_sum
     FROM (SELECT exercise_id, sum(reports) AS reports, sum(score_sum) AS score_sum
           FROM partial_exercise_totals WHERE run_id = $1 GROUP BY exercise_id) AS p
     WHERE t.exercise_id = p.exercise_id`,
    [runId],
  );
  await tx.query(
    `INSERT INTO exercise_totals (exercise_id, reports, score_sum)
     SELECT p.exercise_id, sum(p.reports), sum(p.score_sum) FROM partial_exercise_totals AS p
     WHERE p.run_id = $1 AND NOT EXISTS (SELECT 1 FROM exercise_totals AS t WHERE t.exercise_id = p.exercise_id)
     GROUP BY p.exercise_id`,
    [runId],
  );
  await tx.query(
    `UPDATE cell_histogram AS t SET reports = t.reports + p.reports
     FROM (SELECT exercise_id, cell_y, cell_x, bucket, sum(reports) AS reports
           FROM partial_cell_histogram WHERE run_id = $1 GROUP BY exercise_id, cell_y, cell_x, bucket) AS p
     WHERE t.exercise_id = p.exercise_id AND t.cell_y = p.cell_y AND t.cell_x = p.cell_x AND t.bucket = p.bucket`,
    [runId],
  );
  await tx.query(
    `INSERT INTO cell_histogram (exercise_id, cell_y, cell_x, bucket, reports)
     SELECT p.exercise_id, p.cell_y, p.cell_x, p.bucket, sum(p.reports) FROM partial_cell_histogram AS p
     WHERE p.run_id = $1 AND NOT EXISTS (
       SELECT 1 FROM cell_histogram AS t
       WHERE t.exercise_id = p.exercise_id AND t.cell_y = p.cell_y AND t.cell_x = p.cell_x AND t.bucket = p.bucket)
     GROUP BY p.exercise_id, p.cell_y, p.cell_x, p.bucket`,
    [runId],
  );
  await tx.query(
    `UPDATE region_histogram AS t SET reports = t.reports + p.reports, score_sum = t.score_sum + p.score_sum
     FROM (SELECT exercise_id, region, bucket, sum(reports) AS reports, sum(score_sum) AS score_sum
           FROM partial_region_histogram WHERE run_id = $1 GROUP BY exercise_id, region, bucket) AS p
     WHERE t.exercise_id = p.exercise_id AND t.region = p.region AND t.bucket = p.bucket`,
    [runId],
  );
  await tx.query(
    `INSERT INTO region_histogram (exercise_id, region, bucket, reports, score_sum)
     SELECT p.exercise_id, p.region, p.bucket, sum(p.reports), sum(p.score_sum) FROM partial_region_histogram AS p
     WHERE p.run_id = $1 AND NOT EXISTS (
       SELECT 1 FROM region_histogram AS t WHERE t.exercise_id = p.exercise_id AND t.region = p.region AND t.bucket = p.bucket)
     GROUP BY p.exercise_id, p.region, p.bucket`,
    [runId],
  );

  if (files.length > 0)
    await tx.query(`INSERT INTO lake_files_counted (path, run_id, counted_at) SELECT u.path, $2, now() FROM unnest($1::text[]) AS u(path)`, [files, runId]);
  await deletePartials(tx, runId);
  await tx.query(`UPDATE analyzer_runs SET outcome = 'succeeded', finished_at = $2::timestamptz, files = $3, rows = $4 WHERE run_id = $1`, [
    runId,
    m.finishedAt(),
    files.length,
    m.rows,
  ]);
}

/**
 * Refuses to add to tables built with another cell size. The first merge records the size (`record`,
 * inside the merge transaction); before that any size is accepted.
 */
async function checkCellSize(r: SqlRunner, cellSizeDeg: number, record: boolean): Promise<void> {
  if (record)
    await r.query(`INSERT INTO analyzer_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [CELL_SIZE_SETTING, String(cellSizeDeg)]);
  const rows = await r.query<{ value: string }>(`SELECT value FROM analyzer_settings WHERE key = $1`, [CELL_SIZE_SETTING]);
  if (rows.length === 0) return;
  const stored = Number(rows[0]!.value);
  if (stored !== cellSizeDeg)
    throw new Error(
      `cell size changed: the warehouse was built with ${rows[0]?.value}° cells but the analyzer is configured with ${cellSizeDeg}°; ` +
        `run a rebuild to recount the lake with the new size (or configure ${rows[0]?.value} again)`,
    );
}

/** Partials of runs that are not running (failed, interrupted, or unknown ids) are leftovers. */
async function cleanupLeftovers(w: SqlRunner): Promise<void> {
  for (const t of PARTIAL_TABLES)
    await w.query(
      `DELETE FROM ${t} AS p WHERE NOT EXISTS (SELECT 1 FROM analyzer_runs AS r WHERE r.run_id = p.run_id AND r.outcome = 'running')`,
    );
}

async function deletePartials(r: SqlRunner, runId: string): Promise<void> {
  for (const t of PARTIAL_TABLES) await r.query(`DELETE FROM ${t} WHERE run_id = $1`, [runId]);
}

function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `run-${t}-${crypto.randomUUID().slice(0, 8)}`;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
