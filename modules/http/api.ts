import type { Logger } from "../../src/log.ts";
import type { ThresholdStore } from "../../src/ports/thresholds.ts";
import type { AlertFeed } from "./alert-feed.ts";
import { routeGroup } from "./route-table.ts";
import { alertsRoutes } from "./routes/alerts.ts";
import { analyticsGroupRoutes, type AnalyticsApi } from "./routes/analytics.ts";
import { dashboardGroupRoutes, type Dashboard } from "./routes/dashboard.ts";
import { thresholdsRoutes } from "./routes/thresholds.ts";

export { opsRoutes } from "./routes/ops.ts";
export type { AnalyticsApi } from "./routes/analytics.ts";

export interface ApiDeps {
  thresholds: ThresholdStore;
  feed: AlertFeed | null;
  analytics: AnalyticsApi | null;
  dashboard: Dashboard;
  /** Where the audit lines of threshold changes go. */
  log: Logger;
}

/**
 * The API and the dashboard's files of the http role: the thresholds, alerts, analytics and dashboard
 * groups (routes/). Scopes are checked before any of them runs, by the server's middleware, from the
 * scope each route declares (route-table.ts).
 */
export function apiRoutes(deps: ApiDeps) {
  return routeGroup()
    .route("/", thresholdsRoutes({ thresholds: deps.thresholds, log: deps.log }))
    .route("/", alertsRoutes({ feed: deps.feed }))
    .route("/", analyticsGroupRoutes({ analytics: deps.analytics }))
    .route("/", dashboardGroupRoutes(deps.dashboard));
}
