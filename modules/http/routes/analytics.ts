import { z } from "@hono/zod-openapi";
import { defineRoute, routeGroup } from "../route-table.ts";
import type { Context } from "hono";
import { exercisesTable, hotspotsTable, regionsTable, responseTimesTable, runsTable, trendsTable } from "../../analyzer/tables.ts";
import { ANALYTICS_WINDOWS, type AnalyticsWindow, TrendsIncompleteError } from "../../analyzer/windows.ts";
import { MAX_TREND_BUCKETS, TREND_BUCKETS, TrendRangeError, type TrendBucket } from "../../analyzer/trends.ts";
import { isoToMillis, TIMESTAMP_PATTERN } from "../../../src/domain/report.ts";
import { type DataTable, toCsv } from "../../../src/formats/csv.ts";
import { cursorSchema, errorSchema, exerciseFilterSchema, exerciseIdSchema, formatSchema, json, jsonOrCsv, limitSchema, nextCursorSchema } from "../schemas.ts";

const count = z.number().min(0);

const WINDOW_MESSAGE = `window must be one of ${ANALYTICS_WINDOWS.join(", ")}`;
export const windowQuerySchema = z.enum(ANALYTICS_WINDOWS, { error: WINDOW_MESSAGE }).optional().meta({
  description:
    "The reports read: those of the last hour or 24 hours (by their own timestamps, from the start of the trend period that holds now − window), or all (the default)",
  default: "all",
});
const windowCoverSchema = z
  .object({
    window: z.enum(ANALYTICS_WINDOWS),
    from: z.string().nullable().meta({ description: "The first instant counted (ISO 8601, a trend period's start); null for all" }),
  })
  .meta({ id: "WindowCover", description: "What the answer covers" });
export const exerciseStatsSchema = z
  .object({
    exercises: z.array(z.object({ exerciseId: z.string(), reports: count, averageScore: z.number(), failures: count, threshold: z.number() })),
    asOf: z.string().nullable().meta({ description: "When the last succeeded analyzer run finished (ISO 8601); null before the first" }),
    nextCursor: nextCursorSchema,
    window: windowCoverSchema,
  })
  .meta({ id: "ExerciseStats" });

export const hotspotsSchema = z
  .object({
    exerciseId: z.string(),
    threshold: z.number(),
    cellSizeDeg: z.number().meta({ description: "The grid cell size the warehouse was built with, in degrees" }),
    cells: z.array(
      z.object({ latitude: z.number(), longitude: z.number(), failures: count, reports: count }).meta({ description: "A grid cell by its centre" }),
    ),
    window: windowCoverSchema,
  })
  .meta({ id: "Hotspots" });

export const regionStatsSchema = z
  .object({
    exerciseId: z.string().nullable(),
    regions: z.array(z.object({ region: z.string(), reports: count, averageScore: z.number(), failures: count })),
    window: windowCoverSchema,
  })
  .meta({ id: "RegionStats" });

const TREND_BUCKET_NAMES = Object.keys(TREND_BUCKETS) as [TrendBucket, ...TrendBucket[]];
export const trendsSchema = z
  .object({
    exerciseId: z.string().nullable(),
    region: z.string().nullable(),
    bucket: z.enum(TREND_BUCKET_NAMES),
    periodSeconds: z.number().int().meta({ description: "The warehouse's trend period (ACU_TREND_PERIOD_SECONDS): a bucket is a whole number of them" }),
    from: z.string().meta({ description: "Start of the first bucket (ISO 8601, UTC)" }),
    to: z.string().meta({ description: "End of the last bucket, exclusive" }),
    threshold: z.number().nullable().meta({ description: "The exercise's threshold now; null without exerciseId (each exercise is judged by its own)" }),
    thresholdChanges: z.array(z.object({ at: z.string(), threshold: z.number() })).meta({
      description: "Within the range, when an analyzer run first saw the exercise's threshold change (at most a schedule interval late), oldest first",
    }),
    buckets: z.array(
      z
        .object({
          start: z.string(),
          reports: count,
          averageScore: z.number().nullable(),
          failures: count,
          successRate: z.number().min(0).max(1).nullable().meta({ description: "(reports − failures) / reports; null without reports" }),
        })
        .meta({ description: "Reports whose own timestamp falls in [start, start + bucket)" }),
    ),
  })
  .meta({ id: "Trends" });

