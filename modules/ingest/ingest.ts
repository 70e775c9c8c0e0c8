import { z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { regionOf } from "../../src/domain/regions.ts";
import {
  deriveReportId,
  encodeReport,
  MAX_BODY_BYTES,
  MAX_REPORTS_PER_REQUEST,
  parseReportBatch,
  reportInputSchema,
  type Report,
} from "../../src/domain/report.ts";
import { metrics } from "../../src/metrics.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { Log } from "../lifecycle.ts";
import { defineRoute, retryAfter, routeGroup } from "../http/route-table.ts";
import { errorSchema, json } from "../http/schemas.ts";
import type { RateLimiter } from "./rate-limit.ts";

const reportErrorSchema = z
  .object({
    error: z.string(),
    issues: z
      .array(z.object({ index: z.number().int().min(0), path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: "Every invalid field: the item's index in the batch, the field, what is wrong" }),
  })
  .meta({ id: "ReportError" });

/** The reports route: its contract is the domain's report schema, one report or a batch of 1–1000. */
export const reportRoutes = {
  post: defineRoute(
    "ingest",
    {
      operationId: "postReports",
      method: "post",
      path: "/api/reports",
      summary: `Ingest one report or an array of up to ${MAX_REPORTS_PER_REQUEST}`,
      description:
        "Accepted or refused whole: a 202 means every report of the request is durably on the bus; anything else means none was taken, so the laptop resends (the derived reportId makes that harmless). The body is read as JSON whatever its Content-Type.",
      tags: ["reports"],
      responses: {
        202: { description: "Every report is durably on the bus", ...json(z.object({ accepted: z.number().int().min(1) })) },
        400: { description: "Not JSON, an empty batch or one over 1000, or invalid fields (named in issues); nothing accepted", ...json(reportErrorSchema) },
        413: { description: `Body over ${MAX_BODY_BYTES} bytes`, ...json(errorSchema) },
        429: {
          description: "This token is over ACU_INGEST_RATE_LIMIT reports/s (per ingest process); nothing accepted, retry after Retry-After seconds",
          headers: retryAfter,
          ...json(z.object({ error: z.string(), retryAfterSeconds: z.number().int().min(1) })),
        },
      },
    },
    { body: z.union([reportInputSchema, z.array(reportInputSchema).min(1).max(MAX_REPORTS_PER_REQUEST)]) },
  ),
};

/**
 * The ingest role: POST /api/reports. A 202 means every report of the request is durably on the bus;
 * anything else means none of it was taken, so the laptop resends (and the derived id makes that harmless).
 * Another method on /api/reports gets 405 from the server (the route table knows the path).
 */
export function ingestRoutes(deps: { bus: Bus; log: Log; regionRadiusKm?: number; rateLimit?: RateLimiter | null }) {
  const { bus, log } = deps;
  const app = routeGroup();

  app.use(
    reportRoutes.post.route.getRoutingPath(),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        metrics.reportsRejected.inc({ reason: "too_large" });
        return c.json({ error: `request body exceeds ${MAX_BODY_BYTES} bytes` }, 413);
      },
    }),
  );
  app.openapi(reportRoutes.post.route, async (c) => {
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
    if (!principal)
      return c.json({ error: "this needs the ingest token: Authorization: Bearer <token>", scope: "ingest" as const }, 401, {
        "WWW-Authenticate": 'Bearer realm="acu", scope="ingest"',
      });
    // Counted in reports after parsing: a batch of 500 costs 500, an invalid body costs nothing.
    const limited = deps.rateLimit?.take(principal.id, parsed.reports.length);
    if (limited && !limited.ok) {
      metrics.reportsRejected.inc({ reason: "rate_limited" });
      return c.json(
        {
          error: `this token is over its rate of ${deps.rateLimit!.ratePerSecond} reports/s; retry in ${limited.retryAfterS} s`,
          retryAfterSeconds: limited.retryAfterS,
        },
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
      await bus.publish(
        TOPICS.reports,
        reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })),
      );
    } catch (e) {
      metrics.reportsRejected.inc({ reason: "bus_unavailable" });
      log.warn(`ingest: bus refused a batch of ${reports.length}: ${(e as Error).message}`);
      return c.json({ error: "the report log cannot take writes now; retry later" }, 503, { "Retry-After": "1" });
    }
    metrics.reportsIngested.inc(reports.length);
    return c.json({ accepted: reports.length }, 202);
  });
  return app;
}
