import { expect, test } from "bun:test";
import type { DeploymentOrder } from "./deployment-order.ts";
import type { IncidentEvent } from "./incident-event.ts";
import { auditIncidentHistory } from "./incident-history.ts";
import { applyCommand, openIncident, type Incident, type IncidentCommand } from "./incident.ts";
import { registerPatrol, type Patrol } from "./patrol.ts";

const T0 = 1_700_000_000_000;
const order = (student: string, n: number): DeploymentOrder => ({
  alertId: `alert-${student}-${n}`,
  reportId: `${student}-${n}`,
  studentId: student,
  exerciseId: "ex",
  score: 10,
  threshold: 50,
  latitude: 48,
  longitude: 2,
  region: "x",
  reportedAt: 0,
  raisedAt: 0,
});

/** A full, valid life: open, attach, assign to `p`, walk to resolved, from `t`. */
function life(student: string, p: Patrol, t: number): { events: IncidentEvent[]; patrol: Patrol; incident: Incident } {
  const o = openIncident(order(student, t), { at: t, actor: "d" });
  let inc = o.incident;
  let patrol = p;
  const events = [o.event];
  const cmds: IncidentCommand[] = [
    { type: "attach", order: order(student, t + 1) },
    { type: "assign", patrolId: p.id },
    { type: "acknowledge", patrolId: p.id },
    { type: "en-route", patrolId: p.id },
    { type: "arrive", patrolId: p.id },
    { type: "resolve", patrolId: p.id, note: "" },
  ];
  cmds.forEach((c, i) => {
    const r = applyCommand(inc, c.type === "attach" ? null : patrol, c, { at: t + i + 1, actor: "d" });
    if (!r.ok) throw new Error(r.reason);
    inc = r.incident;
    patrol = r.patrols.find((x) => x.id === p.id) ?? patrol;
    events.push(r.event);
  });
  return { events, patrol, incident: inc };
}

test("a clean history has no problems; republished events are counted once", () => {
  const p = registerPatrol(null, "p1", { name: "p", latitude: 48, longitude: 2 }, T0);
  const a = life("s1", p, T0);
  const b = life("s2", a.patrol, T0 + 100);
  const audit = auditIncidentHistory([...a.events, ...b.events, a.events[2]!]);
  expect(audit.problems).toEqual([]);
  expect(audit.events).toBe(14);
  expect(audit.republished).toBe(1);
  expect(audit.assignments).toBe(2);
  expect(audit.orders.size).toBe(4);
  expect([...audit.states.values()]).toEqual(["resolved", "resolved"]);
});

test("one patrol on two incidents at once, an order taken twice, a missing event, two open incidents of a student: each named", () => {
  const p = registerPatrol(null, "p1", { name: "p", latitude: 48, longitude: 2 }, T0);
  const a = life("s1", p, T0);
  const b = life("s2", p, T0 + 3); // p assigned to s2's incident while it still holds s1's
  expect(auditIncidentHistory([...a.events, ...b.events]).problems.join("\n")).toContain("patrol p1: two incidents at once");
  const twice = life("s3", p, T0 + 500);
  const copy = { ...twice.events[0]!, eventId: "other:1", incidentId: "other" };
  expect(auditIncidentHistory([...twice.events, copy]).problems.join("\n")).toContain(`order ${copy.alertId} taken twice`);
  expect(auditIncidentHistory(twice.events.filter((e) => e.seq !== 3)).problems.join("\n")).toContain("missing or repeated");
  const s = life("s4", p, T0 + 1000);
  const again = life("s4", s.patrol, T0 + 1003).events.map((e) => ({ ...e, patrolId: null }));
  expect(auditIncidentHistory([...s.events, ...again]).problems.join("\n")).toContain("student s4: two incidents at once");
  const handOver = life("s5", p, T0 + 2000).events.map((e) => (e.seq === 5 ? { ...e, patrolId: "p9" } : e));
  expect(auditIncidentHistory(handOver).problems.join("\n")).toContain("without a release");
});
