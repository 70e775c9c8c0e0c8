/** Thresholds are whole percents: failure counts in the warehouse are kept per whole-percent bucket, so an integer threshold decides them exactly. */
export interface ThresholdSnapshot {
  defaultThreshold: number;
  thresholds: Readonly<Record<string, number>>;
  /** Grows with every change; compares views of the store. */
  revision: number;
}

export function thresholdFor(s: ThresholdSnapshot, exerciseId: string): number {
  // Own keys only: an exercise named "toString" or "constructor" must not find Object.prototype's.
  return Object.hasOwn(s.thresholds, exerciseId) ? s.thresholds[exerciseId]! : s.defaultThreshold;
}

/** The business rule: a patrol is deployed when the score is strictly below the exercise's threshold. */
export function isFailure(score: number, threshold: number): boolean {
  return score < threshold;
}

export function validateThreshold(v: unknown): { ok: true; value: number } | { ok: false; message: string } {
  if (typeof v !== "number" || !Number.isFinite(v)) return { ok: false, message: "threshold must be a number" };
  if (!Number.isInteger(v)) return { ok: false, message: "threshold must be a whole percent" };
  if (v < 0 || v > 100) return { ok: false, message: "threshold must be between 0 and 100" };
  return { ok: true, value: v };
}

export const EXERCISE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
