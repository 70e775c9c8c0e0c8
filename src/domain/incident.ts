import type { DeploymentOrder } from "./deployment-order.ts";
import {
  incidentEventId,
  TERMINAL_STATES,
  type IncidentEvent,
  type IncidentEventType,
  type IncidentState,
  type IncidentTimes,
  type PatrolStatus,
} from "./incident-event.ts";
import { holderStatus, isAvailable, type Patrol } from "./patrol.ts";

/**
 * An incident: one failing student to be visited by one patrol. The first deployment order of a student
 * with no open incident opens it; that student's later orders attach to it (no second patrol) until it is
 * resolved or cancelled. Its id derives from that first order's alertId, so a redelivered order can never
 * open a second incident.
 *
 * Lifecycle: open → assigned → acknowledged → en-route → on-site → resolved; or cancelled from any state
 * not terminal. An assignment not acknowledged in time (`time-out`) or taken back by an operator
 * (`reassign`) returns it to open, its patrol to available, and keeps that patrol off it for a while.
 */
export interface Incident {
  id: string;
  studentId: string;
  state: IncidentState;
  /** The incident's version: 1 when opened, one more per transition. The event that made it is `${id}:${seq}`. */
  seq: number;
  /** The patrol holding it (assigned up to on-site), else null. */
  patrolId: string | null;
  firstAlertId: string;
  /** The first order's exercise, region and place (where the student is). */
  exerciseId: string;
  region: string;
  latitude: number;
  longitude: number;
  /** The first order and the most recent ones, at most MAX_ORDERS_KEPT; `orderCount` counts every order. */
  orders: IncidentOrder[];
  orderCount: number;
  lowestScore: number;
  /** The moment of each step of the current run; a return to open clears the steps after `openedAt`. */
  times: IncidentTimes;
  /** The resolution note, or why it was cancelled. */
  note: string;
  /** Patrols that let an assignment time out or were taken off it, and when (most recent last). */
  passedOver: Array<{ patrolId: string; at: number }>;
  /** When the last transition was made (epoch ms); transition times never go back. */
  updatedAt: number;
}

export interface IncidentOrder {
  alertId: string;
  exerciseId: string;
  score: number;
  raisedAt: number;
}

export const MAX_ORDERS_KEPT = 20;
export const MAX_PASSED_OVER = 8;
export const NOTE_MAX = 2000;

/** `inc-` and 32 hex digits of SHA-256 of the first order's alertId: URL-safe, bounded, the same on every redelivery. */
export function incidentIdFor(alertId: string): string {
  return `inc-${Bun.CryptoHasher.hash("sha256", alertId, "hex").slice(0, 32)}`;
}

