/**
 * Computes partial aggregates of a set of lake files (Spark's role) and stores them in the warehouse's
 * partial_* tables tagged with the run id. The analyzer then merges a run's partials into the cumulative
 * tables in one transaction, so each file is counted exactly once whichever engine ran.
 */
export interface PartialsRequest {
  runId: string;
  /** Lake paths of report files (reports/…). */
  files: string[];
  /** Grid cell size in degrees. */
  cellSizeDeg: number;
}

export interface PartialsResult {
  /** Reports read. */
  rows: number;
}

export interface AnalyticsEngine {
  readonly engine: string;
  computePartials(req: PartialsRequest): Promise<PartialsResult>;
}
