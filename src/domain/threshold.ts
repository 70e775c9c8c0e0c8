import { z } from "zod";

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

/** A threshold as clients send it: a whole percent 0–100. Used by the API and by every store. */
export const thresholdValueSchema = z
  .number({ error: "threshold must be a number" })
  .int("threshold must be a whole percent")
  .min(0, "threshold must be between 0 and 100")
  .max(100, "threshold must be between 0 and 100")
  .meta({ description: "Whole percent 0–100; a score strictly below it raises a deployment order" });

export function validateThreshold(v: unknown): { ok: true; value: number } | { ok: false; message: string } {
  const r = thresholdValueSchema.safeParse(v);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: r.error.issues[0]?.message ?? "threshold must be a number" };
}

export const EXERCISE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
