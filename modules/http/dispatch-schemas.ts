import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  DispatchConflictError,
  DispatchForbiddenError,
  DispatchInputError,
  DispatchNotFoundError,
  DispatchUnavailableError,
} from "../../src/domain/dispatch-errors.ts";
import { INCIDENT_STATES, PATROL_STATUSES } from "../../src/domain/incident-event.ts";
import type { Incident } from "../../src/domain/incident.ts";
import { patrolIdSchema, type Patrol } from "../../src/domain/patrol.ts";
import { placeOf } from "../../src/domain/regions.ts";
import { errorSchema, json } from "./schemas.ts";

/**
 * The dispatch API's JSON (patrols, incidents, their errors), shared by the patrol and incident route
 * groups and their streams: one schema per object, and the one mapping from the domain to it.
 */

const epochMs = z.number().int().min(0);

export const patrolSchema = z
  .object({
    patrolId: z.string().meta({ example: "p-07" }),
    name: z.string(),
    status: z.enum(PATROL_STATUSES),
    latitude: z.number(),
    longitude: z.number(),
    positionAt: epochMs.meta({ description: "When the position was last reported, epoch ms" }),
    incidentId: z.string().nullable().meta({ description: "The incident it holds, or null" }),
    since: epochMs.meta({ description: "When the status last changed, epoch ms" }),
  })
  .meta({ id: "Patrol", description: "A patrol of assistants" });
export type PatrolJson = z.infer<typeof patrolSchema>;

const nullableMs = epochMs.nullable();
export const incidentSchema = z
  .object({
    incidentId: z.string(),
    studentId: z.string(),
    state: z.enum(INCIDENT_STATES),
    patrolId: z.string().nullable().meta({ description: "The patrol holding it (assigned up to on-site), else null" }),
    exerciseId: z.string().meta({ description: "The first order's exercise" }),
    lowestScore: z.number().meta({ description: "The lowest score of its orders" }),
    orderCount: z.number().int().min(1).meta({ description: "Every deployment order of the student it holds" }),
    alertIds: z.array(z.string()).meta({ description: "The first order's alertId and the most recent ones (at most 20)" }),
    raisedAt: epochMs.meta({ description: "When the alert role raised its first order, epoch ms: the start of the response" }),
    latitude: z.number(),
    longitude: z.number(),
    region: z.string(),
    place: z.string().meta({ description: "The nearest catalogue city (within the region radius), else `unknown`", example: "Lyon" }),
    times: z
      .object({
        openedAt: epochMs,
        assignedAt: nullableMs,
        acknowledgedAt: nullableMs,
        enRouteAt: nullableMs,
        onSiteAt: nullableMs,
        resolvedAt: nullableMs,
        cancelledAt: nullableMs,
      })
      .meta({ description: "Epoch ms of each step of the current run (a return to open clears those after openedAt)" }),
    note: z.string().meta({ description: "The resolution note, or why it was cancelled" }),
    revision: z.number().int().min(1).meta({
      description:
        "Transitions made: 1 when opened, one more per step; one commit may make several (opened and assigned at once when a patrol is free), so a stream shows each commit, not each number",
    }),
    updatedAt: epochMs.meta({ description: "When it last changed, epoch ms" }),
  })
  .meta({ id: "Incident", description: "One failing student to be visited by one patrol" });
export type IncidentJson = z.infer<typeof incidentSchema>;

export function patrolJson(p: Patrol): PatrolJson {
  return {
    patrolId: p.id,
    name: p.name,
    status: p.status,
    latitude: p.latitude,
    longitude: p.longitude,
    positionAt: p.positionAt,
    incidentId: p.incidentId,
    since: p.since,
  };
}

export function incidentJson(i: Incident): IncidentJson {
  const alertIds = i.orders.map((o) => o.alertId);
  if (!alertIds.includes(i.firstAlertId)) alertIds.unshift(i.firstAlertId);
  return {
    incidentId: i.id,
    studentId: i.studentId,
    state: i.state,
    patrolId: i.patrolId,
    exerciseId: i.exerciseId,
    lowestScore: i.lowestScore,
    orderCount: i.orderCount,
    alertIds,
    raisedAt: i.orders[0]!.raisedAt,
    latitude: i.latitude,
    longitude: i.longitude,
    region: i.region,
    place: placeOf(i.latitude, i.longitude),
    times: { ...i.times },
    note: i.note,
    revision: i.seq,
    updatedAt: i.updatedAt,
  };
}

