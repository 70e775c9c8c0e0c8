/**
 * The analytics answers as flat tables, one row per item, for CSV (the API) and Parquet or CSV files
 * (`acu export`). An answer's scalars that describe every row (exerciseId, threshold, cell size, asOf)
 * are repeated as columns, so a table read alone says what it is; paging (nextCursor) is not data.
 */
import type { Column, DataTable } from "../../src/formats/csv.ts";
import { RESPONSE_STEPS } from "../../src/domain/response-times.ts";
import type { AnalyzerRun, ExerciseStats, Hotspots, RegionStats } from "./queries.ts";
import type { TrendBucket, TrendPoint, Trends } from "./trends.ts";
import type { WindowCover } from "./windows.ts";

/** A windowed answer's cover as the last two columns of each row (acu export reads everything: all). */
const WINDOW_COLUMNS: Column[] = [
  { name: "window", kind: "string" },
  { name: "windowFrom", kind: "string" },
];
const windowCells = (w: WindowCover | undefined) => [w?.window ?? "all", w?.from ?? null];

const str = (name: string): Column => ({ name, kind: "string" });
const num = (name: string): Column => ({ name, kind: "number" });

export function exercisesTable(s: ExerciseStats & { window?: WindowCover }): DataTable {
  return {
    columns: [str("exerciseId"), num("reports"), num("averageScore"), num("failures"), num("threshold"), str("asOf"), ...WINDOW_COLUMNS],
    rows: s.exercises.map((e) => [e.exerciseId, e.reports, e.averageScore, e.failures, e.threshold, s.asOf, ...windowCells(s.window)]),
  };
}

/** Several exercises' hotspots (`acu export`) or one's (the API) in one table. */
export function hotspotsTable(all: ReadonlyArray<Hotspots & { window?: WindowCover }>): DataTable {
  return {
    columns: [str("exerciseId"), num("threshold"), num("cellSizeDeg"), num("latitude"), num("longitude"), num("failures"), num("reports"), ...WINDOW_COLUMNS],
    rows: all.flatMap((h) =>
      h.cells.map((c) => [h.exerciseId, h.threshold, h.cellSizeDeg, c.latitude, c.longitude, c.failures, c.reports, ...windowCells(h.window)]),
    ),
  };
}

export function regionsTable(s: RegionStats & { window?: WindowCover }): DataTable {
  return {
    columns: [str("exerciseId"), str("region"), num("reports"), num("averageScore"), num("failures"), ...WINDOW_COLUMNS],
    rows: s.regions.map((r) => [s.exerciseId, r.region, r.reports, r.averageScore, r.failures, ...windowCells(s.window)]),
  };
}

export function runsTable(runs: readonly AnalyzerRun[]): DataTable {
  return {
    columns: [str("runId"), str("engine"), str("startedAt"), str("finishedAt"), num("files"), num("rows"), num("durationMs"), str("outcome"), str("error")],
    rows: runs.map((r) => [r.runId, r.engine, r.startedAt, r.finishedAt, r.files, r.rows, r.durationMs, r.outcome, r.error]),
  };
}

interface StepStat {
  count: number;
  p50: number | null;
  p90: number | null;
}
type RegionTimes = { region: string; resolved: number; cancelled: number } & Record<(typeof RESPONSE_STEPS)[number], StepStat>;

/** One row per region: its finished incidents and, per step, count, p50 and p90 in seconds (empty: none reached it). */
export function responseTimesTable(rt: { regions: readonly RegionTimes[]; asOf: string | null }): DataTable {
  return {
    columns: [
      str("region"),
      num("resolved"),
      num("cancelled"),
      ...RESPONSE_STEPS.flatMap((s) => [num(`${s}Count`), num(`${s}P50`), num(`${s}P90`)]),
      str("asOf"),
    ],
    rows: rt.regions.map((r) => [r.region, r.resolved, r.cancelled, ...RESPONSE_STEPS.flatMap((s) => [r[s].count, r[s].p50, r[s].p90]), rt.asOf]),
  };
}

const TREND_COLUMNS = [
  str("exerciseId"),
  str("region"),
  str("bucket"),
  str("start"),
  num("reports"),
  num("averageScore"),
  num("failures"),
  num("successRate"),
  num("threshold"),
];
const trendCells = (exerciseId: string | null, region: string | null, bucket: TrendBucket, b: TrendPoint, threshold: number | null) => [
  exerciseId ?? "",
  region ?? "",
  bucket,
  b.start,
  b.reports,
  b.averageScore,
  b.failures,
  b.successRate,
  threshold,
];

/** One row per bucket; the exercise and region asked (empty: all) and the threshold now repeated on each. */
export function trendsTable(t: Trends): DataTable {
  return { columns: TREND_COLUMNS, rows: t.buckets.map((b) => trendCells(t.exerciseId, t.region, t.bucket, b, t.threshold)) };
}

/** `acu export --table trends`: the same columns, a row per exercise and bucket with reports (every region). */
export function trendRowsTable(bucket: TrendBucket, rows: ReadonlyArray<TrendPoint & { exerciseId: string; threshold: number }>): DataTable {
  return { columns: TREND_COLUMNS, rows: rows.map((r) => trendCells(r.exerciseId, null, bucket, r, r.threshold)) };
}