export const analyzerRunSchema = z
  .object({
    runId: z.string(),
    engine: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    files: count,
    rows: count,
    durationMs: z.number().nullable(),
    outcome: z.enum(["running", "succeeded", "failed"]),
    error: z.string().nullable(),
  })
  .meta({ id: "AnalyzerRun" });

export const runSummarySchema = z
  .object({
    runId: z.string(),
    engine: z.string(),
    files: count,
    rows: count,
    durationMs: z.number(),
    outcome: z.enum(["succeeded", "failed"]),
    error: z.string().optional(),
    incidents: count.optional().meta({ description: "Finished incidents counted by the run (from incidents/ files)" }),
  })
  .meta({ id: "RunSummary" });

const stepStat = z.object({ count, p50: z.number().nullable(), p90: z.number().nullable() });
/** What the analyzer's warehouse read gives per region (modules/analyzer `responseTimes`). */
export const regionResponseTimesSchema = z.object({
  region: z.string(),
  resolved: count,
  cancelled: count,
  acknowledge: stepStat,
  onSite: stepStat,
  resolve: stepStat,
});
export type RegionResponseTimes = z.infer<typeof regionResponseTimesSchema>;

export const RESPONSE_STEPS = ["acknowledge", "onSite", "resolve"] as const;

export const responseTimesSchema = z
  .object({
    regions: z.array(
      z
        .object({
          region: z.string(),
          step: z.enum(RESPONSE_STEPS),
          count: z.number().int().min(1),
          p50: z.number().min(0).meta({ description: "Seconds, nearest rank" }),
          p90: z.number().min(0).meta({ description: "Seconds, nearest rank" }),
        })
        .meta({ description: "One step of one region: from opened to acknowledged, to on site, or to resolved" }),
    ),
    finished: z.array(z.object({ region: z.string(), resolved: count, cancelled: count })),
    asOf: z.string().nullable().meta({ description: "When the last succeeded analyzer run finished (ISO 8601); null before the first" }),
  })
  .meta({ id: "ResponseTimes" });

/** The API's shape: one row per region and step that has finished incidents, and the outcomes per region. */
export function responseTimesBody(rt: { regions: RegionResponseTimes[]; asOf: string | null }): z.infer<typeof responseTimesSchema> {
  const regions = rt.regions.flatMap((r) =>
    RESPONSE_STEPS.flatMap((step) => {
      const s = r[step];
      return s.count > 0 && s.p50 !== null && s.p90 !== null ? [{ region: r.region, step, count: s.count, p50: s.p50, p90: s.p90 }] : [];
    }),
  );
  return { regions, finished: rt.regions.map((r) => ({ region: r.region, resolved: r.resolved, cancelled: r.cancelled })), asOf: rt.asOf };
}

export const analyzerScheduleSchema = z
  .object({
    cron: z.string().nullable().meta({ description: "ACU_ANALYZER_SCHEDULE (cron with seconds); null: on demand only" }),
    nextRunAt: z.string().nullable().meta({ description: "When the schedule starts the next run (ISO 8601); null: on demand only" }),
  })
  .meta({ id: "AnalyzerSchedule" });
export type AnalyzerSchedule = z.infer<typeof analyzerScheduleSchema>;

/** A page of a listing: at most `limit` items after `cursor` (a previous page's nextCursor; null: the first page). */
export interface Page {
  limit: number;
  cursor: string | null;
}

export const EXERCISES_PAGE = { default: 500, max: 1000 } as const;
export const RUNS_PAGE = { default: 20, max: 200 } as const;

/** The read side of the warehouse and the analyzer's trigger, as the API needs them. */
export interface TrendQuery {
  exerciseId: string | null;
  region: string | null;
  fromMs: number | null;
  toMs: number | null;
  bucket: TrendBucket;
}

