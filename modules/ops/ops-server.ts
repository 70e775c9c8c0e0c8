import { Hono } from "hono";
import { opsRoutes } from "../http/index.ts";
import type { Log, Running } from "../lifecycle.ts";
import type { Readiness } from "./readiness.ts";

/**
 * The ops port (--ops-port / ACU_OPS_PORT): /healthz, /readyz and /metrics in any process, whatever its
 * roles — alert, sink and analyzer processes have no other port. Open, like the same paths on the http
 * port: probes and Prometheus carry no token, and nothing here is secret. Opened before the roles start
 * and closed last, so that while starting and while draining /healthz answers 200 and /readyz 503.
 */
export function startOpsServer(deps: { port: number; hostname: string; readiness: Readiness; log: Log }): Running & { port: number } {
  const app = new Hono();
  app.route("/", opsRoutes({ ready: () => deps.readiness.state() }));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path} on the ops port (GET /healthz, /readyz, /metrics)` }, 404));
  app.onError((e, c) => {
    deps.log.warn(`ops: ${c.req.method} ${c.req.path} failed: ${e.message}`);
    return c.json({ error: "the service cannot answer this now; retry later" }, 503, { "Retry-After": "1" });
  });
  const server = Bun.serve({ port: deps.port, hostname: deps.hostname, idleTimeout: 30, fetch: app.fetch });
  deps.log.info(`ops: listening on http://${deps.hostname}:${server.port} (/healthz, /readyz, /metrics)`);
  return {
    name: "ops",
    port: server.port!,
    async stop() {
      await server.stop(true);
    },
  };
}
