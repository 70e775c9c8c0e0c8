import { OpenAPIHono } from "@hono/zod-openapi";
import { documentedRoute } from "./route-table.ts";
import { routeTable } from "./routes/table.ts";

const SECURITY_SCHEMES = {
  ingest: { type: "http", scheme: "bearer", description: "Scope ingest: POST /api/reports (ACU_INGEST_TOKEN or `acu token create --scope ingest`)" },
  operator: { type: "http", scheme: "bearer", description: "Scope operator: threshold changes, analyzer runs, and every viewer call" },
  viewer: {
    type: "http",
    scheme: "bearer",
    description:
      "Scope viewer: analytics, alerts, thresholds, patrols and incidents, the live streams (WebSocket: the header, or the subprotocol acu.bearer.<token>)",
  },
  patrol: {
    type: "http",
    scheme: "bearer",
    description:
      "Scope patrol, bound to one patrol (`acu token create --scope patrol --patrol ID`): that patrol's position, stream and the steps of the incident it holds; the operator token may act for any patrol",
  },
} as const;

let built: object | undefined;

/**
 * The API contract, served at GET /api/openapi.json: generated once from the route table, the same zod
 * schemas that validate the requests. Every route of every role is in it, whichever roles this process runs.
 */
export function openApiDocument(): object {
  if (built) return built;
  const gen = new OpenAPIHono();
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) gen.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  for (const def of routeTable().defs) gen.openAPIRegistry.registerPath(documentedRoute(def));
  built = gen.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "acu",
      version: "0.1.0",
      description: "Exam report ingest, patrol alerts and analytics. Errors are JSON `{error, ...}`; bad input gets a 4xx naming what is wrong.",
    },
  });
  return built;
}
