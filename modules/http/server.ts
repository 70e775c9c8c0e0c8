import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { ServerWebSocket } from "bun";
import { EXERCISE_ID_PATTERN } from "../../src/domain/threshold.ts";
import { bearerToken, protocolToken } from "../../src/domain/token.ts";
import { metrics } from "../../src/metrics.ts";
import type { Log, Running } from "../lifecycle.ts";
import { parseCursor, type AlertFeed, type FeedItem } from "./alert-feed.ts";
import { checkScope, requireScopes, type AuthEnv, type Authenticator } from "./auth.ts";

interface StreamClient {
  /** Id of the token the socket was opened with (counted against ACU_WS_PER_TOKEN). */
  tokenId: string;
  exerciseId: string | null;
  since: string | null;
  unsubscribe?: () => void;
  /** Closed for being too slow; its close callback has not run yet. */
  dropped?: boolean;
}

/** A client that does not read is dropped rather than buffered without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * One HTTP port for every route the process serves (ingest, API, dashboard) and the live alert stream
 * `WS /api/alerts/stream?exerciseId=&since=<cursor>`. Every request passes the scope check (auth.ts) first;
 * the stream takes its token from `Authorization: Bearer` or, for browsers, which cannot set headers on a
 * WebSocket, from the subprotocol `acu.bearer.<token>` — never from the query string, which ends up in logs.
 */
export function startHttpServer(deps: {
  port: number;
  hostname?: string;
  // biome-ignore lint/suspicious/noExplicitAny: route groups differ in their Env (AuthEnv, BlankEnv) and Hono's types are invariant in it
  routes: Hono<any>[];
  feed: AlertFeed | null;
  log: Log;
  auth: Authenticator;
  /** Concurrent alert-stream sockets per token. */
  wsPerToken: number;
}): Running & { port: number } {
  const { feed, log } = deps;
  const app = new Hono<AuthEnv>();
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
  app.use("*", requireScopes(deps.auth));
  for (const r of deps.routes) app.route("/", r);
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => {
    log.warn(`http: ${c.req.method} ${c.req.path} failed: ${e.message}`);
    return c.json({ error: "the service cannot answer this now; retry later" }, 503, { "Retry-After": "1" });
  });

  const clients = new Set<ServerWebSocket<StreamClient>>();
  /** Sockets per token id, counted from the upgrade (not from open) so a burst of upgrades cannot overshoot. */
  const perToken = new Map<string, number>();
  const release = (id: string) => {
    const n = (perToken.get(id) ?? 1) - 1;
    if (n <= 0) perToken.delete(id);
    else perToken.set(id, n);
  };
  const send = (ws: ServerWebSocket<StreamClient>, item: FeedItem) => {
    if (ws.data.dropped || (ws.data.exerciseId && item.order.exerciseId !== ws.data.exerciseId)) return;
    const buffered = ws.getBufferedAmount();
    if (buffered > MAX_BUFFERED) {
      ws.data.dropped = true;
      log.warn(`http: alert stream client of token ${ws.data.tokenId} too slow (${buffered} bytes unsent); closed with 1013`);
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
        const offered = protocolToken(req.headers.get("sec-websocket-protocol"));
        const auth = checkScope(deps.auth, "viewer", bearerToken(req.headers.get("authorization")) ?? offered?.token ?? null);
        if (!auth.ok) return Response.json(auth.body, { status: auth.status, headers: auth.headers });
        const tokenId = auth.principal!.id;
        if (!feed) return Response.json({ error: "the alert feed does not run in this process" }, { status: 404 });
        const exerciseId = url.searchParams.get("exerciseId") || null;
        if (exerciseId !== null && !EXERCISE_ID_PATTERN.test(exerciseId)) return Response.json({ error: "exerciseId must be 1–64 of letters, digits, '_', '.', '-'" }, { status: 400 });
        const since = url.searchParams.get("since");
        if (since !== null && !parseCursor(since, feed.cursor().split(".").length))
          return Response.json({ error: "since must be a cursor received from this stream" }, { status: 400 });
        const open = perToken.get(tokenId) ?? 0;
        if (open >= deps.wsPerToken)
          return Response.json({ error: `this token already holds ${open} alert streams, the most allowed (ACU_WS_PER_TOKEN); close one first` }, { status: 429, headers: { "Retry-After": "5" } });
        perToken.set(tokenId, open + 1);
        // RFC 6455: a server that accepts a subprotocol the client offered names it in the answer; browsers
        // drop the connection otherwise.
        const headers = offered ? { "Sec-WebSocket-Protocol": offered.protocol } : undefined;
        if (srv.upgrade(req, { data: { tokenId, exerciseId, since }, headers })) return undefined;
        release(tokenId);
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
        release(ws.data.tokenId);
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
