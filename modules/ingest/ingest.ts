import { z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import {
  encodeReport,
  MAX_BODY_BYTES,
  MAX_REPORTS_PER_REQUEST,
  originalReportShape,
  parseReportBatch,
  REPORT_FORMATS,
  reportInputSchema,
  toReport,
} from "../../src/domain/report.ts";
import { metrics } from "../../src/metrics.ts";
import { parseJson } from "../../src/json.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { Log } from "../lifecycle.ts";
import { defineRoute, retryAfter, routeGroup } from "../http/route-table.ts";
import { errorSchema, json } from "../http/schemas.ts";
import type { IngestAdmission } from "./admission.ts";
import type { ExerciseCatalogue } from "./catalogue.ts";
import type { IngestLimits, Refusal } from "./rate-limit.ts";

const reportErrorSchema = z
  .object({
    error: z.string(),
    issues: z
      .array(z.object({ index: z.number().int().min(0), path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: "Every invalid field: the item's index in the batch, the field, what is wrong" }),
  })
  .meta({ id: "ReportError" });

const rateLimitedSchema = z
  .object({
    error: z.string(),
    retryAfterSeconds: z.number().int().min(1),
    limit: z.enum(["token", "student"]).meta({ description: "The limit refused: the token's rate, or one student's under that token" }),
    studentId: z.string().optional().meta({ description: "The student over its rate (limit student)" }),
  })
  .meta({ id: "RateLimited" });

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
      request: {
        query: z.object({
          format: z.enum(REPORT_FORMATS).optional().meta({
            description:
              "The shape of the reports: acu (the default: the Report schema), original (the original system's OriginalReport: login, integer exercise, timestamp in seconds), auto (original for an object with login and no studentId, else acu)",
          }),
        }),
      },
      responses: {
        202: { description: "Every report is durably on the bus", ...json(z.object({ accepted: z.number().int().min(1) })) },
        400: {
          description:
            "Not JSON, an empty batch or one over 1000, invalid fields (named as in the format's shape), an unknown format, or (ACU_EXERCISES=strict) an exercise without a threshold entry (each named in issues); nothing accepted",
          ...json(reportErrorSchema),
        },
        413: { description: `Body over ${MAX_BODY_BYTES} bytes`, ...json(errorSchema) },
        429: {
          description:
            "This token is over ACU_INGEST_RATE_LIMIT reports/s, or one of the batch's students over ACU_INGEST_STUDENT_RATE_LIMIT (per ingest process; `limit` says which); nothing accepted, retry after Retry-After seconds",
          headers: retryAfter,
          ...json(rateLimitedSchema),
        },
      },
    },
    {
      body: z.union([
        reportInputSchema,
        z.array(reportInputSchema).min(1).max(MAX_REPORTS_PER_REQUEST),
        originalReportShape,
        z.array(originalReportShape).min(1).max(MAX_REPORTS_PER_REQUEST),
      ]),
    },
  ),
};

/**
 * The ingest role: POST /api/reports. A 202 means every report of the request is durably on the bus;
 * anything else means none of it was taken, so the laptop resends (and the derived id makes that harmless).
 * Another method on /api/reports gets 405 from the server (the route table knows the path).
 */
export function ingestRoutes(deps: {
  bus: Bus;
  log: Log;
  rateLimit?: IngestLimits | null;
  /** ACU_EXERCISES=strict; null or absent: open, any well-formed exercise id is taken. */
  catalogue?: ExerciseCatalogue | null;
  /** ACU_INGEST_INFLIGHT_BYTES: the bodies taken at once; absent: unbounded (tests of one request). */
  admission?: IngestAdmission | null;
}) {
  const { bus, log } = deps;
  const app = routeGroup();

  // First: a request over the in-flight bound is refused before its body is read.
  if (deps.admission) app.use(reportRoutes.post.route.getRoutingPath(), deps.admission.middleware());

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
      body = parseJson(await c.req.text(), "request body");
    } catch (e) {
      metrics.reportsRejected.inc({ reason: "not_json" });
      return c.json({ error: (e as Error).message }, 400);
    }
    const parsed = parseReportBatch(body, c.req.valid("query").format ?? "acu");
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
    const limited = deps.rateLimit?.admit(
      principal.id,
      parsed.reports.map((r) => r.studentId),
    );
    if (limited && !limited.ok) {
      metrics.reportsRejected.inc({ reason: "rate_limited" });
      return c.json(rateLimitedBody(limited), 429, { "Retry-After": String(limited.retryAfterS) });
    }
    if (deps.catalogue) {
      let unknown: string[];
      try {
        unknown = await deps.catalogue.unknown(parsed.reports.map((r) => r.exerciseId));
      } catch (e) {
        metrics.reportsRejected.inc({ reason: "catalogue_unavailable" });
        log.warn(`ingest: cannot read the exercise catalogue: ${(e as Error).message}`);
        return c.json({ error: "the exercise catalogue (thresholds) cannot be read now; retry later" }, 503, { "Retry-After": "1" });
      }
      if (unknown.length > 0) {
        metrics.reportsRejected.inc({ reason: "unknown_exercise" });
        return c.json(unknownExercises(parsed.reports, unknown), 400);
      }
    }
    const reports = parsed.reports.map((r) => toReport(r));
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

function rateLimitedBody(r: Refusal): z.infer<typeof rateLimitedSchema> {
  const retry = `retry in ${r.retryAfterS} s`;
  if (r.limit === "token")
    return { error: `this token is over its rate of ${r.ratePerSecond} reports/s; ${retry}`, retryAfterSeconds: r.retryAfterS, limit: "token" };
  return {
    error: `student ${JSON.stringify(r.studentId)} is over its rate of ${r.ratePerSecond} reports/s; ${retry}`,
    retryAfterSeconds: r.retryAfterS,
    limit: "student",
    studentId: r.studentId,
  };
}

/** The 400 of a batch with exercises outside the catalogue: the first few named in the error, every report in issues. */
function unknownExercises(reports: ReadonlyArray<{ exerciseId: string }>, unknown: string[]): z.infer<typeof reportErrorSchema> {
  const missing = new Set(unknown);
  const named = unknown
    .slice(0, 5)
    .map((id) => JSON.stringify(id))
    .join(", ");
  const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : "";
  return {
    error: `unknown exercise ${named}${more}: not in the catalogue (no threshold entry; an operator adds one with PUT /api/thresholds/<exerciseId>); nothing was accepted`,
    issues: reports.flatMap((r, index) =>
      missing.has(r.exerciseId) ? [{ index, path: "exerciseId", message: `exercise ${JSON.stringify(r.exerciseId)} is not in the catalogue` }] : [],
    ),
  };
}
