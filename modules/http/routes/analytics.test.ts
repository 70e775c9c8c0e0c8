import { expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { analyticsGroupRoutes, type AnalyticsApi } from "./analytics.ts";
import type { AnalyticsWindow } from "../../analyzer/windows.ts";
import { TrendRangeError } from "../../analyzer/trends.ts";
import { TrendsIncompleteError } from "../../analyzer/windows.ts";

const cover = (window: AnalyticsWindow) => ({ window, from: window === "all" ? null : "2026-12-02T09:00:00.000Z" });

function trendsAnswer(exerciseId: string | null, region: string | null, bucket: "hour" | "day") {
  return {
    exerciseId,
    region,
    bucket,
    periodSeconds: 900,
    from: "2026-12-02T08:00:00.000Z",
    to: "2026-12-02T11:00:00.000Z",
    threshold: exerciseId === null ? null : 50,
    thresholdChanges: exerciseId === null ? [] : [{ at: "2026-12-02T09:30:01.250Z", threshold: 50 }],
    buckets: [
      { start: "2026-12-02T08:00:00.000Z", reports: 0, averageScore: null, failures: 0, successRate: null },
      { start: "2026-12-02T09:00:00.000Z", reports: 3, averageScore: 61.333333333333336, failures: 1, successRate: 2 / 3 },
      { start: "2026-12-02T10:00:00.000Z", reports: 1e6, averageScore: 0.1, failures: 1e6, successRate: 0 },
    ],
  };
}

/** An analytics side that records what it was asked: the routes' job is to check and pass the parameters. */
function fakeWarehouse(runNow: AnalyticsApi["runNow"] = null) {
  const asked: unknown[] = [];
  const api: AnalyticsApi = {
    exercises: async (page, window) => {
      asked.push(["exercises", page, window]);
      return {
        exercises: [{ exerciseId: "e", reports: 2, averageScore: 50, failures: 1, threshold: 50 }],
        asOf: null,
        nextCursor: "e",
        window: cover(window),
      };
    },
    hotspots: async (exerciseId, limit, window) => {
      asked.push(["hotspots", exerciseId, limit, window]);
      return { exerciseId, threshold: 50, cellSizeDeg: 0.05, cells: [], window: cover(window) };
    },
    regions: async (exerciseId, window) => {
      asked.push(["regions", exerciseId, window]);
      return { exerciseId, regions: [], window: cover(window) };
    },
    trends: async (q) => {
      asked.push(["trends", q]);
      return trendsAnswer(q.exerciseId, q.region, q.bucket);
    },
    runs: async (page) => {
      asked.push(["runs", page]);
      return page.cursor === "run-unknown" ? null : { runs: [], nextCursor: null };
    },
    responseTimes: async () => ({
      regions: [
        {
          region: "Bretagne",
          resolved: 3,
          cancelled: 1,
          acknowledge: { count: 4, p50: 20, p90: 45 },
          onSite: { count: 3, p50: 300, p90: 600 },
          resolve: { count: 0, p50: null, p90: null },
        },
      ],
      asOf: null,
    }),
    runNow,
    schedule: () => ({ cron: "0 * * * * *", nextRunAt: "2026-12-02T10:01:00.000Z" }),
  };
  return { api, asked };
}

test("parameters are checked, defaulted and passed on; an empty exercise filter means all", async () => {
  const w = fakeWarehouse();
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  expect((await call("GET", "/api/analytics/exercises", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/hotspots?exerciseId=c00.ex00", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/hotspots?exerciseId=c00.ex00&limit=500", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/regions?exerciseId=", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/regions?exerciseId=bsq", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/runs?limit=7", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/runs", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/exercises?window=1h", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/hotspots?exerciseId=e&window=24h", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/regions?window=all", { token: "viewer" })).status).toBe(200);
  expect((await call("GET", "/api/analytics/trends", { token: "viewer" })).status).toBe(200);
  expect(
    (
      await call("GET", "/api/analytics/trends?exerciseId=e&region=Provence-Alpes-C%C3%B4te%20d%27Azur&from=2026-12-01&to=1764669600000&bucket=day", {
        token: "viewer",
      })
    ).status,
  ).toBe(200);
  expect((await call("GET", "/api/analytics/trends?from=2026-12-01T08:30&to=&region=", { token: "viewer" })).status).toBe(200);
  expect(w.asked.slice(-6)).toEqual([
    ["exercises", { limit: 500, cursor: null }, "1h"],
    ["hotspots", "e", 20, "24h"],
    ["regions", null, "all"],
    ["trends", { exerciseId: null, region: null, fromMs: null, toMs: null, bucket: "hour" }],
    ["trends", { exerciseId: "e", region: "Provence-Alpes-Côte d'Azur", fromMs: Date.UTC(2026, 11, 1), toMs: 1764669600000, bucket: "day" }],
    ["trends", { exerciseId: null, region: null, fromMs: Date.UTC(2026, 11, 1, 8, 30), toMs: null, bucket: "hour" }],
  ]);
  expect(w.asked.slice(0, -6)).toEqual([
    ["exercises", { limit: 500, cursor: null }, "all"],
    ["hotspots", "c00.ex00", 20, "all"],
    ["hotspots", "c00.ex00", 500, "all"],
    ["regions", null, "all"],
    ["regions", "bsq", "all"],
    ["runs", { limit: 7, cursor: null }],
    ["runs", { limit: 20, cursor: null }],
  ]);
  // The longest region the document allows is taken.
  expect((await call("GET", `/api/analytics/trends?region=${"r".repeat(100)}`, { token: "viewer" })).status).toBe(200);
});

test("bad parameters get 400 naming them, and reach nothing", async () => {
  const w = fakeWarehouse();
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  const cases: Array<[string, string]> = [
    ["/api/analytics/hotspots", "exerciseId is required"],
    ["/api/analytics/hotspots?exerciseId=", "exerciseId is required"],
    ["/api/analytics/hotspots?exerciseId=a%20b", "exerciseId is required"],
    ["/api/analytics/hotspots?exerciseId=e&limit=501", "limit must be a whole number from 1 to 500"],
    ["/api/analytics/hotspots?exerciseId=e&limit=0x10", "limit must be a whole number from 1 to 500"],
    ["/api/analytics/regions?exerciseId=%C3%A9", "exerciseId must be"],
    ["/api/analytics/runs?limit=0", "limit must be a whole number from 1 to 200"],
    ["/api/analytics/runs?limit=1.5", "limit must be a whole number from 1 to 200"],
    ["/api/analytics/runs?limit=-1", "limit must be a whole number from 1 to 200"],
    ["/api/analytics/exercises?limit=1001", "limit must be a whole number from 1 to 1000"],
    ["/api/analytics/exercises?limit=0", "limit must be a whole number from 1 to 1000"],
    ["/api/analytics/exercises?cursor=a%20b", "cursor must be a nextCursor this listing gave"],
    [`/api/analytics/exercises?cursor=${"x".repeat(129)}`, "cursor must be a nextCursor this listing gave"],
    ["/api/analytics/runs?cursor=%00", "cursor must be a nextCursor this listing gave"],
    ["/api/analytics/regions?format=xml", "format must be json or csv"],
    ["/api/analytics/response-times?format=CSV", "format must be json or csv"],
    ["/api/analytics/exercises?window=2h", "window must be one of 1h, 24h, all"],
    ["/api/analytics/hotspots?exerciseId=e&window=ALL", "window must be one of 1h, 24h, all"],
    ["/api/analytics/trends?bucket=week", "bucket must be one of hour, day"],
    ["/api/analytics/trends?from=yesterday", "from must be an ISO-8601 date or date-time, or epoch milliseconds"],
    ["/api/analytics/trends?to=2026-02-30", "to must be an ISO-8601 date or date-time, or epoch milliseconds"],
    ["/api/analytics/trends?to=-5", "to must be an ISO-8601 date or date-time, or epoch milliseconds"],
    ["/api/analytics/trends?exerciseId=a%20b", "exerciseId must be"],
    [`/api/analytics/trends?region=${"r".repeat(101)}`, "region must be at most 100 characters"],
    ["/api/analytics/trends?region=a%0Ab", "region must hold no control characters"],
    ["/api/analytics/trends?region=a%C2%85b", "region must hold no control characters"],
    ["/api/analytics/trends?from=1234567890123456", "from must be an ISO-8601 date or date-time, or epoch milliseconds"],
  ];
  for (const [path, error] of cases) {
    const r = await call("GET", path, { token: "viewer" });
    expect({ path, status: r.status, error: ((await r.json()) as { error: string }).error }).toEqual({
      path,
      status: 400,
      error: expect.stringContaining(error),
    });
  }
  expect(w.asked).toEqual([]);
});

test("exercises and runs come a page at a time: limit and cursor passed on, nextCursor answered; a cursor naming no run is a 404", async () => {
  const w = fakeWarehouse();
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  const ex = await call("GET", "/api/analytics/exercises?limit=1000&cursor=c00.ex00", { token: "viewer" });
  expect([ex.status, ((await ex.json()) as { nextCursor: string }).nextCursor]).toEqual([200, "e"]);
  expect(((await (await call("GET", "/api/analytics/exercises?limit=1&cursor=", { token: "viewer" })).json()) as { nextCursor: unknown }).nextCursor).toBe("e");
  const runs = await call("GET", "/api/analytics/runs?limit=5&cursor=run-20261127T100000Z-0a1b2c3d", { token: "viewer" });
  expect([runs.status, await runs.json()]).toEqual([
    200,
    { runs: [], nextCursor: null, schedule: { cron: "0 * * * * *", nextRunAt: "2026-12-02T10:01:00.000Z" } },
  ]);
  const unknown = await call("GET", "/api/analytics/runs?cursor=run-unknown", { token: "viewer" });
  expect([unknown.status, await unknown.json()]).toEqual([404, { error: 'cursor "run-unknown" names no analyzer run of this warehouse' }]);
  expect(w.asked).toEqual([
    ["exercises", { limit: 1000, cursor: "c00.ex00" }, "all"],
    ["exercises", { limit: 1, cursor: null }, "all"],
    ["runs", { limit: 5, cursor: "run-20261127T100000Z-0a1b2c3d" }],
    ["runs", { limit: 20, cursor: "run-unknown" }],
  ]);
});

test("without a warehouse 404, without an analyzer 409; a run now answers its summary", async () => {
  const none = testApp(() => [analyticsGroupRoutes({ analytics: null })]);
  expect((await none.call("GET", "/api/analytics/exercises", { token: "viewer" })).status).toBe(404);
  expect((await none.call("POST", "/api/analytics/runs")).status).toBe(409);
  const summary = { runId: "r1", engine: "arrow", files: 1, rows: 10, durationMs: 5, outcome: "succeeded" as const };
  const w = fakeWarehouse(async () => summary);
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  expect((await call("POST", "/api/analytics/runs", { token: "viewer" })).status).toBe(403);
  const r = await call("POST", "/api/analytics/runs");
  expect([r.status, await r.json()]).toEqual([200, summary]);
});

test("an engine that fails under a read answers 503 with Retry-After, logged with the route, not the path", async () => {
  const w = fakeWarehouse();
  w.api.exercises = async () => {
    throw new Error("warehouse down");
  };
  const { call, log } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  const r = await call("GET", "/api/analytics/exercises", { token: "viewer" });
  expect([r.status, r.headers.get("retry-after")]).toEqual([503, "1"]);
  expect(log.text()).toContain("http: GET /api/analytics/exercises failed: warehouse down");
});

test("response times: one row per region and step with finished incidents, the outcomes per region", async () => {
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: fakeWarehouse().api })]);
  const r = await call("GET", "/api/analytics/response-times");
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({
    regions: [
      { region: "Bretagne", step: "acknowledge", count: 4, p50: 20, p90: 45 },
      { region: "Bretagne", step: "onSite", count: 3, p50: 300, p90: 600 },
    ],
    finished: [{ region: "Bretagne", resolved: 3, cancelled: 1 }],
    asOf: null,
  });
  const none = testApp(() => [analyticsGroupRoutes({ analytics: null })]);
  expect((await none.call("GET", "/api/analytics/response-times")).status).toBe(404);
});

