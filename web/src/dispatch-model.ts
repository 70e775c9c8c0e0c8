/** The dispatch loop's objects as the API serves them (docs/api.md), and the pure rules the pages apply to them. */
import type { IncidentState, IncidentTimes, PatrolStatus } from "../../src/domain/incident-event.ts";

export type { IncidentState, PatrolStatus } from "../../src/domain/incident-event.ts";

// The domain's lists, typed against its types (its module brings zod along, which the page does not need):
// a Record names every state, so a state added there fails to compile here until the page knows it.
const STATE_ORDER: Record<IncidentState, number> = { open: 0, assigned: 1, acknowledged: 2, "en-route": 3, "on-site": 4, resolved: 5, cancelled: 6 };
const STATUS_ORDER: Record<PatrolStatus, number> = { available: 0, assigned: 1, "en-route": 2, "on-site": 3, "off-duty": 4 };
const byOrder = <K extends string>(o: Record<K, number>) => (Object.keys(o) as K[]).sort((a, b) => o[a] - o[b]);
export const INCIDENT_STATES: readonly IncidentState[] = byOrder(STATE_ORDER);
export const PATROL_STATUSES: readonly PatrolStatus[] = byOrder(STATUS_ORDER);
export const isTerminal = (s: IncidentState) => s === "resolved" || s === "cancelled";

export interface Patrol {
  patrolId: string;
  name: string;
  status: PatrolStatus;
  latitude: number;
  longitude: number;
  positionAt: number;
  incidentId: string | null;
}

export interface Incident {
  incidentId: string;
  studentId: string;
  state: IncidentState;
  patrolId: string | null;
  exerciseId: string;
  lowestScore: number;
  orderCount: number;
  alertIds: string[];
  latitude: number;
  longitude: number;
  region: string;
  place: string;
  times: IncidentTimes;
  note: string;
  revision: number;
}

export type ResponseStep = "acknowledge" | "onSite" | "resolve";
export interface ResponseTime {
  region: string;
  step: ResponseStep;
  count: number;
  /** Seconds. */
  p50: number;
  p90: number;
}

/** WS /api/incidents/stream. */
export type IncidentFrame =
  | { type: "incident"; incident: Incident; cursor: string }
  | { type: "patrol"; patrol: Patrol; cursor: string }
  | { type: "hello"; cursor: string }
  | { type: "gap"; cursor?: undefined };

/** WS /api/patrols/{patrolId}/stream: the current assignment first, at every (re)connection. */
export type PatrolFrame =
  | { type: "assignment"; incident: Incident | null; patrol: Patrol; cursor: string }
  | { type: "incident"; incident: Incident; cursor: string }
  | { type: "patrol"; patrol: Patrol; cursor: string }
  | { type: "gap"; cursor?: undefined };

/** What a patrol does next, as the route names it. */
export type PatrolAction = "acknowledge" | "en-route" | "arrive" | "resolve";

/** The transition a patrol makes next from a state, or null when it has none to make. */
export function nextAction(state: IncidentState): PatrolAction | null {
  if (state === "assigned") return "acknowledge";
  if (state === "acknowledged") return "en-route";
  if (state === "en-route") return "arrive";
  if (state === "on-site") return "resolve";
  return null;
}

/** Keeps the newer of two versions of an incident: frames may arrive out of order across a reconnection. */
export function newer(known: Incident | undefined, next: Incident): boolean {
  return !known || next.revision >= known.revision;
}

/** An acknowledgement is late this long after the assignment (the dispatcher's default timeout). */
export const ACK_LATE_MS = 60_000;
/** An arrival is late this long after the acknowledgement. */
export const ARRIVAL_LATE_MS = 15 * 60_000;

/** What is late about an incident now: its acknowledgement, its arrival on site, or nothing. */
export function lateness(inc: Incident, now: number): "ack" | "arrival" | null {
  const { assignedAt, acknowledgedAt } = inc.times;
  if (inc.state === "assigned" && assignedAt !== null && now - assignedAt > ACK_LATE_MS) return "ack";
  if ((inc.state === "acknowledged" || inc.state === "en-route") && acknowledgedAt !== null && now - acknowledgedAt > ARRIVAL_LATE_MS) return "arrival";
  return null;
}
