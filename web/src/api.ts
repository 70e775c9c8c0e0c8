/** The acu HTTP API as the dashboard uses it (docs/api.md). */

// The server's own types, imported for their shape only (erased from the bundle): one definition each.
export type { AnalyzerRun, ExerciseStat, ExerciseStats, Hotspot, Hotspots, RegionStat, RegionStats } from "../../modules/analyzer/queries.ts";
export type { DeploymentOrder } from "../../src/domain/deployment-order.ts";
import type { DeploymentOrder } from "../../src/domain/deployment-order.ts";
import type { AnalyzerRun, ExerciseStats, Hotspots, RegionStats } from "../../modules/analyzer/queries.ts";
import type { AnalyzerSchedule } from "../../modules/http/routes/analytics.ts";
export type { AnalyzerSchedule };
import type { AnalyticsWindow, WindowCover } from "../../modules/analyzer/windows.ts";
import type { TrendBucket, Trends } from "../../modules/analyzer/trends.ts";
export type { AnalyticsWindow, TrendBucket, Trends, WindowCover };
/** The windows the exercises, regions and hotspots read (the API's `window=`), in the switch's order. */
export const WINDOWS: readonly AnalyticsWindow[] = ["1h", "24h", "all"];
/** A windowed answer: what it covers (`from` null for all). */
export type Windowed<T> = T & { window: WindowCover };
import { currentToken, tokenForReading } from "./token.ts";

export interface Thresholds {
  default: number;
  thresholds: Record<string, number>;
  revision: number;
}
export interface RecentAlerts {
  alerts: DeploymentOrder[];
  cursor: string;
}

export type StreamFrame = { type: "alert"; alert: DeploymentOrder; cursor: string } | { type: "hello"; cursor: string } | { type: "gap"; message?: string };

/** An answer other than 2xx, with the API's own message (and, on a 409 from a transition, the current state). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly state?: string,
  ) {
    super(message);
  }
}

/**
 * One API call with the page's token (or the one an operator action passes). A read refused with 401 asks
 * for a token once and is retried with it; operator actions handle refusals themselves (token.ts withToken).
 */
export async function call<T>(method: string, path: string, opts: { token?: string | null; body?: unknown } = {}): Promise<T> {
  try {
    return await send<T>(method, path, opts.token ?? currentToken(), opts.body);
  } catch (e) {
    if (opts.token !== undefined || !(e instanceof ApiError) || e.status !== 401 || !(await tokenForReading())) throw e;
    return send<T>(method, path, currentToken(), opts.body);
  }
}

async function send<T>(method: string, path: string, token: string | null, body: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  const text = await res.text();
  let answer: unknown = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the message below says so.
  }
  if (!res.ok) {
    const { error: msg, state } = (answer ?? {}) as { error?: unknown; state?: unknown };
    throw new ApiError(res.status, typeof msg === "string" ? msg : `HTTP ${res.status}`, typeof state === "string" ? state : undefined);
  }
  return answer as T;
}

/**
 * Saves an analytics read as CSV (the API's `format=csv`) under the file name the API gives, with the
 * page's token; a 401 asks for a token once, as reads do.
 */
export async function downloadCsv(path: string): Promise<void> {
  const get = (token: string | null) =>
    fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch(() => {
      throw new ApiError(0, "the server cannot be reached");
    });
  let res = await get(currentToken());
  if (res.status === 401 && (await tokenForReading())) res = await get(currentToken());
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
    throw new ApiError(res.status, typeof body?.error === "string" ? body.error : `HTTP ${res.status}`);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "acu.csv";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const q = (params: Record<string, string | number | null | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") s.set(k, String(v));
  const str = s.toString();
  return str ? `?${str}` : "";
};

/** The dashboard shows every exercise: the pages, followed to the last (at most 20 of 1,000: the catalogue is bounded, the page too). */
async function allExercises(window: AnalyticsWindow): Promise<Windowed<ExerciseStats>> {
  const first = await call<Windowed<ExerciseStats>>("GET", `/api/analytics/exercises${q({ limit: 1000, window })}`);
  const exercises = [...first.exercises];
  let next = first.nextCursor;
  for (let pages = 1; next !== null && pages < 20; pages++) {
    const page = await call<ExerciseStats>("GET", `/api/analytics/exercises${q({ limit: 1000, cursor: next, window })}`);
    exercises.push(...page.exercises);
    next = page.nextCursor;
  }
  return { ...first, exercises, nextCursor: next };
}

export interface TrendParams {
  exerciseId: string | null;
  region: string | null;
  bucket: TrendBucket;
}
export const trendsPath = (p: TrendParams, extra: Record<string, string> = {}) =>
  `/api/analytics/trends${q({ exerciseId: p.exerciseId, region: p.region, bucket: p.bucket, ...extra })}`;

export const api = {
  exercises: allExercises,
  hotspots: (exerciseId: string, limit: number, window: AnalyticsWindow) =>
    call<Windowed<Hotspots>>("GET", `/api/analytics/hotspots${q({ exerciseId, limit, window })}`),
  regions: (exerciseId: string | null, window: AnalyticsWindow) => call<Windowed<RegionStats>>("GET", `/api/analytics/regions${q({ exerciseId, window })}`),
  /** Per bucket of the last 24 hours (bucket=hour) or 30 days (bucket=day), for an exercise, a region, both or all. */
  trends: (p: TrendParams) => call<Trends>("GET", trendsPath(p)),
  runs: (limit: number) => call<{ runs: AnalyzerRun[]; schedule: AnalyzerSchedule }>("GET", `/api/analytics/runs${q({ limit })}`),
  runNow: (token: string) => call<AnalyzerRun>("POST", "/api/analytics/runs", { token }),
  thresholds: () => call<Thresholds>("GET", "/api/thresholds"),
  setThreshold: (token: string, exerciseId: string, threshold: unknown) =>
    call<Thresholds>("PUT", `/api/thresholds/${encodeURIComponent(exerciseId)}`, { token, body: { threshold } }),
  removeThreshold: (token: string, exerciseId: string) => call<Thresholds>("DELETE", `/api/thresholds/${encodeURIComponent(exerciseId)}`, { token }),
  setDefault: (token: string, value: unknown) => call<Thresholds>("PUT", "/api/thresholds", { token, body: { default: value } }),
  recentAlerts: (limit: number) => call<RecentAlerts>("GET", `/api/alerts${q({ limit })}`),
};