export interface AnalyticsApi {
  exercises(page: Page, window: AnalyticsWindow): Promise<z.infer<typeof exerciseStatsSchema>>;
  hotspots(exerciseId: string, limit: number, window: AnalyticsWindow): Promise<z.infer<typeof hotspotsSchema>>;
  regions(exerciseId: string | null, window: AnalyticsWindow): Promise<z.infer<typeof regionStatsSchema>>;
  trends(q: TrendQuery): Promise<z.infer<typeof trendsSchema>>;
  /** null: the cursor names no run of this warehouse. */
  runs(page: Page): Promise<{ runs: Array<z.infer<typeof analyzerRunSchema>>; nextCursor: string | null } | null>;
  responseTimes(): Promise<{ regions: RegionResponseTimes[]; asOf: string | null }>;
  /** The analyzer's schedule and its next run. */
  schedule(): AnalyzerSchedule;
  /** Runs the analyzer now; null when no analyzer role runs in this process. */
  runNow: (() => Promise<z.infer<typeof runSummarySchema>>) | null;
}

const HOTSPOTS_EXERCISE = "exerciseId is required (1–64 of letters, digits, '_', '.', '-')";
const noWarehouse = { 404: { description: "No warehouse is configured for this process (no http role)", ...json(errorSchema) } } as const;
const tags = ["analytics"];
const trendsIncomplete = {
  409: {
    description: "A window or trend was asked of a warehouse whose trend tables miss files counted before they existed; `acu analyze --rebuild` recounts them",
    ...json(errorSchema),
  },
} as const;

const REGION_LENGTH = "region must be at most 100 characters";
const REGION_CHARACTERS = "region must hold no control characters";
// The pattern without flags or property escapes: what the OpenAPI document carries is what JSON Schema validators and generators can use.
const regionFilterSchema = z
  .string({ error: REGION_LENGTH })
  .max(100, REGION_LENGTH)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, REGION_CHARACTERS)
  .optional()
  .meta({ description: "Only this region (as /api/analytics/regions names it); absent or empty: every region" });

/** Epoch milliseconds as digits: 15 at most, always below the timestamps the reports accept (8.64e15). */
const EPOCH_MS_DIGITS = "[0-9]{1,15}";

/** An instant in a query string: an ISO-8601 date or date-time (UTC without a zone), or epoch milliseconds (digits). */
function instantQuerySchema(name: string, what: string) {
  const message = `${name} must be an ISO-8601 date or date-time, or epoch milliseconds`;
  const pattern = new RegExp(`^(?:${EPOCH_MS_DIGITS}|${TIMESTAMP_PATTERN.source.slice(1, -1)})?$`);
  return z
    .string({ error: message })
    .regex(pattern, message)
    .optional()
    .meta({ description: `${what}; ${message.replace(`${name} must be `, "")}` });
}

function instantMs(v: string | undefined): number | null {
  if (v === undefined || v === "") return null;
  return /^[0-9]+$/.test(v) ? Number(v) : isoToMillis(v);
}

