import { z } from "@hono/zod-openapi";
import { defineRoute, routeGroup } from "../route-table.ts";
import { errorSchema, json } from "../schemas.ts";

/** The dashboard's page and its files, as embedded in the program. */
export interface Dashboard {
  html: string;
  /** The patrol's phone page (`/patrol`). */
  patrolHtml: string;
  assets: Record<string, { body: string; type: string }>;
}

const text = (types: string[]) => ({ content: Object.fromEntries(types.map((t) => [t, { schema: z.string() }])) });

export const dashboardRoutes = {
  page: defineRoute(null, {
    operationId: "getDashboard",
    method: "get",
    path: "/",
    summary: "The dashboard (open: it asks for a token itself)",
    tags: ["dashboard"],
    responses: { 200: { description: "The page", ...text(["text/html"]) } },
  }),
  patrolPage: defineRoute(null, {
    operationId: "getPatrolPage",
    method: "get",
    path: "/patrol",
    summary: "The patrol's phone page (open: it takes its patrol token from the URL fragment)",
    tags: ["dashboard"],
    responses: { 200: { description: "The page", ...text(["text/html"]) } },
  }),
  asset: defineRoute(null, {
    operationId: "getDashboardAsset",
    method: "get",
    path: "/assets/{name}",
    summary: "A file of the dashboard: its script or its stylesheet",
    tags: ["dashboard"],
    request: { params: z.object({ name: z.string().meta({ example: "app.js" }) }) },
    responses: {
      200: { description: "The file", ...text(["text/javascript", "text/css"]) },
      404: { description: "No such file", ...json(errorSchema) },
    },
  }),
};

/** GET /, GET /patrol and GET /assets/{name}: open, like the probes. */
export function dashboardGroupRoutes(dashboard: Dashboard) {
  const app = routeGroup();
  app.openapi(dashboardRoutes.page.route, (c) => c.html(dashboard.html, 200));
  app.openapi(dashboardRoutes.patrolPage.route, (c) => c.html(dashboard.patrolHtml, 200));
  app.openapi(dashboardRoutes.asset.route, (c) => {
    const a = Object.hasOwn(dashboard.assets, c.req.valid("param").name) ? dashboard.assets[c.req.valid("param").name] : undefined;
    return a ? c.body(a.body, 200, { "Content-Type": a.type }) : c.json({ error: "no such asset" }, 404);
  });
  return app;
}
