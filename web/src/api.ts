/** The acu HTTP API as the dashboard uses it (docs/api.md). */

export interface ExerciseStat {
  exerciseId: string;
  reports: number;
  averageScore: number;
  failures: number;
  threshold: number;
}
export interface ExerciseStats {
  exercises: ExerciseStat[];
  asOf: string | null;
}
export interface Hotspot {
  latitude: number;
  longitude: number;
  failures: number;
  reports: number;
}
export interface Hotspots {
  exerciseId: string;
  threshold: number;
  cellSizeDeg?: number;
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
export interface Thresholds {
  default: number;
  thresholds: Record<string, number>;
  revision: number;
}
export interface DeploymentOrder {
  alertId: string;
  reportId: string;
  studentId: string;
  exerciseId: string;
  score: number;
  threshold: number;
  latitude: number;
  longitude: number;
  region: string;
  reportedAt: string;
  raisedAt: string;
}
export interface RecentAlerts {
  alerts: DeploymentOrder[];
  cursor: string;
}

export type StreamFrame =
  | { type: "alert"; alert: DeploymentOrder; cursor: string }
  | { type: "hello"; cursor: string }
  | { type: "gap"; message?: string };

/** An answer other than 2xx, with the API's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, opts: { token?: string | null; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the message below says so.
  }
  if (!res.ok) {
    const msg = (body as { error?: unknown } | null)?.error;
    throw new ApiError(res.status, typeof msg === "string" ? msg : `HTTP ${res.status}`);
  }
  return body as T;
}

const q = (params: Record<string, string | number | null | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") s.set(k, String(v));
  const str = s.toString();
  return str ? `?${str}` : "";
};

export const api = {
  exercises: () => call<ExerciseStats>("GET", "/api/analytics/exercises"),
  hotspots: (exerciseId: string, limit: number) => call<Hotspots>("GET", `/api/analytics/hotspots${q({ exerciseId, limit })}`),
  regions: (exerciseId: string | null) => call<RegionStats>("GET", `/api/analytics/regions${q({ exerciseId })}`),
  runs: (limit: number) => call<{ runs: AnalyzerRun[] }>("GET", `/api/analytics/runs${q({ limit })}`),
  runNow: (token: string) => call<AnalyzerRun>("POST", "/api/analytics/runs", { token }),
  thresholds: () => call<Thresholds>("GET", "/api/thresholds"),
  setThreshold: (token: string, exerciseId: string, threshold: unknown) =>
    call<Thresholds>("PUT", `/api/thresholds/${encodeURIComponent(exerciseId)}`, { token, body: { threshold } }),
  removeThreshold: (token: string, exerciseId: string) => call<Thresholds>("DELETE", `/api/thresholds/${encodeURIComponent(exerciseId)}`, { token }),
  setDefault: (token: string, value: unknown) => call<Thresholds>("PUT", "/api/thresholds", { token, body: { default: value } }),
  recentAlerts: (limit: number) => call<RecentAlerts>("GET", `/api/alerts${q({ limit })}`),
};
