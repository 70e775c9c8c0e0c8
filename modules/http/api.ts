import type { Logger } from "../../src/log.ts";
import type { ThresholdStore } from "../../src/ports/thresholds.ts";
import type { DispatchService } from "../dispatch/index.ts";
import type { AlertFeed } from "./alert-feed.ts";
import { routeGroup } from "./route-table.ts";
import { alertsRoutes } from "./routes/alerts.ts";
import { analyticsGroupRoutes, type AnalyticsApi } from "./routes/analytics.ts";
import { dashboardGroupRoutes, type Dashboard } from "./routes/dashboard.ts";
import { incidentsRoutes } from "./routes/incidents.ts";
import { patrolsRoutes } from "./routes/patrols.ts";
import { thresholdsRoutes } from "./routes/thresholds.ts";

export { opsRoutes } from "./routes/ops.ts";
export type { AnalyticsApi } from "./routes/analytics.ts";

export interface ApiDeps {
  thresholds: ThresholdStore;
  feed: AlertFeed | null;
  analytics: AnalyticsApi | null;
  dashboard: Dashboard;
  /** Patrols and incidents; null: their routes answer 404 (dispatch is not configured in this process). */
  dispatch?: DispatchService | null;
  /** Where the audit lines of threshold changes go. */
  log: Logger;
}

/**
 * The API and the dashboard's files of the http role: the thresholds, alerts, analytics, patrols,
 * incidents and dashboard groups (routes/). Scopes are checked before any of them runs, by the
 * server's middleware, from the scope each route declares (route-table.ts).
 */
export function apiRoutes(deps: ApiDeps) {
  return routeGroup()
    .route("/", thresholdsRoutes({ thresholds: deps.thresholds, log: deps.log }))
    .route("/", alertsRoutes({ feed: deps.feed }))
    .route("/", analyticsGroupRoutes({ analytics: deps.analytics }))
    .route("/", patrolsRoutes({ dispatch: deps.dispatch ?? null }))
    .route("/", incidentsRoutes({ dispatch: deps.dispatch ?? null }))
    .route("/", dashboardGroupRoutes(deps.dashboard));
}
