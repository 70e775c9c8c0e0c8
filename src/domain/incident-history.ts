import type { IncidentEvent, IncidentState } from "./incident-event.ts";

/**
 * Checks a history of incident events (as read from `incident-events` or the lake's `incidents/`) for what
 * dispatch promises: every order in one incident once; per incident, events 1..n each once, starting with
 * `opened`, and the patrol changing hands only through a release; per patrol, one incident at a time;
 * per student, one open incident at a time. Republished events (same id) are counted and kept once.
 */
export interface HistoryAudit {
  events: number;
  /** Events seen again under an id already seen (a relay's republish); a differing copy is a problem. */
  republished: number;
  /** Final state per incident. */
  states: Map<string, IncidentState>;
  /** alertId → incident that took the order. */
  orders: Map<string, string>;
  /** Successful assignments (`assigned` events). */
  assignments: number;
  problems: string[];
}

interface Interval {
  key: string;
  start: number;
  end: number;
}

export function auditIncidentHistory(all: Iterable<IncidentEvent>): HistoryAudit {
  const a: HistoryAudit = { events: 0, republished: 0, states: new Map(), orders: new Map(), assignments: 0, problems: [] };
  const byIncident = new Map<string, IncidentEvent[]>();
  const seen = new Map<string, string>();
  for (const e of all) {
    const json = JSON.stringify(e);
    const before = seen.get(e.eventId);
    if (before !== undefined) {
      a.republished++;
      if (before !== json) a.problems.push(`event ${e.eventId} seen twice with different contents`);
      continue;
    }
    seen.set(e.eventId, json);
    a.events++;
    byIncident.set(e.incidentId, [...(byIncident.get(e.incidentId) ?? []), e]);
  }
  const holds: Interval[] = [];
  const opens: Interval[] = [];
  for (const [id, events] of byIncident) {
    events.sort((x, y) => x.seq - y.seq);
    checkIncident(id, events, a, holds);
    const closing = events.find((e) => e.state === "resolved" || e.state === "cancelled");
    opens.push({ key: events[0]!.studentId, start: events[0]!.at, end: closing ? closing.at : Number.POSITIVE_INFINITY });
  }
  overlaps(holds, "patrol", a.problems);
  overlaps(opens, "student", a.problems);
  return a;
}

function checkIncident(id: string, events: IncidentEvent[], a: HistoryAudit, holds: Interval[]): void {
  events.forEach((e, i) => {
    if (e.seq !== i + 1) a.problems.push(`incident ${id}: event ${i + 1} is missing or repeated (found seq ${e.seq})`);
  });
  if (events[0]!.type !== "opened") a.problems.push(`incident ${id}: the first event is ${events[0]!.type}, not opened`);
  let holder: string | null = null;
  let since = 0;
  for (const e of events) {
    if (e.type === "opened" || e.type === "order-attached") {
      const other = a.orders.get(e.alertId);
      if (other !== undefined) a.problems.push(`order ${e.alertId} taken twice (incidents ${other} and ${id})`);
      else a.orders.set(e.alertId, id);
    }
    if (e.type === "assigned") a.assignments++;
    if (holder !== null && e.patrolId !== null && e.patrolId !== holder)
      a.problems.push(`incident ${id}: went from patrol ${holder} to ${e.patrolId} without a release (event ${e.seq})`);
    if (holder === null && e.patrolId !== null) since = e.at;
    if (holder !== null && e.patrolId !== holder) holds.push({ key: holder, start: since, end: e.at });
    holder = e.patrolId;
  }
  if (holder !== null) holds.push({ key: holder, start: since, end: Number.POSITIVE_INFINITY });
  a.states.set(id, events[events.length - 1]!.state);
}

/** Intervals of one key must not overlap (touching is fine: released and taken in the same millisecond). */
function overlaps(intervals: Interval[], what: string, problems: string[]): void {
  const byKey = new Map<string, Interval[]>();
  for (const iv of intervals) byKey.set(iv.key, [...(byKey.get(iv.key) ?? []), iv]);
  for (const [key, list] of byKey) {
    list.sort((x, y) => x.start - y.start || x.end - y.end);
    for (let i = 1; i < list.length; i++)
      if (list[i]!.start < list[i - 1]!.end)
        problems.push(`${what} ${key}: two incidents at once (${list[i - 1]!.start}–${list[i - 1]!.end} and ${list[i]!.start}–${list[i]!.end})`);
  }
}
