import { z } from "@hono/zod-openapi";
import type { Server } from "bun";
import { patrolRegistrationSchema, positionSchema } from "../../../src/domain/patrol.ts";
import { protocolToken } from "../../../src/domain/token.ts";
import type { DispatchService } from "../../dispatch/index.ts";
import { conflict, dispatchFailure, notConfigured, readFailure, notFound, patrolIdParam, patrolJson, patrolSchema } from "../dispatch-schemas.ts";
import type { DispatchStreams } from "../dispatch-streams.ts";
import { defineRoute, retryAfter, routeGroup } from "../route-table.ts";
import { errorSchema, json, readJson } from "../schemas.ts";
import type { SocketData } from "../stream-sockets.ts";

const tags = ["patrols"];
const params = z.object({ patrolId: patrolIdParam });
// The domain's fields, in an object that names itself when the body is not one.
const registrationBody = z
  .object(patrolRegistrationSchema.shape, { error: 'the body must be a JSON object like {"name": "Team Lyon 2", "latitude": 45.76, "longitude": 4.83}' })
  .meta({ id: "PatrolRegistration" });
const positionBody = z
  .object(positionSchema.shape, { error: 'the body must be a JSON object like {"latitude": 45.76, "longitude": 4.83}' })
  .meta({ id: "Position" });
const patrol = (description: string) => ({ 200: { description, ...json(patrolSchema) } }) as const;

/** A stream's cursor: a frame's `cursor` (the dispatch store's revision, decimal). */
export const DISPATCH_CURSOR_MESSAGE = "since must be a cursor received from this stream";
export const dispatchSinceSchema = z
  .string({ error: DISPATCH_CURSOR_MESSAGE })
  .regex(/^[0-9]{1,15}$/, DISPATCH_CURSOR_MESSAGE)
  .optional()
  .meta({ description: "A cursor received from a dispatch stream (the store's revision): replay what came after it" });
export const streamResponses = {
  101: { description: "Switching Protocols: the stream is open" },
  426: { description: "Not a WebSocket upgrade request", ...json(errorSchema) },
  429: { description: "This token already holds ACU_WS_PER_TOKEN streams on this process; close one first", headers: retryAfter, ...json(errorSchema) },
} as const;
export const subprotocolHeader = z.object({
  "sec-websocket-protocol": z.string().optional().meta({ description: "`acu.bearer.<token>`: the token, for browsers" }),
});

export const patrolRoutes = {
  register: defineRoute(
    "operator",
    {
      operationId: "registerPatrol",
      method: "put",
      path: "/api/patrols/{patrolId}",
      summary: "Register or update a patrol (name, position); an off-duty patrol comes back available",
      tags,
      request: { params },
      responses: { ...patrol("The patrol now"), ...notFound("patrol") },
    },
    { body: registrationBody },
  ),
  offDuty: defineRoute("operator", {
    operationId: "patrolOffDuty",
    method: "delete",
    path: "/api/patrols/{patrolId}",
    summary: "Take a patrol off duty (refused while it holds an incident)",
    tags,
    request: { params },
    responses: { ...patrol("The patrol, off duty"), ...notFound("patrol"), ...conflict("The patrol holds an incident: reassign or finish it first") },
  }),
  list: defineRoute("viewer", {
    operationId: "getPatrols",
    method: "get",
    path: "/api/patrols",
    summary: "Every patrol with its status, position and incident",
    tags,
    responses: { 200: { description: "By id", ...json(z.object({ patrols: z.array(patrolSchema) })) }, ...notFound(null) },
  }),
  position: defineRoute(
    "patrol",
    {
      operationId: "reportPatrolPosition",
      method: "post",
      path: "/api/patrols/{patrolId}/position",
      summary: "A patrol's position (that patrol's token, or an operator's)",
      tags,
      request: { params },
      responses: { ...patrol("The patrol now"), ...notFound("patrol") },
    },
    { body: positionBody, patrol: "path" },
  ),
  stream: defineRoute(
    "patrol",
    {
      operationId: "streamPatrol",
      method: "get",
      path: "/api/patrols/{patrolId}/stream",
      summary: "A patrol's assignment and its changes over WebSocket (that patrol's token, or an operator's)",
      description:
        "A WebSocket upgrade. At once `{type: 'assignment', incident: Incident|null, patrol: Patrol, cursor}` (its current assignment), then `{type: 'incident', incident, cursor}` on every change of an incident it holds or held (a reassignment away ends with the incident showing another patrolId, or none), `{type: 'patrol', patrol, cursor}` when the patrol itself changes, and `{type: 'hello', cursor}` once the replay from `since` is done; `{type: 'gap'}` when changes since `since` are no longer kept (the assignment frame is the current state). Reconnect with the last cursor received: the first frame is again the current assignment, then what was missed. Token: `Authorization: Bearer` or the subprotocol `acu.bearer.<token>`, never the query string. A client that stops reading is closed with 1013 once 4 MiB wait for it.",
      tags,
      request: { params, query: z.object({ since: dispatchSinceSchema }), headers: subprotocolHeader },
      responses: { ...streamResponses, ...notFound("patrol") },
    },
    { tokenInSubprotocol: true, patrol: "path" },
  ),
};

