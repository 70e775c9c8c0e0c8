import { Hono, type Context } from "hono";
import { EXERCISE_ID_PATTERN, validateThreshold } from "../../src/domain/threshold.ts";
import { registry } from "../../src/metrics.ts";
import type { ThresholdStore } from "../../src/ports/thresholds.ts";
import type { AlertFeed } from "./alert-feed.ts";
import { openApiDocument } from "./openapi.ts";

/** The read side of the warehouse and the analyzer's trigger, as the API needs them. */
export interface AnalyticsApi {
  exercises(): Promise<unknown>;
  hotspots(exerciseId: string, limit: number): Promise<unknown>;
  regions(exerciseId: string | null): Promise<unknown>;
  runs(limit: number): Promise<unknown>;
  /** Runs the analyzer now; null when no analyzer role runs in this process. */
  runNow: (() => Promise<unknown>) | null;
}

export interface ApiDeps {
  thresholds: ThresholdStore;
  feed: AlertFeed | null;
  analytics: AnalyticsApi | null;
  dashboard: { html: string; assets: Record<string, { body: string; type: string }> };
}

/**
 * The API and the dashboard's files. Scopes are checked before any of these routes runs, by the server's
 * middleware (auth.ts `neededScope`): reads need viewer, writes operator.
 */
export function apiRoutes(deps: ApiDeps): Hono {
  const app = new Hono();

  const readJson = async (c: Context): Promise<{ ok: true; body: unknown } | { ok: false; res: Response }> => {
    try {
      return { ok: true, body: JSON.parse(await c.req.text()) };
    } catch {
      return { ok: false, res: c.json({ error: "request body is not valid JSON" }, 400) };
    }
  };

  const limitParam = (c: Context, def: number, max: number): number | Response => {
    const raw = c.req.query("limit");
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) return c.json({ error: `limit must be a whole number from 1 to ${max}` }, 400);
    return n;
  };

  // ---- thresholds ----
  const thresholdsBody = async () => {
    const s = await deps.thresholds.current();
    return { default: s.defaultThreshold, thresholds: s.thresholds, revision: s.revision };
  };
  app.get("/api/thresholds", async (c) => c.json(await thresholdsBody()));

  app.put("/api/thresholds", async (c) => {
    const j = await readJson(c);
    if (!j.ok) return j.res;
    const v = validateThreshold((j.body as { default?: unknown } | null)?.default);
    if (!v.ok) return c.json({ error: `default: ${v.message}` }, 400);
    await deps.thresholds.setDefault(v.value);
    return c.json(await thresholdsBody());
  });

  app.put("/api/thresholds/:exerciseId", async (c) => {
    const id = c.req.param("exerciseId");
    if (!EXERCISE_ID_PATTERN.test(id)) return c.json({ error: "exerciseId must be 1–64 of letters, digits, '_', '.', '-'" }, 400);
    const j = await readJson(c);
    if (!j.ok) return j.res;
    const v = validateThreshold((j.body as { threshold?: unknown } | null)?.threshold);
    if (!v.ok) return c.json({ error: v.message }, 400);
    await deps.thresholds.set(id, v.value);
    return c.json(await thresholdsBody());
  });

  app.delete("/api/thresholds/:exerciseId", async (c) => {
    const id = c.req.param("exerciseId");
    if (!EXERCISE_ID_PATTERN.test(id)) return c.json({ error: "exerciseId must be 1–64 of letters, digits, '_', '.', '-'" }, 400);
    await deps.thresholds.remove(id);
    return c.json(await thresholdsBody());
  });

  // ---- alerts ----
  app.get("/api/alerts", (c) => {
    if (!deps.feed) return c.json({ error: "the alert feed does not run in this process" }, 404);
    const limit = limitParam(c, 100, 1000);
    if (limit instanceof Response) return limit;
    const exerciseId = c.req.query("exerciseId") || undefined;
    return c.json({ alerts: deps.feed.recent(limit, exerciseId), cursor: deps.feed.cursor() });
  });

  // ---- analytics ----
  const analytics = (c: Context) => (deps.analytics ? null : c.json({ error: "no warehouse is configured for this process" }, 404));
  app.get("/api/analytics/exercises", async (c) => analytics(c) ?? c.json(await deps.analytics!.exercises()));
  app.get("/api/analytics/hotspots", async (c) => {
    const none = analytics(c);
    if (none) return none;
    const exerciseId = c.req.query("exerciseId");
    if (!exerciseId || !EXERCISE_ID_PATTERN.test(exerciseId)) return c.json({ error: "exerciseId is required (1–64 of letters, digits, '_', '.', '-')" }, 400);
    const limit = limitParam(c, 20, 500);
    if (limit instanceof Response) return limit;
    return c.json(await deps.analytics!.hotspots(exerciseId, limit));
  });
  app.get("/api/analytics/regions", async (c) => {
    const none = analytics(c);
    if (none) return none;
    const exerciseId = c.req.query("exerciseId") || null;
    if (exerciseId !== null && !EXERCISE_ID_PATTERN.test(exerciseId)) return c.json({ error: "exerciseId must be 1–64 of letters, digits, '_', '.', '-'" }, 400);
    return c.json(await deps.analytics!.regions(exerciseId));
  });
  app.get("/api/analytics/runs", async (c) => {
    const none = analytics(c);
    if (none) return none;
    const limit = limitParam(c, 20, 200);
    if (limit instanceof Response) return limit;
    return c.json({ runs: await deps.analytics!.runs(limit) });
  });
  app.post("/api/analytics/runs", async (c) => {
    const run = deps.analytics?.runNow;
    if (!run) return c.json({ error: "the analyzer role does not run in this process" }, 409);
    return c.json(await run());
  });

  // ---- dashboard ----
  app.get("/", (c) => c.html(deps.dashboard.html));
  app.get("/assets/:name", (c) => {
    const a = deps.dashboard.assets[c.req.param("name")];
    return a ? c.body(a.body, 200, { "Content-Type": a.type }) : c.json({ error: "no such asset" }, 404);
  });

  return app;
}

/** Health, readiness, metrics and the API contract: served by every process that listens, whatever its roles. */
export function opsRoutes(deps: { ready: () => { ready: boolean; waitingFor: string[] } }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const r = deps.ready();
    return c.json({ ready: r.ready, waitingFor: r.waitingFor }, r.ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType }));
  app.get("/api/openapi.json", (c) => c.json(openApiDocument));
  return app;
}
