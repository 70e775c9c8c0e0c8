import { thresholdFor, type ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { SqlRunner } from "../../src/ports/warehouse.ts";
import { DEFAULT_THRESHOLD_KEY } from "./threshold-log.ts";
import { trendPeriod } from "./windows.ts";

export const TREND_BUCKETS = { hour: 3600, day: 86_400 } as const;
export type TrendBucket = keyof typeof TREND_BUCKETS;
/** Buckets one answer holds at most: 1,000 hours is six weeks. */
export const MAX_TREND_BUCKETS = 1000;
/** The range when `from` is not given: the last day of hours, the last 30 days of days. */
const DEFAULT_SPAN_BUCKETS: Record<TrendBucket, number> = { hour: 24, day: 30 };

export interface TrendRequest {
  exerciseId: string | null;
  region: string | null;
  /** Epoch ms; null: DEFAULT_SPAN_BUCKETS before `to`. */
  fromMs: number | null;
  /** Epoch ms, exclusive; null: now (its bucket included). */
  toMs: number | null;
  bucket: TrendBucket;
  nowMs: number;
  /** The configured trend period, reported for a warehouse no run has pinned one in yet. */
  configuredPeriodSeconds?: number;
}

export interface TrendPoint {
  /** Start of the bucket, ISO 8601 (UTC: days are UTC days). */
  start: string;
  reports: number;
  /** null when the bucket holds no report. */
  averageScore: number | null;
  failures: number;
  /** (reports − failures) / reports; null when the bucket holds no report. */
  successRate: number | null;
}

export interface ThresholdChange {
  at: string;
  threshold: number;
}

export interface Trends {
  exerciseId: string | null;
  region: string | null;
  bucket: TrendBucket;
  /** The warehouse's trend period in seconds: a bucket is a whole number of them. */
  periodSeconds: number;
  from: string;
  to: string;
  /** The exercise's threshold now (null without exerciseId: each exercise is judged by its own). */
  threshold: number | null;
  /** The exercise's thresholds as analyzer runs saw them change within the range (oldest first); [] without exerciseId. */
  thresholdChanges: ThresholdChange[];
  /** Every bucket of the range, oldest first; a bucket with no report has reports 0. */
  buckets: TrendPoint[];
}

/** A range the API refuses (400), saying why. */
export class TrendRangeError extends Error {
  override readonly name = "TrendRangeError";
}

/** The buckets' start (epoch seconds) of the range, checked: from before to, at most MAX_TREND_BUCKETS. */
export function trendRange(r: Pick<TrendRequest, "fromMs" | "toMs" | "bucket" | "nowMs">): { from: number; to: number } {
  const size = TREND_BUCKETS[r.bucket];
  const endMs = r.toMs ?? r.nowMs + 1;
  const to = Math.ceil(endMs / 1000 / size) * size;
  const from = r.fromMs === null ? to - DEFAULT_SPAN_BUCKETS[r.bucket] * size : Math.floor(r.fromMs / 1000 / size) * size;
  if (from >= to) throw new TrendRangeError("from must be before to");
  if ((to - from) / size > MAX_TREND_BUCKETS)
    throw new TrendRangeError(`the range holds ${(to - from) / size} ${r.bucket} buckets, at most ${MAX_TREND_BUCKETS}: narrow from/to or use bucket=day`);
  return { from, to };
}

/**
 * Reports, average score and failures (under the current thresholds, as every analytics read) per hour or
 * day of the reports' own timestamps, for an exercise, a region, both or neither.
 */
export async function trends(w: SqlRunner, snap: ThresholdSnapshot, req: TrendRequest): Promise<Trends> {
  const periodSeconds = await trendPeriod(w, req.configuredPeriodSeconds);
  const size = TREND_BUCKETS[req.bucket];
  const { from, to } = trendRange(req);
  const rows = await bucketSums(w, snap, { size, from, to, exerciseId: req.exerciseId, region: req.region, perExercise: false });
  const byStart = new Map(rows.map((r) => [r.start, r]));
  const buckets: TrendPoint[] = [];
  for (let t = from; t < to; t += size) buckets.push(point(t, byStart.get(t)));
  return {
    exerciseId: req.exerciseId,
    region: req.region,
    bucket: req.bucket,
    periodSeconds,
    from: new Date(from * 1000).toISOString(),
    to: new Date(to * 1000).toISOString(),
    threshold: req.exerciseId === null ? null : thresholdFor(snap, req.exerciseId),
    thresholdChanges: req.exerciseId === null ? [] : await thresholdChanges(w, req.exerciseId, from, to),
    buckets,
  };
}

type BucketSum = {
  exercise_id: string | null;
  start: number;
  reports: number;
  score_sum: number;
  failures: number;
};

/**
 * Sums of the trend table per bucket of `size` seconds (per exercise too with `perExercise`), failures by
 * the snapshot's thresholds; only buckets with reports. from/to: epoch seconds, null: unbounded.
 */
async function bucketSums(
  w: SqlRunner,
  snap: ThresholdSnapshot,
  q: { size: number; from: number | null; to: number | null; exerciseId: string | null; region: string | null; perExercise: boolean },
): Promise<BucketSum[]> {
  const ids = Object.keys(snap.thresholds);
  const ex = q.perExercise ? "h.exercise_id" : "NULL::text";
  return w.query<BucketSum>(
    `WITH th AS (SELECT u.exercise_id, u.threshold FROM unnest($1::text[], $2::float8[]) AS u(exercise_id, threshold))
     SELECT ${ex} AS exercise_id, (floor(h.period_start / $4::float8) * $4::float8)::float8 AS start,
            sum(h.reports)::float8 AS reports, sum(h.score_sum)::float8 AS score_sum,
            COALESCE(sum(h.reports) FILTER (WHERE h.bucket < COALESCE(th.threshold, $3::float8)), 0)::float8 AS failures
     FROM trend_histogram AS h LEFT JOIN th ON th.exercise_id = h.exercise_id
     WHERE ($5::bigint IS NULL OR h.period_start >= $5::bigint) AND ($6::bigint IS NULL OR h.period_start < $6::bigint)
       AND ($7::text IS NULL OR h.exercise_id = $7::text) AND ($8::text IS NULL OR h.region = $8::text)
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [ids, ids.map((id) => snap.thresholds[id]!), snap.defaultThreshold, q.size, q.from, q.to, q.exerciseId, q.region],
  );
}

const point = (start: number, r: BucketSum | undefined): TrendPoint => {
  const reports = r?.reports ?? 0;
  const failures = r?.failures ?? 0;
  return {
    start: new Date(start * 1000).toISOString(),
    reports,
    averageScore: r && reports > 0 ? r.score_sum / reports : null,
    failures,
    successRate: reports > 0 ? (reports - failures) / reports : null,
  };
};

/** Every exercise's (or one's) buckets with reports, all time, oldest first per exercise: `acu export --table trends`. */
export async function trendRows(
  w: SqlRunner,
  snap: ThresholdSnapshot,
  q: { exerciseId: string | null; bucket: TrendBucket },
): Promise<Array<TrendPoint & { exerciseId: string; threshold: number }>> {
  await trendPeriod(w); // refuses while the trend tables are incomplete (the period itself is not needed: buckets are hours or days)
  const rows = await bucketSums(w, snap, { size: TREND_BUCKETS[q.bucket], from: null, to: null, exerciseId: q.exerciseId, region: null, perExercise: true });
  return rows.map((r) => ({ exerciseId: r.exercise_id!, threshold: thresholdFor(snap, r.exercise_id!), ...point(r.start, r) }));
}

/** Threshold rows read per answer at most (one per change of an exercise: far more than an exam day has). */
const MAX_THRESHOLD_ROWS = 10_000;

/**
 * The exercise's threshold changes within [from, to) (epoch seconds): each recorded value that differs
 * from the one before it (the first ever recorded is where the record starts, not a change). Its own rows
 * carry the threshold in effect for it; without any, the default's rows stand for it.
 */
async function thresholdChanges(w: SqlRunner, exerciseId: string, from: number, to: number): Promise<ThresholdChange[]> {
  const rows = await w.query<{ exercise_id: string; at: string; epoch: number; threshold: number }>(
    `SELECT exercise_id, to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
            extract(epoch FROM observed_at)::float8 AS epoch, threshold::int AS threshold
     FROM threshold_changes
     WHERE exercise_id = ANY($1::text[]) AND observed_at < to_timestamp($2)
     ORDER BY observed_at DESC LIMIT $3`,
    [[exerciseId, DEFAULT_THRESHOLD_KEY], to, MAX_THRESHOLD_ROWS],
  );
  const own = rows.filter((r) => r.exercise_id === exerciseId);
  const history = (own.length > 0 ? own : rows).reverse();
  const out: ThresholdChange[] = [];
  for (let i = 1; i < history.length; i++) {
    const r = history[i]!;
    if (r.threshold !== history[i - 1]!.threshold && r.epoch >= from) out.push({ at: r.at, threshold: r.threshold });
  }
  return out;
}