/** PUT/DELETE /api/patrols/{patrolId} (operators), GET /api/patrols (viewers), POST …/position (that patrol or an operator). */
export function patrolsRoutes(deps: { dispatch: DispatchService | null }) {
  const app = routeGroup();
  const { dispatch } = deps;
  app.openapi(patrolRoutes.register.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const b = await readJson(c, registrationBody);
    if (!b.ok) return b.res;
    const { name, latitude, longitude } = b.value;
    return dispatch.registerPatrol(c.req.valid("param").patrolId, name, latitude, longitude).then(
      (p) => c.json(patrolJson(p), 200),
      (e) => readFailure(c, e),
    );
  });
  app.openapi(patrolRoutes.offDuty.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    return dispatch.offDuty(c.req.valid("param").patrolId).then(
      (p) => c.json(patrolJson(p), 200),
      (e) => dispatchFailure(c, e),
    );
  });
  app.openapi(patrolRoutes.list.route, (c) => (dispatch ? c.json({ patrols: dispatch.listPatrols().map(patrolJson) }, 200) : notConfigured(c)));
  app.openapi(patrolRoutes.position.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const b = await readJson(c, positionBody);
    if (!b.ok) return b.res;
    return dispatch.position(c.req.valid("param").patrolId, b.value.latitude, b.value.longitude).then(
      (p) => c.json(patrolJson(p), 200),
      (e) => readFailure(c, e),
    );
  });
  return app;
}

/** GET /api/patrols/{patrolId}/stream: checks the request (the patrol exists), then hands it to the streams for the upgrade. */
export function patrolStreamRoutes(streams: DispatchStreams | null) {
  const app = routeGroup();
  app.openapi(patrolRoutes.stream.route, async (c) => {
    if (!streams) return notConfigured(c);
    const { patrolId } = c.req.valid("param");
    const known = await streams.dispatch.getPatrol(patrolId).then(
      (patrol) => ({ ok: true as const, patrol }),
      (e) => ({ ok: false as const, res: readFailure(c, e) }),
    );
    if (!known.ok) return known.res;
    const offered = protocolToken(c.req.header("sec-websocket-protocol"));
    const client = { tokenId: c.get("principal")!.id, since: c.req.valid("query").since ?? null, patrol: known.patrol };
    const r = streams.upgradePatrol(c.env as Server<SocketData>, c.req.raw, client, offered?.protocol ?? null);
    if (!r.ok) return c.json({ error: r.error }, r.status, r.headers);
    c.set("upgraded", true);
    // Bun ignores the answer of a request it upgraded.
    return new Response(null) as never;
  });
  return app;
}
