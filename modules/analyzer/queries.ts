import type { SqlRunner } from "../../src/ports/warehouse.ts";
import { thresholdFor, type ThresholdSnapshot } from "../../src/domain/threshold.ts";
import { CELL_SIZE_SETTING } from "./analyzer.ts";
import { RESPONSE_PERCENTILES, RESPONSE_STEPS, type ResponseStep } from "../../src/domain/response-times.ts";

/**
 * Read side of the warehouse for the HTTP API. Failures are decided at query time from the score
 * histograms and the thresholds of the snapshot (a report fails when bucket = floor(score) < threshold,
 * exact for whole-percent thresholds), so a threshold change shows at once, without a new analyzer run.
 */

export interface ExerciseStat {
  exerciseId: string;
  reports: number;
  averageScore: number;
  failures: number;
  threshold: number;
}

export interface ExerciseStats {
  exercises: ExerciseStat[];
  /** finished_at (ISO) of the last succeeded analyzer run; null before the first. */
  asOf: string | null;
  /** The last exerciseId of this page when more follow (pass it as the next page's cursor); null on the last page. */
  nextCursor: string | null;
}

/** A page of a listing in a stable order: at most `limit` items after `cursor` (exclusive; null: from the start). */
export interface PageRequest {
  limit: number;
  cursor: string | null;
}

export interface Hotspot {
  /** Centre of the grid cell. */
  latitude: number;
  longitude: number;
  failures: number;
  reports: number;
}

export interface Hotspots {
  exerciseId: string;
  threshold: number;
  /** The cell size the warehouse was built with (the configured one before the first run). */
  cellSizeDeg: number;
  cells: Hotspot[];
}

export interface RegionStat {
  region: string;
  reports: number;
  averageScore: number;
  failures: number;
}

export interface RegionStats {
  exerciseId: string | null;
  regions: RegionStat[];
}

