/**
 * Computes partial aggregates of a set of lake files (Spark's role) and stores them in the warehouse's
 * partial_* tables tagged with the run id. The analyzer then merges a run's partials into the cumulative
 * tables in one transaction, so each file is counted exactly once whichever engine ran.
 */
export interface PartialsRequest {
  runId: string;
  /** Lake paths of report files (reports/…). */
  files: string[];
  /** Lake paths of incident event files (incidents/…); none when omitted. */
  incidentFiles?: string[];
  /** Grid cell size in degrees. */
  cellSizeDeg: number;
  /** Trend period in seconds (src/domain/trend-period.ts): the trend partials count each report in the period of its timestamp. */
  trendPeriodSeconds: number;
}

/** What an engine counted of the incident files (see src/domain/response-times.ts). */
export interface IncidentCounts {
  /** Finished incidents: their terminal (resolved / cancelled) events. */
  incidents: number;
  /** Response times: one per step a finished incident reached. */
  responses: number;
}

export interface PartialsResult {
  /** Reports read. */
  rows: number;
  /** Present when incident files were requested. */
  incidents?: IncidentCounts;
}

export interface AnalyticsEngine {
  readonly engine: string;
  computePartials(req: PartialsRequest): Promise<PartialsResult>;
}