export const analyticsRoutes = {
  exercises: defineRoute("viewer", {
    operationId: "getExerciseStats",
    method: "get",
    path: "/api/analytics/exercises",
    summary: "Reports, average score and failures per exercise, judged with the current thresholds; by exerciseId, a page at a time",
    tags,
    request: {
      query: z.object({
        limit: limitSchema(EXERCISES_PAGE.default, EXERCISES_PAGE.max),
        cursor: cursorSchema("the last exerciseId of that page"),
        window: windowQuerySchema,
        format: formatSchema,
      }),
    },
    responses: {
      200: {
        description: "Per exercise (CSV: the same page; the next page's cursor in X-Next-Cursor)",
        ...jsonOrCsv(exerciseStatsSchema, "a row per exercise"),
      },
      ...noWarehouse,
      ...trendsIncomplete,
    },
  }),
  hotspots: defineRoute("viewer", {
    operationId: "getHotspots",
    method: "get",
    path: "/api/analytics/hotspots",
    summary: "Grid cells with the most failures of an exercise, most first",
    tags,
    request: {
      query: z.object({ exerciseId: exerciseIdSchema(HOTSPOTS_EXERCISE), limit: limitSchema(20, 500), window: windowQuerySchema, format: formatSchema }),
    },
    responses: { 200: { description: "The cells", ...jsonOrCsv(hotspotsSchema, "a row per cell") }, ...noWarehouse, ...trendsIncomplete },
  }),
  regions: defineRoute("viewer", {
    operationId: "getRegionStats",
    method: "get",
    path: "/api/analytics/regions",
    summary: "Per region: reports, average score, failures (most failures first)",
    tags,
    request: { query: z.object({ exerciseId: exerciseFilterSchema, window: windowQuerySchema, format: formatSchema }) },
    responses: { 200: { description: "Per region", ...jsonOrCsv(regionStatsSchema, "a row per region") }, ...noWarehouse, ...trendsIncomplete },
  }),
  trends: defineRoute("viewer", {
    operationId: "getTrends",
    method: "get",
    path: "/api/analytics/trends",
    summary: "Reports, average score, failures and success rate per hour or day of the reports' own timestamps, for an exercise, a region, both or all",
    tags,
    request: {
      query: z.object({
        exerciseId: exerciseFilterSchema,
        region: regionFilterSchema,
        from: instantQuerySchema("from", "the first bucket holds it; absent: 24 hours (bucket=hour) or 30 days (bucket=day) before to"),
        to: instantQuerySchema("to", "exclusive; the last bucket ends at or after it; absent: now (its bucket included)"),
        bucket: z
          .enum(TREND_BUCKET_NAMES, { error: `bucket must be one of ${TREND_BUCKET_NAMES.join(", ")}` })
          .optional()
          .meta({ description: "hour or day (UTC days)", default: "hour" }),
        format: formatSchema,
      }),
    },
    responses: {
      200: { description: "Every bucket of the range, oldest first (CSV: a row per bucket)", ...jsonOrCsv(trendsSchema, "a row per bucket") },
      400: { description: `A parameter is invalid, from is not before to, or the range holds more than ${MAX_TREND_BUCKETS} buckets`, ...json(errorSchema) },
      ...noWarehouse,
      ...trendsIncomplete,
    },
  }),
  runs: defineRoute("viewer", {
    operationId: "getAnalyzerRuns",
    method: "get",
    path: "/api/analytics/runs",
    summary: "Recent analyzer runs, newest first, a page at a time",
    tags,
    request: {
      query: z.object({
        limit: limitSchema(RUNS_PAGE.default, RUNS_PAGE.max),
        cursor: cursorSchema("the runId of that page's oldest run"),
        format: formatSchema,
      }),
    },
    responses: {
      200: {
        description:
          "The runs, and the schedule that starts the next one (CSV: the same page, the next page's cursor in X-Next-Cursor; the schedule is not in it)",
        ...jsonOrCsv(
          z.object({ runs: z.array(analyzerRunSchema), nextCursor: nextCursorSchema, schedule: analyzerScheduleSchema }).meta({ id: "AnalyzerRuns" }),
          "a row per run",
        ),
      },
      400: { description: "A parameter is invalid", ...json(errorSchema) },
      // Well formed, but naming nothing here (a cursor of another warehouse, or of a run since gone): not found.
      404: { description: "The cursor names no analyzer run of this warehouse, or no warehouse is configured for this process", ...json(errorSchema) },
    },
  }),
  responseTimes: defineRoute("viewer", {
    operationId: "getResponseTimes",
    method: "get",
    path: "/api/analytics/response-times",
    summary: "Per region: count, p50 and p90 of the seconds from an incident's opening to acknowledged, on site and resolved (finished incidents)",
    tags,
    request: { query: z.object({ format: formatSchema }) },
    responses: {
      200: {
        description: "Per region and step (CSV: a row per region, with count, p50 and p90 of each step)",
        ...jsonOrCsv(responseTimesSchema, "a row per region with a finished incident"),
      },
      ...noWarehouse,
    },
  }),
  runNow: defineRoute("operator", {
    operationId: "runAnalyzer",
    method: "post",
    path: "/api/analytics/runs",
    summary: "Run the analyzer now; answers when the run is done",
    tags,
    responses: {
      200: { description: "The run's summary (a failed run too: see outcome)", ...json(runSummarySchema) },
      409: { description: "The analyzer role does not run in this process", ...json(errorSchema) },
    },
  }),
};

