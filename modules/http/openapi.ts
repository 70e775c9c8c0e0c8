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
const operator = [{ operator: [] }];
// A viewer call also takes the operator token (OpenAPI lists alternatives as separate requirement objects).
const viewer = [{ viewer: [] }, { operator: [] }];
const ingest = [{ ingest: [] }];
const denied = {
  "401": { description: "No token, or an unknown or revoked one (WWW-Authenticate: Bearer); the error names the scope needed" },
  "403": { description: "A valid token of another scope; the error names the scope needed" },
};
const json = (schema: object) => ({ content: { "application/json": { schema } } });

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "acu", version: "0.1.0", description: "Exam report ingest, patrol alerts and analytics" },
  components: {
    securitySchemes: {
      ingest: { type: "http", scheme: "bearer", description: "Scope ingest: POST /api/reports (ACU_INGEST_TOKEN or `acu token create --scope ingest`)" },
      operator: { type: "http", scheme: "bearer", description: "Scope operator: threshold changes, analyzer runs, and every viewer call" },
      viewer: { type: "http", scheme: "bearer", description: "Scope viewer: analytics, alerts, thresholds, the live stream (WebSocket: header, or subprotocol acu.bearer.<token>)" },
    },
    schemas: { report, error } },
  paths: {
    "/api/reports": {
      post: {
        summary: "Ingest one report or an array of up to 1,000",
        security: ingest,
        requestBody: json({ oneOf: [report, { type: "array", items: report, minItems: 1, maxItems: 1000 }] }),
        responses: {
          "202": { description: "Every report is durably on the bus", ...json({ type: "object", properties: { accepted: { type: "integer" } } }) },
          "400": { description: "Not JSON, or invalid fields (named in issues); nothing accepted", ...json(error) },
          "413": { description: "Body over 1 MiB", ...json(error) },
          ...denied,
          "429": { description: "This token is over ACU_INGEST_RATE_LIMIT reports/s (per ingest process); retry after Retry-After seconds", ...json(error) },
          "503": { description: "The bus cannot take writes now; retry after Retry-After", ...json(error) },
        },
      },
    },
    "/api/thresholds": {
      get: { summary: "Thresholds, the default and the store revision", security: viewer, responses: { "200": { description: "ok" }, ...denied } },
      put: { summary: "Set the default threshold", security: operator, requestBody: json({ type: "object", properties: { default: { type: "integer", minimum: 0, maximum: 100 } } }), responses: { "200": { description: "ok" }, "400": { description: "bad value" }, ...denied } },
    },
    "/api/thresholds/{exerciseId}": {
      put: { summary: "Set an exercise's threshold (whole percent)", security: operator, requestBody: json({ type: "object", properties: { threshold: { type: "integer", minimum: 0, maximum: 100 } } }), responses: { "200": { description: "ok" }, "400": { description: "bad value" }, ...denied } },
      delete: { summary: "Remove an exercise's threshold (the default applies)", security: operator, responses: { "200": { description: "ok" }, ...denied } },
    },
    "/api/alerts": { get: { summary: "Recent deployment orders, newest first", security: viewer, parameters: [{ name: "exerciseId", in: "query" }, { name: "limit", in: "query" }], responses: { "200": { description: "ok" }, ...denied } } },
    "/api/alerts/stream": { get: { summary: "WebSocket: {type:'alert', alert, cursor} frames; reconnect with ?since=<cursor>. Token in Authorization: Bearer, or (browsers) as the subprotocol acu.bearer.<token>, which the server echoes", security: viewer, parameters: [{ name: "exerciseId", in: "query" }, { name: "since", in: "query" }], responses: { "101": { description: "switching protocols" }, ...denied, "429": { description: "this token already holds ACU_WS_PER_TOKEN streams" } } } },
    "/api/analytics/exercises": { get: { summary: "Reports and average score per exercise", security: viewer, responses: { "200": { description: "ok" }, ...denied } } },
    "/api/analytics/hotspots": { get: { summary: "Grid cells with the most failures for an exercise", security: viewer, parameters: [{ name: "exerciseId", in: "query", required: true }, { name: "limit", in: "query" }], responses: { "200": { description: "ok" }, "400": { description: "missing exerciseId" }, ...denied } } },
    "/api/analytics/regions": { get: { summary: "Per region: reports, average score, failures", security: viewer, parameters: [{ name: "exerciseId", in: "query" }], responses: { "200": { description: "ok" }, ...denied } } },
    "/api/analytics/runs": {
      get: { summary: "Recent analyzer runs", security: viewer, responses: { "200": { description: "ok" }, ...denied } },
      post: { summary: "Run the analyzer now; answers when done", security: operator, responses: { "200": { description: "the run's summary" }, ...denied, "409": { description: "no analyzer role in this process" } } },
    },
    "/healthz": { get: { summary: "Liveness (open, like /readyz, /metrics, the dashboard's files and this document)", responses: { "200": { description: "ok" } } } },
    "/readyz": { get: { summary: "Readiness", responses: { "200": { description: "ready" }, "503": { description: "not ready" } } } },
    "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "text" } } } },
  },
} as const;
