import type { ReportFormat } from "../../src/domain/report.ts";
import { EXERCISES } from "./exercises.ts";
import type { GeneratedReport } from "./generator.ts";

/** The shapes `acu signal --kafka` writes: acu's laptop shape, or the original system's. */
export type SignalFormat = Exclude<ReportFormat, "auto">;

/** The original system's exercise number of an `acu signal` exercise: its place in EXERCISES, from 1. */
export function originalExercise(exerciseId: string): number {
  const i = EXERCISES.findIndex((e) => e.id === exerciseId);
  if (i < 0) throw new Error(`exercise ${JSON.stringify(exerciseId)} is not one of acu signal's`);
  return i + 1;
}

/**
 * A generated report as its producer would write it: acu's shape as it is, or the original system's record
 * (login, integer exercise, integer score, timestamp in epoch seconds).
 */
export function inShape(r: GeneratedReport, format: SignalFormat): Record<string, unknown> {
  if (format === "acu") return { ...r };
  return {
    login: r.studentId,
    latitude: r.latitude,
    longitude: r.longitude,
    exercise: originalExercise(r.exerciseId),
    score: Math.round(r.score),
    timestamp: Math.floor(r.timestamp / 1000),
  };
}
