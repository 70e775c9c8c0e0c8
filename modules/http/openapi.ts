/** The API contract, served at GET /api/openapi.json. */
const report = {
  type: "object",
  required: ["studentId", "exerciseId", "score", "latitude", "longitude", "timestamp"],
  properties: {
    reportId: { type: "string", maxLength: 64, description: "Optional; derived from (studentId, exerciseId, timestamp) when absent" },
    studentId: { type: "string", minLength: 1, maxLength: 64 },
    exerciseId: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}$" },
    score: { type: "number", minimum: 0, maximum: 100, description: "percent" },
    latitude: { type: "number", minimum: -90, maximum: 90 },
    longitude: { type: "number", minimum: -180, maximum: 180 },
    timestamp: { oneOf: [{ type: "string", format: "date-time" }, { type: "integer", description: "epoch milliseconds" }] },
  },
};
const error = { type: "object", properties: { error: { type: "string" }, issues: { type: "array", items: { type: "object", properties: { index: { type: "integer" }, path: { type: "string" }, message: { type: "string" } } } } } };
const bearer = [{ operator: [] }];
const json = (schema: object) => ({ content: { "application/json": { schema } } });

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "acu", version: "0.1.0", description: "Exam report ingest, patrol alerts and analytics" },
  components: { securitySchemes: { operator: { type: "http", scheme: "bearer" } }, schemas: { report, error } },
  paths: {
    "/api/reports": {
      post: {
        summary: "Ingest one report or an array of up to 1,000",
        requestBody: json({ oneOf: [report, { type: "array", items: report, minItems: 1, maxItems: 1000 }] }),
        responses: {
          "202": { description: "Every report is durably on the bus", ...json({ type: "object", properties: { accepted: { type: "integer" } } }) },
          "400": { description: "Not JSON, or invalid fields (named in issues); nothing accepted", ...json(error) },
          "413": { description: "Body over 1 MiB", ...json(error) },
          "503": { description: "The bus cannot take writes now; retry after Retry-After", ...json(error) },
        },
      },
    },
    "/api/thresholds": {
      get: { summary: "Thresholds, the default and the store revision", responses: { "200": { description: "ok" } } },
      put: { summary: "Set the default threshold", security: bearer, requestBody: json({ type: "object", properties: { default: { type: "integer", minimum: 0, maximum: 100 } } }), responses: { "200": { description: "ok" }, "400": { description: "bad value" }, "401": { description: "no operator token" } } },
    },
    "/api/thresholds/{exerciseId}": {
      put: { summary: "Set an exercise's threshold (whole percent)", security: bearer, requestBody: json({ type: "object", properties: { threshold: { type: "integer", minimum: 0, maximum: 100 } } }), responses: { "200": { description: "ok" }, "400": { description: "bad value" }, "401": { description: "no operator token" } } },
      delete: { summary: "Remove an exercise's threshold (the default applies)", security: bearer, responses: { "200": { description: "ok" }, "401": { description: "no operator token" } } },
    },
    "/api/alerts": { get: { summary: "Recent deployment orders, newest first", parameters: [{ name: "exerciseId", in: "query" }, { name: "limit", in: "query" }], responses: { "200": { description: "ok" } } } },
    "/api/alerts/stream": { get: { summary: "WebSocket: {type:'alert', alert, cursor} frames; reconnect with ?since=<cursor>", parameters: [{ name: "exerciseId", in: "query" }, { name: "since", in: "query" }], responses: { "101": { description: "switching protocols" } } } },
    "/api/analytics/exercises": { get: { summary: "Reports and average score per exercise", responses: { "200": { description: "ok" } } } },
    "/api/analytics/hotspots": { get: { summary: "Grid cells with the most failures for an exercise", parameters: [{ name: "exerciseId", in: "query", required: true }, { name: "limit", in: "query" }], responses: { "200": { description: "ok" }, "400": { description: "missing exerciseId" } } } },
    "/api/analytics/regions": { get: { summary: "Per region: reports, average score, failures", parameters: [{ name: "exerciseId", in: "query" }], responses: { "200": { description: "ok" } } } },
    "/api/analytics/runs": {
      get: { summary: "Recent analyzer runs", responses: { "200": { description: "ok" } } },
      post: { summary: "Run the analyzer now; answers when done", security: bearer, responses: { "200": { description: "the run's summary" }, "401": { description: "no operator token" }, "409": { description: "no analyzer role in this process" } } },
    },
    "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "ok" } } } },
    "/readyz": { get: { summary: "Readiness", responses: { "200": { description: "ready" }, "503": { description: "not ready" } } } },
    "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "text" } } } },
  },
} as const;
