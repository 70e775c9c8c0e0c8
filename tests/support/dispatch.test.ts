import { expect, test } from "bun:test";
import type { IncidentJson, PatrolJson } from "../../modules/patrols/index.ts";
import { listingProblems, StuckWatch } from "./dispatch.ts";

const times = { openedAt: 0, assignedAt: null, acknowledgedAt: null, enRouteAt: null, onSiteAt: null, resolvedAt: null, cancelledAt: null };
const inc = (id: string, o: Partial<IncidentJson> = {}): IncidentJson => ({
  incidentId: id,
  studentId: `s-${id}`,
  state: "open",
  patrolId: null,
  exerciseId: "bsq",
  lowestScore: 1,
  orderCount: 1,
  alertIds: [`alert-${id}`],
  raisedAt: 0,
  latitude: 48,
  longitude: 2,
  region: "Île-de-France",
  place: "",
  times,
  note: "",
  revision: 1,
  updatedAt: 0,
  ...o,
});
const patrol = (id: string, status: PatrolJson["status"] = "available"): PatrolJson => ({
  patrolId: id,
  name: id,
  status,
  latitude: 48,
  longitude: 2,
  positionAt: 0,
  incidentId: null,
  since: 0,
});

test("a listing with a student on two active incidents or a patrol on two is a problem; closed ones do not count", () => {
  expect(
    listingProblems([
      inc("a"),
      inc("b", { studentId: "s-a", state: "resolved" }),
      inc("c", { patrolId: "p1", state: "en-route" }),
      inc("d", { patrolId: "p2", state: "assigned" }),
    ]),
  ).toEqual([]);
  expect(listingProblems([inc("a"), inc("b", { studentId: "s-a" })])).toEqual(["student s-a has two open incidents: a and b"]);
  expect(listingProblems([inc("a", { patrolId: "p1", state: "assigned" }), inc("b", { patrolId: "p1", state: "on-site" })])).toEqual([
    "patrol p1 holds two incidents: a and b",
  ]);
});

test("stuck: assigned past its deadline + slack, open beside an available patrol, or no progress in a patrol's hands", () => {
  const w = new StuckWatch({ ackTimeoutMs: 3000, slackMs: 1000, progressMs: 10_000 });
  const assigned = inc("late", { state: "assigned", patrolId: "p1", times: { ...times, assignedAt: 1000 } });
  w.observe(4900, [assigned], [patrol("p2")]);
  expect(w.stuck.size).toBe(0);
  w.observe(5100, [assigned], [patrol("p2")]);
  expect([...w.stuck.values()]).toEqual(["late assigned to p1 4100 ms ago, neither acknowledged nor taken back"]);

  // Open while no patrol is free is waiting, not stuck; once one is free the clock starts.
  const o = new StuckWatch({ ackTimeoutMs: 3000, slackMs: 1000, progressMs: 10_000 });
  o.observe(0, [inc("wait")], [patrol("p1", "en-route")]);
  o.observe(9000, [inc("wait")], [patrol("p1", "en-route")]);
  o.observe(10_000, [inc("wait")], [patrol("p1")]);
  o.observe(13_900, [inc("wait")], [patrol("p1")]);
  expect(o.stuck.size).toBe(0);
  o.observe(14_100, [inc("wait")], [patrol("p1")]);
  expect([...o.stuck.keys()]).toEqual(["wait"]);

  // In a patrol's hands: a change of revision is progress.
  const p = new StuckWatch({ ackTimeoutMs: 3000, slackMs: 1000, progressMs: 10_000 });
  p.observe(0, [inc("drive", { state: "en-route", patrolId: "p1", revision: 4 })], []);
  p.observe(9000, [inc("drive", { state: "on-site", patrolId: "p1", revision: 5 })], []);
  p.observe(18_000, [inc("drive", { state: "on-site", patrolId: "p1", revision: 5 })], []);
  expect(p.stuck.size).toBe(0);
  p.observe(19_100, [inc("drive", { state: "on-site", patrolId: "p1", revision: 5 })], []);
  expect([...p.stuck.values()]).toEqual(["drive on-site with p1, unchanged for 10100 ms"]);
});
