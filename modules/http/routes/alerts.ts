import { z } from "@hono/zod-openapi";
import type { Server } from "bun";
import { protocolToken } from "../../../src/domain/token.ts";
import { parseCursor, type AlertFeed } from "../alert-feed.ts";
import type { AlertStream, StreamClient } from "../alert-stream.ts";
import type { SocketData } from "../stream-sockets.ts";
import { defineRoute, retryAfter, routeGroup } from "../route-table.ts";
import { errorSchema, exerciseFilterSchema, json, limitSchema } from "../schemas.ts";

export const deploymentOrderSchema = z
  .object({
    alertId: z.string(),
    reportId: z.string(),
    studentId: z.string(),
    exerciseId: z.string(),
    score: z.number(),
    threshold: z.number(),
    latitude: z.number(),
    longitude: z.number(),
    region: z.string(),
    reportedAt: z.number().meta({ description: "The report's timestamp, epoch ms" }),
    raisedAt: z.number().meta({ description: "When the order was raised, epoch ms" }),
  })
  .meta({ id: "DeploymentOrder", description: "A deployment order: send a patrol to this student" });

const CURSOR_MESSAGE = "since must be a cursor received from this stream";
const cursorSchema = z.string().meta({ description: "Resume point: the next offset of every partition of `alerts`, dot-separated", example: "12.40.7.0.3.9" });
const noFeed = { 404: { description: "The alert feed does not run in this process (no http role)", ...json(errorSchema) } } as const;

export const alertRoutes = {
  recent: defineRoute("viewer", {
    operationId: "getAlerts",
    method: "get",
    path: "/api/alerts",
    summary: "Recent deployment orders, newest first",
    tags: ["alerts"],
    request: { query: z.object({ exerciseId: exerciseFilterSchema, limit: limitSchema(100, 1000) }) },
    responses: {
      200: {
        description: "The newest orders kept and the cursor to stream from",
        ...json(z.object({ alerts: z.array(deploymentOrderSchema), cursor: cursorSchema })),
      },
      ...noFeed,
    },
  }),
  stream: defineRoute(
    "viewer",
    {
      operationId: "streamAlerts",
      method: "get",
      path: "/api/alerts/stream",
      summary: "Live deployment orders over WebSocket",
      description:
        "A WebSocket upgrade. Frames: `{type: 'alert', alert, cursor}` per order, `{type: 'hello', cursor}` once the replay from `since` is done, `{type: 'gap'}` when some orders since `since` are no longer kept. The token goes in `Authorization: Bearer`, or (browsers, which cannot set headers on a WebSocket) as the subprotocol `acu.bearer.<token>`, which the server names back; never in the query string. A client that stops reading is closed with 1013 once 4 MiB wait for it.",
      tags: ["alerts"],
      request: {
        query: z.object({
          exerciseId: exerciseFilterSchema,
          since: z
            .string({ error: CURSOR_MESSAGE })
            .regex(/^[0-9]{1,16}(?:\.[0-9]{1,16})*$/, CURSOR_MESSAGE)
            .optional()
            .meta({ description: "A cursor received from this stream or GET /api/alerts: replay what came after it" }),
        }),
        headers: z.object({
          "sec-websocket-protocol": z.string().optional().meta({ description: "`acu.bearer.<token>`: the token, for browsers" }),
        }),
      },
      responses: {
        101: { description: "Switching Protocols: the stream is open" },
        ...noFeed,
        426: { description: "Not a WebSocket upgrade request", ...json(errorSchema) },
        429: { description: "This token already holds ACU_WS_PER_TOKEN streams on this process; close one first", headers: retryAfter, ...json(errorSchema) },
      },
    },
    { tokenInSubprotocol: true },
  ),
};

/** GET /api/alerts: recent orders from the feed. */
export function alertsRoutes(deps: { feed: AlertFeed | null }) {
  const app = routeGroup();
  app.openapi(alertRoutes.recent.route, (c) => {
    if (!deps.feed) return c.json({ error: "the alert feed does not run in this process" }, 404);
    const { exerciseId, limit } = c.req.valid("query");
    return c.json({ alerts: deps.feed.recent(limit ?? 100, exerciseId || undefined), cursor: deps.feed.cursor() }, 200);
  });
  return app;
}

/** GET /api/alerts/stream: checks the request, then hands it to the stream for the upgrade. */
export function alertStreamRoutes(stream: AlertStream | null) {
  const app = routeGroup();
  app.openapi(alertRoutes.stream.route, (c) => {
    if (!stream) return c.json({ error: "the alert feed does not run in this process" }, 404);
    const { exerciseId, since } = c.req.valid("query");
    if (since !== undefined && !parseCursor(since, stream.feed.cursor().split(".").length)) return c.json({ error: CURSOR_MESSAGE }, 400);
    const client: StreamClient = { tokenId: c.get("principal")!.id, exerciseId: exerciseId || null, since: since ?? null };
    const offered = protocolToken(c.req.header("sec-websocket-protocol"));
    const r = stream.upgrade(c.env as Server<SocketData>, c.req.raw, client, offered?.protocol ?? null);
    if (!r.ok) return c.json({ error: r.error }, r.status, r.headers);
    c.set("upgraded", true);
    // Bun ignores the answer of a request it upgraded.
    return new Response(null) as never;
  });
  return app;
}