// ---- parameters and bodies ---------------------------------------------------------------------------

const PATROL_ID_RULE = "1 to 32 characters among a-z, 0-9 and '-'";
export const patrolIdParam = patrolIdSchema.meta({ description: `Patrol id: ${PATROL_ID_RULE}`, example: "p-07" });

const INCIDENT_ID_MESSAGE = "incidentId must be 1 to 160 of letters, digits, '.', '_' and '-'";
export const incidentIdParam = z
  .string({ error: INCIDENT_ID_MESSAGE })
  .regex(/^[A-Za-z0-9._-]{1,160}$/, INCIDENT_ID_MESSAGE)
  .meta({ description: "Incident id (`inc-` and 32 hex digits)", example: "inc-0f3a9c2e41d57b6a8c9d0e1f2a3b4c5d" });

/** Notes through the API: at most 1000 characters (code points, as JSON Schema counts; within the domain's 2000 UTF-16 units). */
export const API_NOTE_MAX = 1000;
const noteSchema = z
  .string({ error: "note must be a string" })
  .refine((s) => s.length <= API_NOTE_MAX || [...s].length <= API_NOTE_MAX, `note must be at most ${API_NOTE_MAX} characters`)
  .meta({ maxLength: API_NOTE_MAX, description: `At most ${API_NOTE_MAX} characters` });

export const noteBody = z.object({ note: noteSchema.optional() }, { error: 'the body must be a JSON object like {"note": "…"}' });
export const reassignBody = z.object(
  {
    patrolId: patrolIdSchema.optional().meta({ description: "Give it to this patrol at once; without, the assigner gives it to the next nearest" }),
    note: noteSchema.optional(),
  },
  { error: 'the body must be a JSON object like {"patrolId": "p-07"} or {}' },
);

// ---- answers -----------------------------------------------------------------------------------------

export const conflictSchema = z
  .object({
    error: z.string(),
    state: z.enum([...INCIDENT_STATES, ...PATROL_STATUSES.filter((s) => !(INCIDENT_STATES as readonly string[]).includes(s))]).meta({
      description: "The current state of the incident, or the status of the patrol, that refused it",
    }),
  })
  .meta({ id: "DispatchConflict" });

const NOT_CONFIGURED = "dispatch is not configured in this process";
/** The 404 of a dispatch route: no such `what` (null: nothing to look up), or no dispatch in this process. */
export const notFound = (what: string | null) =>
  ({ 404: { description: what ? `No such ${what}, or ${NOT_CONFIGURED}` : "Dispatch is not configured in this process", ...json(errorSchema) } }) as const;
export const conflict = (when: string) => ({ 409: { description: `${when}; the body names the current state`, ...json(conflictSchema) } }) as const;

/**
 * The answer of a refused dispatch read or change that cannot conflict: not found 404, bad input 400,
 * store unavailable 503 (dispatch-errors.ts); anything else is rethrown (the server answers 503).
 */
export function readFailure(c: Context, e: unknown) {
  if (e instanceof DispatchNotFoundError) return c.json({ error: e.message }, 404);
  if (e instanceof DispatchInputError) return c.json({ error: e.message }, 400);
  if (e instanceof DispatchUnavailableError) return c.json({ error: e.message }, 503, { "Retry-After": "1" });
  throw e;
}

/** The answer of a refused transition: as readFailure, and a conflict 409 with the current state, another patrol's incident 403. */
export function dispatchFailure(c: Context, e: unknown) {
  if (e instanceof DispatchConflictError) return c.json({ error: e.message, state: e.state }, 409);
  if (e instanceof DispatchForbiddenError) return c.json({ error: e.message, scope: "patrol" as const }, 403);
  return readFailure(c, e);
}

/** The 404 of a process without a dispatch service. */
export const notConfigured = (c: Context) => c.json({ error: NOT_CONFIGURED }, 404);
