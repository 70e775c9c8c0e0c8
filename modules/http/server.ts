import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { ServerWebSocket } from "bun";
import { EXERCISE_ID_PATTERN } from "../../src/domain/threshold.ts";
import { metrics } from "../../src/metrics.ts";
import type { Log, Running } from "../lifecycle.ts";
import { parseCursor, type AlertFeed, type FeedItem } from "./alert-feed.ts";

interface StreamClient {
  exerciseId: string | null;
  since: string | null;
  unsubscribe?: () => void;
}

/** A client that does not read is dropped rather than buffered without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * One HTTP port for every route the process serves (ingest, API, dashboard) and the live alert stream
 * `WS /api/alerts/stream?exerciseId=&since=<cursor>`.
 */
export function startHttpServer(deps: { port: number; hostname?: string; routes: Hono[]; feed: AlertFeed | null; log: Log }): Running & { port: number } {
  const { feed, log } = deps;
  const app = new Hono();
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
  for (const r of deps.routes) app.route("/", r);
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => {
    log(`http: ${c.req.method} ${c.req.path} failed: ${e.message}`);
    return c.json({ error: "the service cannot answer this now; retry later" }, 503, { "Retry-After": "1" });
  });

  const clients = new Set<ServerWebSocket<StreamClient>>();
  const send = (ws: ServerWebSocket<StreamClient>, item: FeedItem) => {
    if (ws.data.exerciseId && item.order.exerciseId !== ws.data.exerciseId) return;
    if (ws.getBufferedAmount() > MAX_BUFFERED) {
      ws.close(1013, "client too slow; reconnect with ?since=<cursor>");
      return;
    }
    ws.send(JSON.stringify({ type: "alert", alert: item.order, cursor: item.cursor }));
  };

  const server = Bun.serve<StreamClient>({
    port: deps.port,
    hostname: deps.hostname ?? "127.0.0.1",
    idleTimeout: 30,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/api/alerts/stream") {
        if (!feed) return Response.json({ error: "the alert feed does not run in this process" }, { status: 404 });
        const exerciseId = url.searchParams.get("exerciseId") || null;
        if (exerciseId !== null && !EXERCISE_ID_PATTERN.test(exerciseId)) return Response.json({ error: "exerciseId must be 1–64 of letters, digits, '_', '.', '-'" }, { status: 400 });
        const since = url.searchParams.get("since");
        if (since !== null && !parseCursor(since, feed.cursor().split(".").length))
          return Response.json({ error: "since must be a cursor received from this stream" }, { status: 400 });
        if (srv.upgrade(req, { data: { exerciseId, since } })) return undefined;
        return Response.json({ error: "this endpoint speaks WebSocket: send an Upgrade request" }, { status: 426 });
      }
      return app.fetch(req, srv);
    },
    websocket: {
      open(ws) {
        clients.add(ws);
        metrics.wsClients.set(clients.size);
        // Subscribe before replaying so nothing arriving in between is missed; duplicates are cut by offset.
        const pending: FeedItem[] = [];
        let replaying = true;
        ws.data.unsubscribe = feed!.subscribe((item) => (replaying ? pending.push(item) : send(ws, item)));
        const { items, gap } = feed!.since(ws.data.since);
        if (gap) ws.send(JSON.stringify({ type: "gap", message: "some alerts since this cursor are no longer kept; see GET /api/alerts" }));
        const last = new Map<number, number>();
        for (const it of items) {
          send(ws, it);
          last.set(it.partition, it.offset);
        }
        for (const it of pending) if (it.offset > (last.get(it.partition) ?? -1)) send(ws, it);
        replaying = false;
        ws.send(JSON.stringify({ type: "hello", cursor: feed!.cursor() }));
      },
      message() {},
      close(ws) {
        ws.data.unsubscribe?.();
        clients.delete(ws);
        metrics.wsClients.set(clients.size);
      },
    },
  });

  return {
    name: "http",
    port: server.port!,
    async stop() {
      // Stop accepting; let in-flight requests finish.
      for (const ws of clients) ws.close(1001, "server shutting down");
      await server.stop(false);
    },
  };
}