export function isTerminal(state: IncidentState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function holdsAnOrder(incident: Incident, alertId: string): boolean {
  return incident.firstAlertId === alertId || incident.orders.some((o) => o.alertId === alertId);
}

/** What can be done to an incident. Patrol commands name the patrol that asks (checked against the holder). */
export type IncidentCommand =
  | { type: "assign"; patrolId: string }
  | { type: "acknowledge"; patrolId: string }
  | { type: "en-route"; patrolId: string }
  | { type: "arrive"; patrolId: string }
  | { type: "resolve"; patrolId: string; note: string }
  | { type: "time-out" }
  | { type: "reassign"; note: string }
  | { type: "cancel"; note: string }
  | { type: "attach"; order: DeploymentOrder };
export type CommandType = IncidentCommand["type"];

export const COMMAND_TYPES: readonly CommandType[] = ["assign", "acknowledge", "en-route", "arrive", "resolve", "time-out", "reassign", "cancel", "attach"];
const ACTIVE: readonly IncidentState[] = ["open", "assigned", "acknowledged", "en-route", "on-site"];
const HELD: readonly IncidentState[] = ["assigned", "acknowledged", "en-route", "on-site"];

/** The transition table: the states each command is legal from, the event it makes and the state it leads to ("same": unchanged). */
export const TRANSITIONS: Readonly<Record<CommandType, { from: readonly IncidentState[]; event: IncidentEventType; to: IncidentState | "same" }>> = {
  assign: { from: ["open"], event: "assigned", to: "assigned" },
  acknowledge: { from: ["assigned"], event: "acknowledged", to: "acknowledged" },
  "en-route": { from: ["acknowledged"], event: "en-route", to: "en-route" },
  arrive: { from: ["en-route"], event: "on-site", to: "on-site" },
  resolve: { from: ["on-site"], event: "resolved", to: "resolved" },
  "time-out": { from: ["assigned"], event: "timed-out", to: "open" },
  reassign: { from: HELD, event: "reassigned", to: "open" },
  cancel: { from: ACTIVE, event: "cancelled", to: "cancelled" },
  attach: { from: ACTIVE, event: "order-attached", to: "same" },
};

const PATROL_COMMANDS: readonly CommandType[] = ["acknowledge", "en-route", "arrive", "resolve"];

/** Why a command was refused: `illegal` (not from this state), `forbidden` (another patrol holds it), `unavailable` (the patrol to assign is busy or off duty), `duplicate` (order already attached), `invalid` (bad note). */
export type RefusalCode = "illegal" | "forbidden" | "unavailable" | "duplicate" | "invalid";
export interface Refusal {
  ok: false;
  code: RefusalCode;
  /** The incident's current state. */
  state: IncidentState;
  reason: string;
  /** For `unavailable`: the status of the patrol that could not be assigned. */
  patrolStatus?: PatrolStatus;
}
export interface Applied {
  ok: true;
  incident: Incident;
  /** The patrols the transition changed (none, the holder, the one assigned). */
  patrols: Patrol[];
  event: IncidentEvent;
}

/** Who made a transition, and when (epoch ms). */
export interface TransitionContext {
  at: number;
  actor: string;
}

/** Opens an incident from a student's first deployment order. */
export function openIncident(order: DeploymentOrder, ctx: TransitionContext): { incident: Incident; event: IncidentEvent } {
  const at = ctx.at;
  const incident: Incident = {
    id: incidentIdFor(order.alertId),
    studentId: order.studentId,
    state: "open",
    seq: 1,
    patrolId: null,
    firstAlertId: order.alertId,
    exerciseId: order.exerciseId,
    region: order.region,
    latitude: order.latitude,
    longitude: order.longitude,
    orders: [orderOf(order)],
    orderCount: 1,
    lowestScore: order.score,
    times: { openedAt: at, assignedAt: null, acknowledgedAt: null, enRouteAt: null, onSiteAt: null, resolvedAt: null, cancelledAt: null },
    note: "",
    passedOver: [],
    updatedAt: at,
  };
  return { incident, event: eventOf(incident, "opened", ctx.actor, "", order) };
}

/**
 * The one transition function: (incident, patrol, command) → the incident and patrols after it and the
 * event that records it, or a refusal naming the current state. `patrol` is the patrol to assign for
 * `assign`, the holder for commands that touch it (null when the incident has none), ignored for `attach`.
 */
export function applyCommand(incident: Incident, patrol: Patrol | null, command: IncidentCommand, ctx: TransitionContext): Applied | Refusal {
  const refused = refusalOf(incident, patrol, command);
  if (refused) return refused;
  const at = Math.max(ctx.at, incident.updatedAt, patrol && command.type !== "attach" ? patrol.since : 0);
  const t = TRANSITIONS[command.type];
  const base: Incident = { ...incident, seq: incident.seq + 1, updatedAt: at, state: t.to === "same" ? incident.state : t.to };
  const { next, patrols, note } = effectOf(base, patrol, command, at);
  return { ok: true, incident: next, patrols, event: eventOf(next, t.event, ctx.actor, note, command.type === "attach" ? command.order : undefined) };
}

function refusalOf(incident: Incident, patrol: Patrol | null, command: IncidentCommand): Refusal | null {
  const state = incident.state;
  const no = (code: RefusalCode, reason: string): Refusal => ({ ok: false, code, state, reason });
  if (PATROL_COMMANDS.includes(command.type)) {
    const asker = (command as { patrolId: string }).patrolId;
    if (incident.patrolId !== null && asker !== incident.patrolId)
      return no("forbidden", `incident ${incident.id} is held by patrol ${incident.patrolId}, not ${asker}`);
  }
  if (!TRANSITIONS[command.type].from.includes(state))
    return no("illegal", `cannot ${command.type} incident ${incident.id}: it is ${state}${isTerminal(state) ? " (closed)" : ""}`);
  if ("note" in command && command.note.length > NOTE_MAX) return no("invalid", `note must be at most ${NOTE_MAX} characters`);
  if (command.type === "attach") {
    if (holdsAnOrder(incident, command.order.alertId)) return no("duplicate", `order ${command.order.alertId} is already attached to incident ${incident.id}`);
    return null;
  }
  if (command.type === "assign") {
    if (!patrol || patrol.id !== command.patrolId) throw new Error(`assign: the patrol given is not ${command.patrolId}`);
    if (!isAvailable(patrol))
      return {
        ...no("unavailable", `patrol ${patrol.id} is ${patrol.status}${patrol.incidentId ? ` on incident ${patrol.incidentId}` : ""}, not available`),
        patrolStatus: patrol.status,
      };
    return null;
  }
  // Every other command touches the holder: it must be the patrol given.
  if (incident.patrolId !== null && patrol?.id !== incident.patrolId)
    throw new Error(`${command.type}: the patrol given is not the holder ${incident.patrolId}`);
  return null;
}

/** The incident after a legal command, the patrols it changed, and the event's note. */
function effectOf(base: Incident, patrol: Patrol | null, command: IncidentCommand, at: number): { next: Incident; patrols: Patrol[]; note: string } {
  const times = base.times;
  const release = (p: Patrol | null): Patrol[] => (p ? [{ ...p, status: "available", incidentId: null, since: at }] : []);
  const hold = (p: Patrol, state: IncidentState): Patrol[] => [{ ...p, status: holderStatus(state), incidentId: base.id, since: at }];
  switch (command.type) {
    case "assign":
      return { next: { ...base, patrolId: patrol!.id, times: { ...times, assignedAt: at } }, patrols: hold(patrol!, "assigned"), note: "" };
    case "acknowledge":
      return { next: { ...base, times: { ...times, acknowledgedAt: at } }, patrols: [], note: "" };
    case "en-route":
      return { next: { ...base, times: { ...times, enRouteAt: at } }, patrols: hold(patrol!, "en-route"), note: "" };
    case "arrive":
      return { next: { ...base, times: { ...times, onSiteAt: at } }, patrols: hold(patrol!, "on-site"), note: "" };
    case "resolve":
      return { next: { ...base, patrolId: null, note: command.note, times: { ...times, resolvedAt: at } }, patrols: release(patrol), note: command.note };
    case "cancel":
      return { next: { ...base, patrolId: null, note: command.note, times: { ...times, cancelledAt: at } }, patrols: release(patrol), note: command.note };
    case "time-out":
    case "reassign":
      return { next: backToOpen(base, patrol!, at), patrols: release(patrol), note: command.type === "reassign" ? command.note : "" };
    case "attach": {
      const o = command.order;
      const orders = [...base.orders, orderOf(o)];
      // Keep the first order and the most recent ones.
      if (orders.length > MAX_ORDERS_KEPT) orders.splice(1, orders.length - MAX_ORDERS_KEPT);
      return { next: { ...base, orders, orderCount: base.orderCount + 1, lowestScore: Math.min(base.lowestScore, o.score) }, patrols: [], note: "" };
    }
  }
}

function backToOpen(base: Incident, holder: Patrol, at: number): Incident {
  const passedOver = [...base.passedOver, { patrolId: holder.id, at }].slice(-MAX_PASSED_OVER);
  const times = { ...base.times, assignedAt: null, acknowledgedAt: null, enRouteAt: null, onSiteAt: null };
  return { ...base, patrolId: null, times, passedOver };
}

function orderOf(o: DeploymentOrder): IncidentOrder {
  return { alertId: o.alertId, exerciseId: o.exerciseId, score: o.score, raisedAt: o.raisedAt };
}

/** The event of a transition, from the incident after it (for `opened`/`order-attached`, the order's own ids). */
export function eventOf(incident: Incident, type: IncidentEventType, actor: string, note: string, order?: DeploymentOrder): IncidentEvent {
  return {
    eventId: incidentEventId(incident.id, incident.seq),
    incidentId: incident.id,
    seq: incident.seq,
    type,
    state: incident.state,
    at: incident.updatedAt,
    studentId: incident.studentId,
    patrolId: incident.patrolId,
    alertId: order ? order.alertId : incident.firstAlertId,
    exerciseId: order ? order.exerciseId : incident.exerciseId,
    lowestScore: incident.lowestScore,
    orders: incident.orderCount,
    region: incident.region,
    latitude: incident.latitude,
    longitude: incident.longitude,
    times: incident.times,
    note,
    actor,
  };
}
