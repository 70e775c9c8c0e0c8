import { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { metrics } from "../../src/metrics.ts";
import type { DispatchService } from "../dispatch/index.ts";
import type { Log, Running } from "../lifecycle.ts";
import { accessLog } from "./access-log.ts";
import type { AlertFeed } from "./alert-feed.ts";
import { AlertStream } from "./alert-stream.ts";
import { requireScopes, type AuthEnv, type Authenticator } from "./auth.ts";
import { DispatchStreams } from "./dispatch-streams.ts";
import type { RouteTable } from "./route-table.ts";
import { alertStreamRoutes } from "./routes/alerts.ts";
import { incidentStreamRoutes } from "./routes/incidents.ts";
import { patrolStreamRoutes } from "./routes/patrols.ts";
import { routeTable } from "./routes/table.ts";
import { StreamSockets, type SocketData } from "./stream-sockets.ts";

/**
 * The HTTP app every request of the port goes through: the access log, security headers, the scope check
 * its route declares, then the route groups. In-process tests call it with `app.request()`.
 */
// biome-ignore lint/suspicious/noExplicitAny: route groups differ in their Env (AuthEnv, BlankEnv) and Hono's types are invariant in it
export function httpApp(deps: { routes: Hono<any>[]; auth: Authenticator; log: Log; table?: RouteTable }): Hono<AuthEnv> {
  const { log } = deps;
  const app = new OpenAPIHono<AuthEnv>();
  app.use("*", accessLog(log));
  // Security headers on every answer. No CORS headers are sent: browsers refuse cross-origin reads, so
  // only the dashboard served here (same origin) can call the API. Style attributes are allowed for the
  // chart bars; scripts only from this origin.
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use("*", requireScopes(deps.auth, deps.table ?? routeTable()));
  for (const r of deps.routes) app.route("/", r);
  app.notFound((c) => {
    // A known path asked with another method: 405 naming the methods it has (a route of a role this
    // process does not run is "no route" like any other).
    const m = c.get("route");
    if (m && !m.def && m.allow.length > 0)
      return c.json({ error: `method ${c.req.method} not allowed; use ${m.allow.join(" or ")}` }, 405, { Allow: m.allow.join(", ") });
    return c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404);
  });
  app.onError((e, c) => {
    log.warn(`http: ${c.req.method} ${c.get("route")?.def?.route.path ?? "unmatched"} failed: ${e.message}`);
    return c.json({ error: "the service cannot answer this now; retry later" }, 503, { "Retry-After": "1" });
  });
  return app;
}

/**
 * One HTTP port for every route the process serves (ingest, API, dashboard, probes) and the live streams:
 * alerts (routes/alerts.ts), incidents and patrols' (routes/incidents.ts, patrols.ts), whose sockets
 * StreamSockets keeps.
 */
export function startHttpServer(deps: {
  port: number;
  hostname?: string;
  // biome-ignore lint/suspicious/noExplicitAny: route groups differ in their Env (AuthEnv, BlankEnv) and Hono's types are invariant in it
  routes: Hono<any>[];
  feed: AlertFeed | null;
  /** The dispatch service of the incident and patrol streams; null: they answer 404. */
  dispatch?: DispatchService | null;
  log: Log;
  auth: Authenticator;
  /** Concurrent stream sockets per token. */
  wsPerToken: number;
}): Running & { port: number } {
  const sockets = new StreamSockets(deps.wsPerToken, deps.log, streamGauge);
  const alerts = deps.feed ? new AlertStream(deps.feed, sockets) : null;
  const dispatch = deps.dispatch ? new DispatchStreams(deps.dispatch, sockets) : null;
  // The streams first: `/api/incidents/stream` is also a `/api/incidents/{incidentId}`.
  const streams = [alertStreamRoutes(alerts), incidentStreamRoutes(dispatch), patrolStreamRoutes(dispatch)];
  const app = httpApp({ routes: [...streams, ...deps.routes], auth: deps.auth, log: deps.log });
  const server = Bun.serve<SocketData>({
    port: deps.port,
    hostname: deps.hostname ?? "127.0.0.1",
    idleTimeout: 30,
    fetch: (req, srv) => app.fetch(req, srv),
    websocket: sockets.websocket,
  });
  return {
    name: "http",
    port: server.port!,
    async stop() {
      // Stop accepting; let in-flight requests finish.
      sockets.closeAll();
      await server.stop(false);
    },
  };
}

function streamGauge(stream: string, open: number): void {
  if (stream === "alert") metrics.wsClients.set(open);
  else metrics.dispatchStreamClients.set({ stream }, open);
}
