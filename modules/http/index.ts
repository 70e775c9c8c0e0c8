export { AlertFeed, parseCursor, type FeedItem } from "./alert-feed.ts";
export { apiRoutes, opsRoutes, type AnalyticsApi, type ApiDeps } from "./api.ts";
export { startHttpServer } from "./server.ts";
export { authenticator, checkScope, neededScope, requireScopes, type AuthEnv, type Authenticator, type StaticTokenSpec } from "./auth.ts";
