import { z } from "@hono/zod-openapi";
import { registry } from "../../../src/metrics.ts";
import { openApiDocument } from "../openapi.ts";
import { defineRoute, routeGroup } from "../route-table.ts";
import { json } from "../schemas.ts";

const readiness = z
  .object({ ready: z.boolean(), waitingFor: z.array(z.string()).meta({ description: "What this process still waits for" }) })
  .meta({ id: "Readiness" });
const tags = ["ops"];

export const opsRouteDefs = {
  healthz: defineRoute(null, {
    operationId: "getHealth",
    method: "get",
    path: "/healthz",
    summary: "Liveness (open, like /readyz, /metrics, the dashboard's files and this document)",
    tags,
    responses: { 200: { description: "The process is alive", ...json(z.object({ status: z.literal("ok") })) } },
  }),
  readyz: defineRoute(null, {
    operationId: "getReadiness",
    method: "get",
    path: "/readyz",
    summary: "Readiness",
    tags,
    responses: { 200: { description: "Ready", ...json(readiness) }, 503: { description: "Not ready yet", ...json(readiness) } },
  }),
  metrics: defineRoute(null, {
    operationId: "getMetrics",
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics (text exposition format)",
    tags,
    responses: { 200: { description: "The metrics", content: { "text/plain": { schema: z.string() } } } },
  }),
  openapi: defineRoute(null, {
    operationId: "getOpenApiDocument",
    method: "get",
    path: "/api/openapi.json",
    summary: "This document: the API contract (OpenAPI 3.1)",
    tags,
    responses: { 200: { description: "The document", ...json(z.looseObject({ openapi: z.string() })) } },
  }),
};

/** Health, readiness, metrics and the API contract: served by every process that listens, whatever its roles. */
export function opsRoutes(deps: { ready: () => { ready: boolean; waitingFor: string[] } }) {
  const app = routeGroup();
  app.openapi(opsRouteDefs.healthz.route, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(opsRouteDefs.readyz.route, (c) => {
    const r = deps.ready();
    return r.ready ? c.json({ ready: true, waitingFor: r.waitingFor }, 200) : c.json({ ready: false, waitingFor: r.waitingFor }, 503);
  });
  app.openapi(opsRouteDefs.metrics.route, async (c) => c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType }));
  app.openapi(opsRouteDefs.openapi.route, (c) => c.json(openApiDocument() as { openapi: string }, 200));
  return app;
}