export interface AnalyzerRun {
  runId: string;
  engine: string;
  startedAt: string;
  finishedAt: string | null;
  files: number;
  rows: number;
  durationMs: number | null;
  outcome: "running" | "succeeded" | "failed";
  error: string | null;
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', ${ISO})`;

/** The snapshot's per-exercise thresholds as two arrays for unnest($1::text[], $2::float8[]). */
function thresholdArrays(snap: ThresholdSnapshot): [string[], number[]] {
  const ids = Object.keys(snap.thresholds);
  return [ids, ids.map((id) => snap.thresholds[id]!)];
}

const THRESHOLDS_CTE = `th AS (SELECT u.exercise_id, u.threshold FROM unnest($1::text[], $2::float8[]) AS u(exercise_id, threshold))`;

/**
 * The tables a read takes its counts from: the cumulative ones, or (`fromPeriod`: a window's first period,
 * windows.ts) the trend tables from that period on, summed to the same columns. `$n` is the parameter
 * that carries fromPeriod; only present in the SQL when it is used.
 */
function sources(fromPeriod: number | null, n: number) {
  if (fromPeriod === null) return { totals: "exercise_totals", regions: "region_histogram", cells: "cell_histogram", params: [] as number[] };
  const since = `period_start >= $${n}::bigint`;
  return {
    totals: `(SELECT exercise_id, sum(reports) AS reports, sum(score_sum) AS score_sum FROM trend_histogram WHERE ${since} GROUP BY exercise_id)`,
    regions: `(SELECT exercise_id, region, bucket, reports, score_sum FROM trend_histogram WHERE ${since})`,
    cells: `(SELECT exercise_id, cell_y, cell_x, bucket, reports FROM cell_trend_histogram WHERE ${since})`,
    params: [fromPeriod],
  };
}

/**
 * Per exercise, in exerciseId order (code units: the column is COLLATE "C", as byCodeUnits); a page of
 * them when `page` is given (the API always gives one), else all of them (in-process callers).
 */
export async function exerciseStats(w: SqlRunner, snap: ThresholdSnapshot, page?: PageRequest, fromPeriod: number | null = null): Promise<ExerciseStats> {
  const src = sources(fromPeriod, 6);
  const asOf = await w.query<{ as_of: string | null }>(`SELECT ${iso("max(finished_at)")} AS as_of FROM analyzer_runs WHERE outcome = 'succeeded'`);
  const [ids, values] = thresholdArrays(snap);
  // One row more than the page: whether another page follows.
  const take = page ? Math.max(1, Math.floor(page.limit)) + 1 : null;
  const rows = await w.query<{ exercise_id: string; reports: number; score_sum: number; failures: number }>(
    `WITH ${THRESHOLDS_CTE},
     page AS (
       SELECT exercise_id, reports, score_sum FROM ${src.totals} AS t
       WHERE $4::text IS NULL OR exercise_id > $4::text
       ORDER BY exercise_id LIMIT $5::bigint),
     f AS (
       SELECT h.exercise_id, sum(h.reports) AS failures
       FROM ${src.regions} AS h JOIN page AS p ON p.exercise_id = h.exercise_id LEFT JOIN th ON th.exercise_id = h.exercise_id
       WHERE h.bucket < COALESCE(th.threshold, $3::float8)
       GROUP BY h.exercise_id)
     SELECT e.exercise_id, e.reports::float8 AS reports, e.score_sum::float8 AS score_sum, COALESCE(f.failures, 0)::float8 AS failures
     FROM page AS e LEFT JOIN f ON f.exercise_id = e.exercise_id
     ORDER BY e.exercise_id`,
    [ids, values, snap.defaultThreshold, page?.cursor ?? null, take, ...src.params],
  );
  const more = take !== null && rows.length === take;
  const exercises = (more ? rows.slice(0, -1) : rows).map((r) => ({
    exerciseId: r.exercise_id,
    reports: r.reports,
    averageScore: r.reports > 0 ? r.score_sum / r.reports : 0,
    failures: r.failures,
    threshold: thresholdFor(snap, r.exercise_id),
  }));
  return { exercises, asOf: asOf[0]?.as_of ?? null, nextCursor: more ? exercises[exercises.length - 1]!.exerciseId : null };
}

/** Cells with the most failures of an exercise (ties: more reports, then south to north, west to east). */
export async function hotspots(
  w: SqlRunner,
  snap: ThresholdSnapshot,
  exerciseId: string,
  limit: number,
  cellSizeDeg: number,
  fromPeriod: number | null = null,
): Promise<Hotspots> {
  const src = sources(fromPeriod, 4);
  const threshold = thresholdFor(snap, exerciseId);
  const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
  // The tables hold cells of the size they were built with; a configured size not yet rebuilt would misplace the centres.
  const stored = await w.query<{ value: string }>(`SELECT value FROM analyzer_settings WHERE key = $1`, [CELL_SIZE_SETTING]);
  const storedSize = Number(stored[0]?.value);
  const cell = stored.length > 0 && Number.isFinite(storedSize) && storedSize > 0 ? storedSize : cellSizeDeg;
  const rows =
    n === 0
      ? []
      : await w.query<{ cell_y: number; cell_x: number; failures: number; reports: number }>(
          `SELECT cell_y, cell_x, failures, reports FROM (
             SELECT cell_y, cell_x,
                    COALESCE(sum(reports) FILTER (WHERE bucket < $2::float8), 0)::float8 AS failures,
                    sum(reports)::float8 AS reports
             FROM ${src.cells} AS h WHERE exercise_id = $1
             GROUP BY cell_y, cell_x) AS c
           WHERE failures > 0
           ORDER BY failures DESC, reports DESC, cell_y, cell_x
           LIMIT $3`,
          [exerciseId, threshold, n, ...src.params],
        );
  return {
    exerciseId,
    threshold,
    cellSizeDeg: cell,
    cells: rows.map((r) => ({ latitude: (r.cell_y + 0.5) * cell, longitude: (r.cell_x + 0.5) * cell, failures: r.failures, reports: r.reports })),
  };
}

/** Per region, for one exercise or (exerciseId omitted) all of them, each judged by its own threshold. Most failures first. */
export async function regionStats(w: SqlRunner, snap: ThresholdSnapshot, exerciseId?: string, fromPeriod: number | null = null): Promise<RegionStats> {
  const src = sources(fromPeriod, 5);
  const [ids, values] = thresholdArrays(snap);
  const rows = await w.query<{ region: string; reports: number; score_sum: number; failures: number }>(
    `WITH ${THRESHOLDS_CTE}
     SELECT h.region,
            sum(h.reports)::float8 AS reports,
            sum(h.score_sum)::float8 AS score_sum,
            COALESCE(sum(h.reports) FILTER (WHERE h.bucket < COALESCE(th.threshold, $3::float8)), 0)::float8 AS failures
     FROM ${src.regions} AS h LEFT JOIN th ON th.exercise_id = h.exercise_id
     WHERE $4::text IS NULL OR h.exercise_id = $4::text
     GROUP BY h.region`,
    [ids, values, snap.defaultThreshold, exerciseId ?? null, ...src.params],
  );
  const regions = rows
    .map((r) => ({ region: r.region, reports: r.reports, averageScore: r.reports > 0 ? r.score_sum / r.reports : 0, failures: r.failures }))
    .sort((a, b) => b.failures - a.failures || b.reports - a.reports || byCodeUnits(a.region, b.region));
  return { exerciseId: exerciseId ?? null, regions };
}

/** The latest analyzer runs, newest first. */
export async function recentRuns(w: SqlRunner, limit: number): Promise<AnalyzerRun[]> {
  const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
  return n === 0 ? [] : ((await runsPage(w, { limit: n, cursor: null }))?.runs ?? []);
}

/**
 * A page of analyzer runs, newest first (by start, then runId: a stable order), after the run `cursor`
 * names; null when no run has that id.
 */
export async function runsPage(w: SqlRunner, page: PageRequest): Promise<{ runs: AnalyzerRun[]; nextCursor: string | null } | null> {
  if (page.cursor !== null && (await w.query(`SELECT 1 FROM analyzer_runs WHERE run_id = $1`, [page.cursor])).length === 0) return null;
  const take = Math.max(1, Math.floor(page.limit)) + 1;
  const rows = await w.query<{
    run_id: string;
    engine: string;
    started_at: string;
    finished_at: string | null;
    files: number;
    rows: number;
    duration_ms: number | null;
    outcome: AnalyzerRun["outcome"];
    error: string | null;
  }>(
    `SELECT run_id, engine, ${iso("started_at")} AS started_at, ${iso("finished_at")} AS finished_at,
            files::int AS files, rows::float8 AS rows,
            round(extract(epoch FROM (finished_at - started_at)) * 1000)::float8 AS duration_ms,
            outcome, error
     FROM analyzer_runs
     WHERE $2::text IS NULL OR (started_at, run_id) < (SELECT started_at, run_id FROM analyzer_runs WHERE run_id = $2::text)
     ORDER BY started_at DESC, run_id DESC LIMIT $1`,
    [take, page.cursor],
  );
  const more = rows.length === take;
  const runs = (more ? rows.slice(0, -1) : rows).map((r) => ({
    runId: r.run_id,
    engine: r.engine,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    files: r.files,
    rows: r.rows,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    error: r.error,
  }));
  return { runs, nextCursor: more ? runs[runs.length - 1]!.runId : null };
}

/** One step of a region's response times, in whole seconds from the incident's opening. */
export interface ResponseStepStat {
  /** Finished incidents that reached the step. */
  count: number;
  /** Nearest-rank percentiles (src/domain/response-times.ts); null when count is 0. */
  p50: number | null;
  p90: number | null;
}

export interface RegionResponseTimes {
  region: string;
  /** Finished incidents by outcome. */
  resolved: number;
  cancelled: number;
  acknowledge: ResponseStepStat;
  onSite: ResponseStepStat;
  resolve: ResponseStepStat;
}

export interface ResponseTimes {
  /** Every region with a finished incident, by name. */
  regions: RegionResponseTimes[];
  /** finished_at (ISO) of the last succeeded analyzer run; null before the first. */
  asOf: string | null;
}

/**
 * Response times per region: to acknowledge, to on site and to resolved, of the finished incidents
 * (counted from their terminal events). Percentiles are read exactly from the histograms by the
 * nearest-rank rule: the value at rank ⌈p·n/100⌉, i.e. the smallest seconds whose cumulative count
 * reaches (p·n + 99) div 100 in integers — `nearestRank` in src/domain/response-times.ts.
 */
export async function responseTimes(w: SqlRunner): Promise<ResponseTimes> {
  const [p50, p90] = RESPONSE_PERCENTILES;
  const asOf = await w.query<{ as_of: string | null }>(`SELECT ${iso("max(finished_at)")} AS as_of FROM analyzer_runs WHERE outcome = 'succeeded'`);
  const totals = await w.query<{ region: string; resolved: number; cancelled: number }>(
    `SELECT region,
            COALESCE(sum(incidents) FILTER (WHERE outcome = 'resolved'), 0)::float8 AS resolved,
            COALESCE(sum(incidents) FILTER (WHERE outcome = 'cancelled'), 0)::float8 AS cancelled
     FROM incident_totals GROUP BY region`,
  );
  const steps = await w.query<{ region: string; step: ResponseStep; n: number; p50: number; p90: number }>(
    `WITH c AS (
       SELECT region, step, seconds,
              (sum(incidents) OVER (PARTITION BY region, step ORDER BY seconds))::bigint AS cum,
              (sum(incidents) OVER (PARTITION BY region, step))::bigint AS n
       FROM response_histogram)
     SELECT region, step, max(n)::float8 AS n,
            min(seconds) FILTER (WHERE cum >= ($1::bigint * n + 99) / 100)::float8 AS p50,
            min(seconds) FILTER (WHERE cum >= ($2::bigint * n + 99) / 100)::float8 AS p90
     FROM c GROUP BY region, step`,
    [p50, p90],
  );
  const none = (): ResponseStepStat => ({ count: 0, p50: null, p90: null });
  const byRegion = new Map<string, RegionResponseTimes>();
  for (const t of totals)
    byRegion.set(t.region, { region: t.region, resolved: t.resolved, cancelled: t.cancelled, acknowledge: none(), onSite: none(), resolve: none() });
  for (const s of steps) {
    const r = byRegion.get(s.region);
    if (r && RESPONSE_STEPS.includes(s.step)) r[s.step] = { count: s.n, p50: s.p50, p90: s.p90 };
  }
  return { regions: [...byRegion.values()].sort((a, b) => byCodeUnits(a.region, b.region)), asOf: asOf[0]?.as_of ?? null };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
