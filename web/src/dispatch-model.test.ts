import { describe, expect, test } from "bun:test";
import {
  ACK_LATE_MS,
  ARRIVAL_LATE_MS,
  INCIDENT_STATES,
  PATROL_STATUSES,
  isTerminal,
  lateness,
  newer,
  nextAction,
  type Incident,
  type IncidentState,
} from "./dispatch-model.ts";
import { INCIDENT_STATES as DOMAIN_STATES, PATROL_STATUSES as DOMAIN_STATUSES, TERMINAL_STATES } from "../../src/domain/incident-event.ts";

const times = { openedAt: 0, assignedAt: 1_000, acknowledgedAt: 5_000, enRouteAt: null, onSiteAt: null, resolvedAt: null, cancelledAt: null };
const inc = (state: IncidentState, revision = 1): Incident => ({
  incidentId: "inc-1",
  studentId: "s-1",
  state,
  patrolId: "p-1",
  exerciseId: "bsq",
  lowestScore: 10,
  orderCount: 1,
  alertIds: ["a"],
  latitude: 45,
  longitude: 4,
  region: "Auvergne-Rhône-Alpes",
  place: "Lyon",
  times,
  note: "",
  revision,
});

describe("the dispatch model the pages share", () => {
  test("the same states and statuses as the domain, in the lifecycle's order", () => {
    expect([...INCIDENT_STATES]).toEqual([...DOMAIN_STATES]);
    expect([...PATROL_STATUSES].sort()).toEqual([...DOMAIN_STATUSES].sort());
    expect(INCIDENT_STATES.filter((s) => isTerminal(s)) as string[]).toEqual([...TERMINAL_STATES]);
  });
  test("each state has at most one next transition for the patrol", () => {
    expect(INCIDENT_STATES.map((s) => nextAction(s))).toEqual([null, "acknowledge", "en-route", "arrive", "resolve", null, null]);
  });
  test("a version replaces another only if it is not older", () => {
    expect(newer(undefined, inc("open"))).toBe(true);
    expect(newer(inc("assigned", 2), inc("acknowledged", 3))).toBe(true);
    expect(newer(inc("acknowledged", 3), inc("assigned", 2))).toBe(false);
  });
  test("late: acknowledgement 60 s after assignment, arrival 15 min after acknowledgement", () => {
    expect(lateness(inc("assigned"), 1_000 + ACK_LATE_MS)).toBeNull();
    expect(lateness(inc("assigned"), 1_001 + ACK_LATE_MS)).toBe("ack");
    expect(lateness(inc("acknowledged"), 5_000 + ARRIVAL_LATE_MS)).toBeNull();
    expect(lateness(inc("en-route"), 5_001 + ARRIVAL_LATE_MS)).toBe("arrival");
    expect(lateness(inc("on-site"), 10 ** 9)).toBeNull();
    expect(lateness(inc("open"), 10 ** 9)).toBeNull();
  });
});
