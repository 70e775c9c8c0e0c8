import { z } from "zod";
import { PATROL_ID_PATTERN, type IncidentState, type PatrolStatus } from "./incident-event.ts";

/**
 * A patrol of assistants: a unit the dispatch role sends to a failing student. It holds at most one
 * incident at a time; its status follows that incident (assigned, en route, on site) and is `available`
 * when it holds none, `off-duty` when it takes no assignment.
 */
export interface Patrol {
  id: string;
  name: string;
  status: PatrolStatus;
  /** Last known position and when it was reported (epoch ms). */
  latitude: number;
  longitude: number;
  positionAt: number;
  /** The incident it holds, or null. */
  incidentId: string | null;
  /** When the status last changed (epoch ms). */
  since: number;
}

export const PATROL_NAME_MAX = 100;

/** Bounds as zod's own checks (not refinements), so the OpenAPI document made from these schemas states them too. */
const coordinate = (what: string, min: number, max: number) =>
  z
    .number({ error: (i) => (typeof i.input === "number" ? `${what} must be finite` : `${what} must be a number`) })
    .min(min, `${what} must be between ${min} and ${max}`)
    .max(max, `${what} must be between ${min} and ${max}`);

/** Length in code points, as JSON Schema counts (a name of emoji is not cut at half its limit). */
const codePoints = (s: string) => [...s].length;

export const patrolIdSchema = z
  .string({ error: "patrolId must be a string" })
  .regex(PATROL_ID_PATTERN, "patrolId must be 1 to 32 characters among a-z, 0-9 and '-'");

export const positionSchema = z.object({
  latitude: coordinate("latitude", -90, 90),
  longitude: coordinate("longitude", -180, 180),
});
export type PositionInput = z.infer<typeof positionSchema>;

/** The body of a patrol's registration (`PUT /api/patrols/{patrolId}`). */
export const patrolRegistrationSchema = positionSchema.extend({
  name: z
    .string({ error: "name must be a string" })
    .min(1, "name must not be empty")
    .regex(/\S/, "name must not be blank")
    .refine((s) => s.length <= PATROL_NAME_MAX || codePoints(s) <= PATROL_NAME_MAX, `name must be at most ${PATROL_NAME_MAX} characters`)
    // The refinement is invisible to JSON Schema: say it there too.
    .meta({ maxLength: PATROL_NAME_MAX }),
});
export type PatrolRegistration = z.infer<typeof patrolRegistrationSchema>;

/** The first problem of an input, named, or null when it is valid. */
export function problemOf(schema: z.ZodType, input: unknown): string | null {
  const r = schema.safeParse(input);
  if (r.success) return null;
  const i = r.error.issues[0]!;
  // The messages above name their field; zod's own (not an object at all) do not.
  return i.path.length === 0 ? `expected an object: ${i.message}` : i.message;
}

/**
 * Registers a new patrol, or updates one: name and position change; an off-duty patrol comes back
 * available, one holding an incident keeps its status (and incident).
 */
export function registerPatrol(existing: Patrol | null, id: string, input: PatrolRegistration, at: number): Patrol {
  const position = { latitude: input.latitude, longitude: input.longitude, positionAt: at };
  if (!existing) return { id, name: input.name, status: "available", ...position, incidentId: null, since: at };
  const back = existing.status === "off-duty";
  return { ...existing, name: input.name, ...position, status: back ? "available" : existing.status, since: back ? at : existing.since };
}

export type PatrolChange = { ok: true; patrol: Patrol } | { ok: false; reason: string };

/** Off duty: refused while the patrol holds an incident (it must be resolved, reassigned or cancelled first). */
export function patrolOffDuty(p: Patrol, at: number): PatrolChange {
  if (p.incidentId !== null) return { ok: false, reason: `patrol ${p.id} is ${p.status} on incident ${p.incidentId}: reassign or finish it first` };
  if (p.status === "off-duty") return { ok: true, patrol: p };
  return { ok: true, patrol: { ...p, status: "off-duty", since: at } };
}

export function movePatrol(p: Patrol, position: PositionInput, at: number): Patrol {
  return { ...p, latitude: position.latitude, longitude: position.longitude, positionAt: Math.max(at, p.positionAt) };
}

/** The status of a patrol holding an incident in this state. */
export function holderStatus(state: IncidentState): PatrolStatus {
  if (state === "en-route") return "en-route";
  if (state === "on-site") return "on-site";
  return "assigned";
}

/** Free to take an assignment. */
export function isAvailable(p: Patrol): boolean {
  return p.status === "available" && p.incidentId === null;
}
