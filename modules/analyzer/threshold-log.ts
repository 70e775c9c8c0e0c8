import { thresholdFor, type ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { SqlRunner } from "../../src/ports/warehouse.ts";

/** threshold_changes' exercise_id of the default threshold. */
export const DEFAULT_THRESHOLD_KEY = "";

/**
 * Records, at `at`, each threshold that differs from the last one recorded: the default, and the
 * threshold in effect for every exercise the warehouse, the snapshot or an earlier record knows (an exercise whose own
 * threshold was removed is recorded at the default it falls back to). One statement: a concurrent run
 * can only add the same value at another time, which the next comparison absorbs.
 */
export async function recordThresholdChanges(w: SqlRunner, snap: ThresholdSnapshot, at: Date): Promise<number> {
  // Recorded before too: an exercise whose own threshold was removed before any report of it still changed.
  const known = await w.query<{ exercise_id: string }>(
    `SELECT exercise_id FROM exercise_totals UNION SELECT exercise_id FROM threshold_changes WHERE exercise_id <> $1`,
    [DEFAULT_THRESHOLD_KEY],
  );
  const ids = new Set([...known.map((r) => r.exercise_id), ...Object.keys(snap.thresholds)]);
  const keys = [DEFAULT_THRESHOLD_KEY, ...ids];
  const values = [snap.defaultThreshold, ...[...ids].map((id) => thresholdFor(snap, id))];
  const rows = await w.query<{ n: number }>(
    `WITH now_seen AS (SELECT u.exercise_id, u.threshold FROM unnest($1::text[], $2::smallint[]) AS u(exercise_id, threshold)),
     last AS (SELECT DISTINCT ON (exercise_id) exercise_id, threshold FROM threshold_changes ORDER BY exercise_id, observed_at DESC),
     added AS (
       INSERT INTO threshold_changes (exercise_id, threshold, observed_at)
       SELECT n.exercise_id, n.threshold, $3::timestamptz FROM now_seen AS n LEFT JOIN last AS l ON l.exercise_id = n.exercise_id
       WHERE l.threshold IS DISTINCT FROM n.threshold
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM added`,
    [keys, values, at.toISOString()],
  );
  return rows[0]?.n ?? 0;
}
