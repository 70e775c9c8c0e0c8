import { z } from "zod";

/**
 * The history of the dispatch loop, one event per incident transition, as it travels on the bus
 * (`incident-events`, keyed by incidentId) and lands in the lake (`incidents/`). This file is the contract
 * between the dispatch role (which writes events) and the sink and analyzer (which read them).
 *
 * Exactly once in effect: an event's id is `${incidentId}:${seq}` with `seq` the incident's version after
 * the transition (1 = opened), so a relay that publishes an event twice (crash between publish and its
 * mark) publishes the same id, and readers keep the first.
 */

export const INCIDENT_STATES = ["open", "assigned", "acknowledged", "en-route", "on-site", "resolved", "cancelled"] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export const TERMINAL_STATES: readonly IncidentState[] = ["resolved", "cancelled"];

export const PATROL_STATUSES = ["off-duty", "available", "assigned", "en-route", "on-site"] as const;
export type PatrolStatus = (typeof PATROL_STATUSES)[number];

/** What happened. `timed-out` and `reassigned` take the incident back to `open` (and its patrol back to available). */
export const INCIDENT_EVENT_TYPES = [
  "opened",
  "order-attached",
  "assigned",
  "acknowledged",
  "en-route",
  "on-site",
  "resolved",
  "cancelled",
  "timed-out",
  "reassigned",
] as const;
export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];

export const PATROL_ID_PATTERN = /^[a-z0-9-]{1,32}$/;

const epochMs = z.number().int().nonnegative();

/**
 * The moment of each transition so far (epoch ms), carried by every event: a terminal event alone is enough
 * to compute an incident's response times, whichever lake files its earlier events landed in.
 */
export const incidentTimesSchema = z.object({
  openedAt: epochMs,
  assignedAt: epochMs.nullable(),
  acknowledgedAt: epochMs.nullable(),
  enRouteAt: epochMs.nullable(),
  onSiteAt: epochMs.nullable(),
  resolvedAt: epochMs.nullable(),
  cancelledAt: epochMs.nullable(),
});
export type IncidentTimes = z.infer<typeof incidentTimesSchema>;

export const incidentEventSchema = z.object({
  eventId: z.string().min(3).max(200),
  incidentId: z.string().min(1).max(160),
  seq: z.number().int().positive(),
  type: z.enum(INCIDENT_EVENT_TYPES),
  /** The incident's state after the event. */
  state: z.enum(INCIDENT_STATES),
  /** When the transition was made (epoch ms). */
  at: epochMs,
  studentId: z.string().min(1).max(64),
  /** The patrol holding the incident after the event (null when none). */
  patrolId: z.string().regex(PATROL_ID_PATTERN).nullable(),
  /** For `opened`/`order-attached`: the deployment order; else the incident's first order. */
  alertId: z.string().min(1).max(160),
  exerciseId: z.string().min(1).max(64),
  /** The lowest score of the incident's orders so far. */
  lowestScore: z.number().min(0).max(100),
  orders: z.number().int().positive(),
  region: z.string().min(1).max(64),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  times: incidentTimesSchema,
  /** The resolution note, or why it was cancelled / reassigned; "" when none. */
  note: z.string().max(2000),
  /** Who made the transition: a token id, `dispatch` (automatic), or `timeout`. */
  actor: z.string().min(1).max(100),
});
export type IncidentEvent = z.infer<typeof incidentEventSchema>;

export function incidentEventId(incidentId: string, seq: number): string {
  return `${incidentId}:${seq}`;
}

export function encodeIncidentEvent(e: IncidentEvent): string {
  return JSON.stringify(e);
}

/** Throws with the first problem named when the bytes are not an incident event. */
export function decodeIncidentEvent(bytes: Uint8Array | string): IncidentEvent {
  const text = typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes);
  const r = incidentEventSchema.safeParse(JSON.parse(text));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`not an incident event: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

/**
 * Response times of a finished incident, in whole seconds (null when the step never happened): from opened
 * to acknowledged, to on site, and to resolved. Whole seconds make the analytics exact and mergeable
 * (histograms), and are finer than any exam-day decision needs.
 */
export function responseSeconds(t: IncidentTimes): { acknowledge: number | null; onSite: number | null; resolve: number | null } {
  const s = (to: number | null) => (to === null ? null : Math.max(0, Math.floor((to - t.openedAt) / 1000)));
  return { acknowledge: s(t.acknowledgedAt), onSite: s(t.onSiteAt), resolve: s(t.resolvedAt) };
}
