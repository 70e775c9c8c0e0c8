import { z } from "@hono/zod-openapi";
import type { Server } from "bun";
import type { Context } from "hono";
import { INCIDENT_STATES, type IncidentState } from "../../../src/domain/incident-event.ts";
import type { Incident } from "../../../src/domain/incident.ts";
import { protocolToken } from "../../../src/domain/token.ts";
import { INCIDENT_LIST_MAX, type DispatchService } from "../../dispatch/index.ts";
import { actingPatrol, type AuthEnv } from "../auth.ts";
import {
  conflict,
  dispatchFailure,
  incidentIdParam,
  incidentJson,
  incidentSchema,
  noteBody,
  notConfigured,
  notFound,
  readFailure,
  reassignBody,
} from "../dispatch-schemas.ts";
import type { DispatchStreams } from "../dispatch-streams.ts";
import { defineRoute, routeGroup } from "../route-table.ts";
import { json, limitSchema, readJson } from "../schemas.ts";
import type { SocketData } from "../stream-sockets.ts";
import { dispatchSinceSchema, streamResponses, subprotocolHeader } from "./patrols.ts";

const tags = ["incidents"];
const params = z.object({ incidentId: incidentIdParam });
const incident = (description: string) => ({ 200: { description, ...json(incidentSchema) } }) as const;

const STATE_MESSAGE = `state must be one or more of ${INCIDENT_STATES.join(", ")}, comma-separated`;
const stateFilter = z
  .string({ error: STATE_MESSAGE })
  .regex(new RegExp(`^(?:${INCIDENT_STATES.join("|")})(?:,(?:${INCIDENT_STATES.join("|")}))*$`), STATE_MESSAGE)
  .optional()
  .meta({ description: "Only incidents in these states (comma-separated); absent: every state", example: "open,assigned" });

/** A patrol's step on the incident it holds: the holder's token, or an operator's (for whichever patrol holds it). */
function step(operationId: string, what: string, summary: string, from: IncidentState, withNote = false) {
  return defineRoute(
    "patrol",
    {
      operationId,
      method: "post",
      path: `/api/incidents/{incidentId}/${what}`,
      summary: `${summary} (the holder's token, or an operator's)`,
      tags,
      request: { params },
      responses: { ...incident("The incident now"), ...notFound("incident"), ...conflict(`The incident is not ${from}`) },
    },
    withNote ? { patrol: "holder", body: noteBody, bodyOptional: true } : { patrol: "holder" },
  );
}

export const incidentRoutes = {
  acknowledge: step("acknowledgeIncident", "acknowledge", "Acknowledge an assignment", "assigned"),
  enRoute: step("incidentEnRoute", "en-route", "On the way", "acknowledged"),
  arrive: step("incidentArrived", "arrive", "On site", "en-route"),
  resolve: step("resolveIncident", "resolve", "Resolved, with a note", "on-site", true),
  reassign: defineRoute(
    "operator",
    {
      operationId: "reassignIncident",
      method: "post",
      path: "/api/incidents/{incidentId}/reassign",
      summary: "Take an incident from its patrol; with patrolId, give it to that patrol at once, else to the next nearest",
      tags,
      request: { params },
      responses: {
        ...incident("The incident now"),
        ...notFound("incident or patrol"),
        ...conflict("Closed, held by that patrol already, or that patrol is not available"),
      },
    },
    { body: reassignBody, bodyOptional: true },
  ),
  cancel: defineRoute(
    "operator",
    {
      operationId: "cancelIncident",
      method: "post",
      path: "/api/incidents/{incidentId}/cancel",
      summary: "Cancel an incident (its patrol, if any, is free again)",
      tags,
      request: { params },
      responses: { ...incident("The incident, cancelled"), ...notFound("incident"), ...conflict("The incident is closed already") },
    },
    { body: noteBody, bodyOptional: true },
  ),
  list: defineRoute("viewer", {
    operationId: "getIncidents",
    method: "get",
    path: "/api/incidents",
    summary: "Incidents, the most recently changed first",
    tags,
    request: { query: z.object({ state: stateFilter, limit: limitSchema(100, INCIDENT_LIST_MAX) }) },
    responses: { 200: { description: "The incidents", ...json(z.object({ incidents: z.array(incidentSchema) })) }, ...notFound(null) },
  }),
  // Before `get`: the table and the server match in this order, and `stream` is also a `{incidentId}`.
  stream: defineRoute(
    "viewer",
    {
      operationId: "streamIncidents",
      method: "get",
      path: "/api/incidents/stream",
      summary: "Every incident and patrol change over WebSocket",
      description:
        "A WebSocket upgrade. Frames: `{type: 'incident', incident, cursor}` and `{type: 'patrol', patrol, cursor}` (without `since`: the active incidents and every patrol first, as they are now), then `{type: 'hello', cursor}` once that or the replay from `since` is done; `{type: 'gap'}` when changes since `since` are no longer kept (the current state follows; closed incidents: GET /api/incidents). Reconnect with the last cursor received to miss nothing. Token: `Authorization: Bearer` or the subprotocol `acu.bearer.<token>`, never the query string. A client that stops reading is closed with 1013 once 4 MiB wait for it.",
      tags,
      request: { query: z.object({ since: dispatchSinceSchema }), headers: subprotocolHeader },
      responses: { ...streamResponses, ...notFound(null) },
    },
    { tokenInSubprotocol: true },
  ),
  get: defineRoute("viewer", {
    operationId: "getIncident",
    method: "get",
    path: "/api/incidents/{incidentId}",
    summary: "One incident",
    tags,
    request: { params },
    responses: { ...incident("The incident"), ...notFound("incident") },
  }),
};