/** GET /api/analytics/…: warehouse reads; POST /api/analytics/runs: an analyzer run now. */
export function analyticsGroupRoutes(deps: { analytics: AnalyticsApi | null }) {
  const app = routeGroup();
  const none = { error: "no warehouse is configured for this process" } as const;
  app.openapi(analyticsRoutes.exercises.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const { limit, cursor, window, format } = c.req.valid("query");
    const analytics = deps.analytics;
    return answer(c, async () => {
      const body = await analytics.exercises({ limit: limit ?? EXERCISES_PAGE.default, cursor: cursor || null }, window ?? "all");
      if (wantsCsv(c, format)) return csv(c, "exercises", exercisesTable(body), body.nextCursor);
      return c.json(body, 200);
    });
  });
  app.openapi(analyticsRoutes.hotspots.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const { exerciseId, limit, window, format } = c.req.valid("query");
    const analytics = deps.analytics;
    return answer(c, async () => {
      const body = await analytics.hotspots(exerciseId, limit ?? 20, window ?? "all");
      if (wantsCsv(c, format)) return csv(c, "hotspots", hotspotsTable([body]));
      return c.json(body, 200);
    });
  });
  app.openapi(analyticsRoutes.regions.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const { exerciseId, window, format } = c.req.valid("query");
    const analytics = deps.analytics;
    return answer(c, async () => {
      const body = await analytics.regions(exerciseId || null, window ?? "all");
      if (wantsCsv(c, format)) return csv(c, "regions", regionsTable(body));
      return c.json(body, 200);
    });
  });
  app.openapi(analyticsRoutes.trends.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const q = c.req.valid("query");
    const analytics = deps.analytics;
    return answer(c, async () => {
      const body = await analytics.trends({
        exerciseId: q.exerciseId || null,
        region: q.region || null,
        fromMs: instantMs(q.from),
        toMs: instantMs(q.to),
        bucket: q.bucket ?? "hour",
      });
      if (wantsCsv(c, q.format)) return csv(c, "trends", trendsTable(body));
      return c.json(body, 200);
    });
  });
  app.openapi(analyticsRoutes.runs.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const { limit, cursor, format } = c.req.valid("query");
    const page = await deps.analytics.runs({ limit: limit ?? RUNS_PAGE.default, cursor: cursor || null });
    if (page && wantsCsv(c, format)) return csv(c, "runs", runsTable(page.runs), page.nextCursor);
    return page
      ? c.json({ ...page, schedule: deps.analytics.schedule() }, 200)
      : c.json({ error: `cursor ${JSON.stringify(cursor)} names no analyzer run of this warehouse` }, 404);
  });
  app.openapi(analyticsRoutes.responseTimes.route, async (c) => {
    if (!deps.analytics) return c.json(none, 404);
    const rt = await deps.analytics.responseTimes();
    if (wantsCsv(c, c.req.valid("query").format)) return csv(c, "response-times", responseTimesTable(rt));
    return c.json(responseTimesBody(rt), 200);
  });
  app.openapi(analyticsRoutes.runNow.route, async (c) => {
    const run = deps.analytics?.runNow;
    if (!run) return c.json({ error: "the analyzer role does not run in this process" }, 409);
    return c.json(await run(), 200);
  });
  return app;
}

/**
 * A read's refusals as answers: a range the API cannot serve (400), trend tables still incomplete (409).
 * Typed as the read's own answer: the routes that can meet them declare those statuses in their definitions.
 */
async function answer<R>(c: Context, read: () => Promise<R>): Promise<R> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof TrendRangeError) return c.json({ error: e.message }, 400) as never;
    if (e instanceof TrendsIncompleteError) return c.json({ error: e.message }, 409) as never;
    throw e;
  }
}

/** `format` first; else Accept, when it ranks text/csv above application/json (a tie: the one named first). */
export function wantsCsv(c: Context, format: "json" | "csv" | undefined): boolean {
  if (format !== undefined) return format === "csv";
  const accept = c.req.header("accept");
  if (!accept) return false;
  let csvQ = 0,
    jsonQ = 0,
    csvFirst = false;
  for (const part of accept.split(",").slice(0, 32)) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === "text/csv" && q > csvQ) {
      csvQ = q;
      csvFirst ||= jsonQ === 0;
    } else if (type === "application/json" && q > jsonQ) jsonQ = q;
  }
  return csvQ > jsonQ || (csvQ > 0 && csvQ === jsonQ && csvFirst);
}

/** A table as a CSV download; `nextCursor` (a listing's next page) in X-Next-Cursor. */
function csv(c: Context, name: string, table: DataTable, nextCursor: string | null = null) {
  const headers: Record<string, string> = {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="acu-${name}.csv"`,
    Vary: "Accept",
  };
  if (nextCursor !== null) headers["X-Next-Cursor"] = nextCursor;
  return c.body(toCsv(table), 200, headers);
}