/** An RFC 4180 reader written apart from the writer: quoted fields, doubled quotes, CRLF rows. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = "",
    quoted = false;
  const endField = () => {
    row.push(field);
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") endField();
    else if (ch === "\r" && text[i + 1] === "\n") {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += ch;
  }
  expect(field).toBe(""); // the last row ends with CRLF
  const [header, ...body] = rows;
  for (const r of body) expect(r.length).toBe(header!.length);
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}
const n = (v: string | undefined) => (v === "" || v === undefined ? null : Number(v));
const s = (v: string | undefined) => (v === "" || v === undefined ? null : v);

test("CSV downloads (?format=csv or Accept: text/csv) parse and equal the JSON", async () => {
  const w = fakeWarehouse();
  w.api.exercises = async () => ({
    exercises: [
      { exerciseId: "c01.ex01", reports: 3, averageScore: 61.333333333333336, failures: 1, threshold: 50 },
      { exerciseId: "c01.ex02", reports: 1e6, averageScore: 0.1, failures: 0, threshold: 72 },
    ],
    asOf: "2026-12-02T10:00:00.000Z",
    nextCursor: "c01.ex02",
    window: cover("1h"),
  });
  w.api.hotspots = async (exerciseId) => ({
    window: cover("all"),
    exerciseId,
    threshold: 50,
    cellSizeDeg: 0.05,
    cells: [
      { latitude: 48.825, longitude: 2.375, failures: 7, reports: 9 },
      { latitude: 45.775, longitude: 4.825, failures: 2, reports: 40 },
    ],
  });
  w.api.regions = async (exerciseId, window) => ({
    window: cover(window),
    exerciseId,
    regions: [
      { region: "Provence-Alpes-Côte d'Azur", reports: 12, averageScore: 55.5, failures: 4 },
      { region: "abroad", reports: 1, averageScore: 20, failures: 1 },
    ],
  });
  w.api.runs = async () => ({
    runs: [
      {
        runId: "run-2",
        engine: "embedded",
        startedAt: "2026-12-02T10:00:00.000Z",
        finishedAt: null,
        files: 0,
        rows: 0,
        durationMs: null,
        outcome: "running",
        error: null,
      },
      {
        runId: "run-1",
        engine: "spark",
        startedAt: "2026-12-02T09:00:00.000Z",
        finishedAt: "2026-12-02T09:00:01.500Z",
        files: 2,
        rows: 300,
        durationMs: 1500,
        outcome: "failed",
        error: 'lake: "part, 1"\r\nunreadable',
      },
    ],
    nextCursor: "run-1",
  });
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  const both = async (path: string) => {
    const j = await call("GET", path, { token: "viewer" });
    const sep = path.includes("?") ? "&" : "?";
    const byFormat = await call("GET", `${path}${sep}format=csv`, { token: "viewer" });
    const byAccept = await call("GET", path, { token: "viewer", headers: { accept: "text/csv, application/json;q=0.5" } });
    expect([j.status, byFormat.status, byAccept.status]).toEqual([200, 200, 200]);
    expect(byFormat.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(byFormat.headers.get("content-disposition")).toMatch(/^attachment; filename="acu-[a-z-]+\.csv"$/);
    const text = await byFormat.text();
    expect(await byAccept.text()).toBe(text);
    return { json: (await j.json()) as Record<string, unknown>, rows: parseCsv(text), headers: byFormat.headers };
  };

  const ex = await both("/api/analytics/exercises");
  expect({
    exercises: ex.rows.map((r) => ({
      exerciseId: r.exerciseId,
      reports: n(r.reports),
      averageScore: n(r.averageScore),
      failures: n(r.failures),
      threshold: n(r.threshold),
    })),
    asOf: s(ex.rows[0]!.asOf),
    nextCursor: ex.headers.get("x-next-cursor"),
    window: { window: ex.rows[0]!.window, from: s(ex.rows[0]!.windowFrom) },
  }).toEqual(ex.json as never);

  const hs = await both("/api/analytics/hotspots?exerciseId=c01.ex01");
  expect({
    exerciseId: hs.rows[0]!.exerciseId,
    threshold: n(hs.rows[0]!.threshold),
    cellSizeDeg: n(hs.rows[0]!.cellSizeDeg),
    cells: hs.rows.map((r) => ({ latitude: n(r.latitude), longitude: n(r.longitude), failures: n(r.failures), reports: n(r.reports) })),
    window: { window: hs.rows[0]!.window, from: s(hs.rows[0]!.windowFrom) },
  }).toEqual(hs.json as never);

  for (const path of ["/api/analytics/regions", "/api/analytics/regions?exerciseId=c01.ex01&window=24h"]) {
    const rg = await both(path);
    expect({
      exerciseId: s(rg.rows[0]!.exerciseId),
      regions: rg.rows.map((r) => ({ region: r.region, reports: n(r.reports), averageScore: n(r.averageScore), failures: n(r.failures) })),
      window: { window: rg.rows[0]!.window, from: s(rg.rows[0]!.windowFrom) },
    }).toEqual(rg.json as never);
  }

  for (const path of ["/api/analytics/trends?exerciseId=c01.ex01", "/api/analytics/trends?region=Bretagne&bucket=day"]) {
    const tr = await both(path);
    const json = tr.json as ReturnType<typeof trendsAnswer>;
    expect(tr.rows.length).toBe(3);
    expect({
      exerciseId: s(tr.rows[0]!.exerciseId),
      region: s(tr.rows[0]!.region),
      bucket: tr.rows[0]!.bucket,
      threshold: n(tr.rows[0]!.threshold),
      buckets: tr.rows.map((r) => ({
        start: r.start,
        reports: n(r.reports),
        averageScore: n(r.averageScore),
        failures: n(r.failures),
        successRate: n(r.successRate),
      })),
    }).toEqual({ exerciseId: json.exerciseId, region: json.region, bucket: json.bucket, threshold: json.threshold, buckets: json.buckets });
  }

  const runs = await both("/api/analytics/runs");
  const { schedule: _, ...page } = runs.json;
  expect({
    runs: runs.rows.map((r) => ({
      runId: r.runId,
      engine: r.engine,
      startedAt: r.startedAt,
      finishedAt: s(r.finishedAt),
      files: n(r.files),
      rows: n(r.rows),
      durationMs: n(r.durationMs),
      outcome: r.outcome,
      error: s(r.error),
    })),
    nextCursor: runs.headers.get("x-next-cursor"),
  }).toEqual(page as never);

  const rt = await both("/api/analytics/response-times");
  const steps = ["acknowledge", "onSite", "resolve"] as const;
  expect({
    regions: rt.rows.flatMap((r) =>
      steps.flatMap((step) =>
        n(r[`${step}Count`]) ? [{ region: r.region, step, count: n(r[`${step}Count`]), p50: n(r[`${step}P50`]), p90: n(r[`${step}P90`]) }] : [],
      ),
    ),
    finished: rt.rows.map((r) => ({ region: r.region, resolved: n(r.resolved), cancelled: n(r.cancelled) })),
    asOf: s(rt.rows[0]!.asOf),
  }).toEqual(rt.json as never);

  // JSON unless CSV is asked for: no Accept, */*, JSON preferred, or format=json over Accept.
  for (const headers of [{}, { accept: "*/*" }, { accept: "application/json, text/csv;q=0.9" }, { accept: "text/html" }] as Record<string, string>[]) {
    const r = await call("GET", "/api/analytics/regions", { token: "viewer", headers });
    expect(r.headers.get("content-type")).toStartWith("application/json");
  }
  const forced = await call("GET", "/api/analytics/regions?format=json", { token: "viewer", headers: { accept: "text/csv" } });
  expect(forced.headers.get("content-type")).toStartWith("application/json");
});

test("a trend range the warehouse cannot serve is a 400, trend tables still incomplete a 409, each saying why", async () => {
  const w = fakeWarehouse();
  w.api.trends = async () => {
    throw new TrendRangeError("the range holds 1200 hour buckets, at most 1000: narrow from/to or use bucket=day");
  };
  w.api.exercises = async () => {
    throw new TrendsIncompleteError("trends and windows are not available: run acu analyze --rebuild");
  };
  const { call } = testApp(() => [analyticsGroupRoutes({ analytics: w.api })]);
  const range = await call("GET", "/api/analytics/trends?from=2026-10-01", { token: "viewer" });
  expect([range.status, await range.json()]).toEqual([400, { error: "the range holds 1200 hour buckets, at most 1000: narrow from/to or use bucket=day" }]);
  const incomplete = await call("GET", "/api/analytics/exercises?window=1h", { token: "viewer" });
  expect([incomplete.status, await incomplete.json()]).toEqual([409, { error: "trends and windows are not available: run acu analyze --rebuild" }]);
});