/** Who made a change, for the incident's history: the token's id. */
const actor = (c: Context<AuthEnv>) => c.get("principal")?.id ?? "operator";

/** The incident routes but the stream: a patrol's steps, operators' reassign and cancel, reads for viewers. */
export function incidentsRoutes(deps: { dispatch: DispatchService | null }) {
  const app = routeGroup();
  const { dispatch } = deps;
  const answer = (c: Context<AuthEnv>, p: Promise<Incident>) =>
    p.then(
      (i) => c.json(incidentJson(i), 200),
      (e) => dispatchFailure(c, e),
    );
  const steps = [
    [incidentRoutes.acknowledge, (d: DispatchService, id: string, c: Context<AuthEnv>) => d.acknowledge(id, actingPatrol(c.get("principal")), actor(c))],
    [incidentRoutes.enRoute, (d: DispatchService, id: string, c: Context<AuthEnv>) => d.enRoute(id, actingPatrol(c.get("principal")), actor(c))],
    [incidentRoutes.arrive, (d: DispatchService, id: string, c: Context<AuthEnv>) => d.arrive(id, actingPatrol(c.get("principal")), actor(c))],
  ] as const;
  for (const [def, run] of steps)
    app.openapi(def.route, async (c) => (dispatch ? answer(c, run(dispatch, c.req.valid("param").incidentId, c)) : notConfigured(c)));
  app.openapi(incidentRoutes.resolve.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const b = await readJson(c, noteBody, { optional: true });
    if (!b.ok) return b.res;
    return answer(c, dispatch.resolve(c.req.valid("param").incidentId, actingPatrol(c.get("principal")), b.value.note ?? "", actor(c)));
  });
  app.openapi(incidentRoutes.reassign.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const b = await readJson(c, reassignBody, { optional: true });
    if (!b.ok) return b.res;
    return answer(c, dispatch.reassign(c.req.valid("param").incidentId, b.value.patrolId ?? null, { note: b.value.note ?? "", actor: actor(c) }));
  });
  app.openapi(incidentRoutes.cancel.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const b = await readJson(c, noteBody, { optional: true });
    if (!b.ok) return b.res;
    return answer(c, dispatch.cancel(c.req.valid("param").incidentId, b.value.note ?? "", actor(c)));
  });
  app.openapi(incidentRoutes.list.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    const { state, limit } = c.req.valid("query");
    const states = state ? [...new Set(state.split(",") as IncidentState[])] : undefined;
    return dispatch.listIncidents({ states, limit: limit ?? 100 }).then(
      (l) => c.json({ incidents: l.map(incidentJson) }, 200),
      (e) => readFailure(c, e),
    );
  });
  app.openapi(incidentRoutes.get.route, async (c) => {
    if (!dispatch) return notConfigured(c);
    return dispatch.getIncident(c.req.valid("param").incidentId).then(
      (i) => c.json(incidentJson(i), 200),
      (e) => readFailure(c, e),
    );
  });
  return app;
}

/** GET /api/incidents/stream: checks the request, then hands it to the streams for the upgrade. */
export function incidentStreamRoutes(streams: DispatchStreams | null) {
  const app = routeGroup();
  app.openapi(incidentRoutes.stream.route, (c) => {
    if (!streams) return notConfigured(c);
    const offered = protocolToken(c.req.header("sec-websocket-protocol"));
    const client = { tokenId: c.get("principal")!.id, since: c.req.valid("query").since ?? null };
    const r = streams.upgradeIncidents(c.env as Server<SocketData>, c.req.raw, client, offered?.protocol ?? null);
    if (!r.ok) return c.json({ error: r.error }, r.status, r.headers);
    c.set("upgraded", true);
    // Bun ignores the answer of a request it upgraded.
    return new Response(null) as never;
  });
  return app;
}
