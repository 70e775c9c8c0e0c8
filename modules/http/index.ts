export { AlertFeed, parseCursor, type FeedItem } from "./alert-feed.ts";
export { apiRoutes, opsRoutes, type AnalyticsApi, type ApiDeps } from "./api.ts";
export { startHttpServer } from "./server.ts";
