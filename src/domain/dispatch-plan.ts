import type { Incident } from "./incident.ts";
import { isAvailable, type Patrol } from "./patrol.ts";
import { distanceKm } from "./regions.ts";

/**
 * Who goes where, as pure functions of what the store holds: the dispatch role's assigner runs them over
 * its view and makes each decision a compare-and-set, so every instance may plan and only one wins.
 *
 * Priority: the lowest score first, then the oldest, then the id (a total order, the same in every process).
 * Each open incident in that order gets the nearest available patrol (great-circle distance) not passed
 * over on it recently; incidents left without one wait, in that order, for the next patrol to free.
 */

export interface PlanOptions {
  /** An assignment not acknowledged this long after it was made is taken back. */
  ackTimeoutMs: number;
  /** A patrol that let an incident time out (or was taken off it) is not chosen again for it for this long. */
  passOverMs: number;
}

export interface Assignment {
  incidentId: string;
  patrolId: string;
  km: number;
}

export function byPriority(a: Incident, b: Incident): number {
  return a.lowestScore - b.lowestScore || a.times.openedAt - b.times.openedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Open incidents, the first to serve first. */
export function queue(incidents: Iterable<Incident>): Incident[] {
  return [...incidents].filter((i) => i.state === "open").sort(byPriority);
}

/** Whether the patrol was passed over on this incident less than `passOverMs` ago. */
export function passedOver(incident: Incident, patrolId: string, now: number, passOverMs: number): boolean {
  return incident.passedOver.some((p) => p.patrolId === patrolId && now < p.at + passOverMs);
}

/** The nearest patrol that may take this incident now, or null. Ties go to the smaller id. */
export function nearestPatrol(incident: Incident, patrols: Iterable<Patrol>, now: number, passOverMs: number): { patrol: Patrol; km: number } | null {
  let best: { patrol: Patrol; km: number } | null = null;
  for (const p of patrols) {
    if (!isAvailable(p) || passedOver(incident, p.id, now, passOverMs)) continue;
    const km = distanceKm(incident.latitude, incident.longitude, p.latitude, p.longitude);
    if (!best || km < best.km || (km === best.km && p.id < best.patrol.id)) best = { patrol: p, km };
  }
  return best;
}

/** Assignments to make now: open incidents by priority, each with the nearest patrol still free in this plan. */
export function planAssignments(incidents: Iterable<Incident>, patrols: Iterable<Patrol>, now: number, passOverMs: number): Assignment[] {
  const free = new Map([...patrols].filter(isAvailable).map((p) => [p.id, p]));
  const plan: Assignment[] = [];
  // Before the sort: the assigner plans after every change, and while every patrol is busy (the queue at
  // its longest) there is nothing to plan — sorting the whole queue each time was most of its CPU.
  if (free.size === 0) return plan;
  for (const incident of queue(incidents)) {
    if (free.size === 0) break;
    const best = nearestPatrol(incident, free.values(), now, passOverMs);
    if (!best) continue;
    plan.push({ incidentId: incident.id, patrolId: best.patrol.id, km: best.km });
    free.delete(best.patrol.id);
  }
  return plan;
}

/** When an assigned incident's acknowledgement is due: derived from the stored assignment time, so any process can enforce it. */
export function ackDeadline(incident: Incident, ackTimeoutMs: number): number | null {
  return incident.state === "assigned" && incident.times.assignedAt !== null ? incident.times.assignedAt + ackTimeoutMs : null;
}

/** Assigned incidents whose acknowledgement is overdue, oldest deadline first. */
export function dueTimeouts(incidents: Iterable<Incident>, now: number, ackTimeoutMs: number): Incident[] {
  const due: Array<[number, Incident]> = [];
  for (const i of incidents) {
    const d = ackDeadline(i, ackTimeoutMs);
    if (d !== null && d <= now) due.push([d, i]);
  }
  return due.sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

/**
 * The next moment the plan can change without any new input: an acknowledgement falling due, or a
 * passed-over patrol becoming eligible again for an open incident. Null when nothing is pending.
 */
export function nextWake(incidents: Iterable<Incident>, now: number, o: PlanOptions): number | null {
  let next: number | null = null;
  const consider = (t: number) => {
    if (t > now && (next === null || t < next)) next = t;
  };
  for (const i of incidents) {
    const d = ackDeadline(i, o.ackTimeoutMs);
    if (d !== null) consider(d);
    if (i.state === "open") for (const p of i.passedOver) consider(p.at + o.passOverMs);
  }
  return next;
}
