import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { regionOf } from "../../src/domain/regions.ts";
import { deriveReportId, encodeReport, MAX_BODY_BYTES, parseReportBatch, type Report } from "../../src/domain/report.ts";
import { metrics } from "../../src/metrics.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { Log } from "../lifecycle.ts";
import type { AuthEnv } from "../http/auth.ts";
import type { RateLimiter } from "./rate-limit.ts";

/**
 * The ingest role: POST /api/reports. A 202 means every report of the request is durably on the bus;
 * anything else means none of it was taken, so the laptop resends (and the derived id makes that harmless).
 */
export function ingestRoutes(deps: { bus: Bus; log: Log; regionRadiusKm?: number; rateLimit?: RateLimiter | null }): Hono<AuthEnv> {
  const { bus, log } = deps;
  const app = new Hono<AuthEnv>();

  app.post(
    "/api/reports",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        metrics.reportsRejected.inc({ reason: "too_large" });
        return c.json({ error: `request body exceeds ${MAX_BODY_BYTES} bytes` }, 413);
      },
    }),
    async (c) => {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        metrics.reportsRejected.inc({ reason: "not_json" });
        return c.json({ error: "request body is not valid JSON" }, 400);
      }
      const parsed = parseReportBatch(body);
      if (!parsed.ok) {
        metrics.reportsRejected.inc({ reason: "invalid" });
        return c.json({ error: parsed.error, issues: parsed.issues }, 400);
      }
      // The server checked the ingest scope before this route; without a principal something is miswired.
      const principal = c.get("principal");
      if (!principal) return c.json({ error: "this needs the ingest token: Authorization: Bearer <token>" }, 401, { "WWW-Authenticate": 'Bearer realm="acu", scope="ingest"' });
      // Counted in reports after parsing: a batch of 500 costs 500, an invalid body costs nothing.
      const limited = deps.rateLimit?.take(principal.id, parsed.reports.length);
      if (limited && !limited.ok) {
        metrics.reportsRejected.inc({ reason: "rate_limited" });
        return c.json(
          { error: `this token is over its rate of ${deps.rateLimit!.ratePerSecond} reports/s; retry in ${limited.retryAfterS} s`, retryAfterSeconds: limited.retryAfterS },
          429,
          { "Retry-After": String(limited.retryAfterS) },
        );
      }
      const reports: Report[] = parsed.reports.map((r) => ({
        reportId: r.reportId ?? deriveReportId(r),
        studentId: r.studentId,
        exerciseId: r.exerciseId,
        score: r.score,
        latitude: r.latitude,
        longitude: r.longitude,
        timestamp: r.timestamp,
        region: regionOf(r.latitude, r.longitude, deps.regionRadiusKm),
      }));
      try {
        await bus.publish(TOPICS.reports, reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })));
      } catch (e) {
        metrics.reportsRejected.inc({ reason: "bus_unavailable" });
        log.warn(`ingest: bus refused a batch of ${reports.length}: ${(e as Error).message}`);
        return c.json({ error: "the report log cannot take writes now; retry later" }, 503, { "Retry-After": "1" });
      }
      metrics.reportsIngested.inc(reports.length);
      return c.json({ accepted: reports.length }, 202);
    },
  );

  app.all("/api/reports", (c) => c.json({ error: `method ${c.req.method} not allowed; use POST` }, 405, { Allow: "POST" }));
  return app;
}
