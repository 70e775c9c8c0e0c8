import { reportRoutes } from "../../ingest/ingest.ts";
import { RouteTable } from "../route-table.ts";
import { alertRoutes } from "./alerts.ts";
import { analyticsRoutes } from "./analytics.ts";
import { dashboardRoutes } from "./dashboard.ts";
import { incidentRoutes } from "./incidents.ts";
import { opsRouteDefs } from "./ops.ts";
import { patrolRoutes } from "./patrols.ts";
import { thresholdRoutes } from "./thresholds.ts";

let table: RouteTable | undefined;

/**
 * Every route acu serves, by group: what the server's scope check reads and what the OpenAPI document is
 * made of. Built on first use (the groups import the document, which imports this).
 */
export function routeTable(): RouteTable {
  return (table ??= new RouteTable(
    [reportRoutes, thresholdRoutes, alertRoutes, analyticsRoutes, patrolRoutes, incidentRoutes, opsRouteDefs, dashboardRoutes].flatMap((group) =>
      Object.values(group),
    ),
  ));
}
