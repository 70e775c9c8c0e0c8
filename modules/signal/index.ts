export { EXERCISES, type Exercise } from "./exercises.ts";
export { createReportGenerator, mulberry32, REGION_SCORE_BIAS, type GeneratedReport, type ReportGenerator, type ReportGeneratorOptions } from "./generator.ts";
export { retryAfterMs, runSignal, type SignalLog, type SignalOptions, type SignalResult } from "./signal.ts";
export { inShape, originalExercise, type SignalFormat } from "./shapes.ts";
