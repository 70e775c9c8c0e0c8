export { AlertFeed, parseCursor, type FeedItem } from "./alert-feed.ts";
export { apiRoutes, opsRoutes, type AnalyticsApi, type ApiDeps } from "./api.ts";
export { httpApp, startHttpServer } from "./server.ts";
export { authenticator, checkScope, requireScopes, type AuthEnv, type Authenticator, type StaticTokenSpec } from "./auth.ts";
export { openApiDocument } from "./openapi.ts";
export { routeTable } from "./routes/table.ts";
