import { describe, expect, test } from "bun:test";
import type { DeploymentOrder } from "./deployment-order.ts";
import { ackDeadline, byPriority, dueTimeouts, nearestPatrol, nextWake, planAssignments, queue } from "./dispatch-plan.ts";
import { applyCommand, openIncident, type Incident } from "./incident.ts";
import { registerPatrol, type Patrol } from "./patrol.ts";
import { distanceKm } from "./regions.ts";

const T0 = 1_700_000_000_000;
const PARIS = { latitude: 48.8566, longitude: 2.3522 };
const LYON = { latitude: 45.764, longitude: 4.8357 };
const LILLE = { latitude: 50.6292, longitude: 3.0573 };
const MARSEILLE = { latitude: 43.2965, longitude: 5.3698 };

function incident(n: number, place: { latitude: number; longitude: number }, score: number, openedAt = T0): Incident {
  const order: DeploymentOrder = {
    alertId: `alert-${n}`,
    reportId: `${n}`,
    studentId: `s${n}`,
    exerciseId: "ex",
    score,
    threshold: 50,
    ...place,
    region: "x",
    reportedAt: 0,
    raisedAt: 0,
  };
  return openIncident(order, { at: openedAt, actor: "t" }).incident;
}
const patrol = (id: string, place: { latitude: number; longitude: number }): Patrol => registerPatrol(null, id, { name: id, ...place }, T0);

function assigned(i: Incident, p: Patrol, at: number): { incident: Incident; patrol: Patrol } {
  const r = applyCommand(i, p, { type: "assign", patrolId: p.id }, { at, actor: "t" });
  if (!r.ok) throw new Error(r.reason);
  return { incident: r.incident, patrol: r.patrols[0]! };
}

describe("nearest patrol", () => {
  test("the nearest by great-circle distance, among available patrols only", () => {
    const i = incident(1, LYON, 10);
    const patrols = [patrol("paris", PARIS), patrol("marseille", MARSEILLE), { ...patrol("lyon", LYON), status: "off-duty" as const }];
    const best = nearestPatrol(i, patrols, T0, 60_000)!;
    expect(best.patrol.id).toBe("marseille");
    expect(best.km).toBeCloseTo(distanceKm(LYON.latitude, LYON.longitude, MARSEILLE.latitude, MARSEILLE.longitude), 6);
    expect(best.km).toBeGreaterThan(270);
    expect(best.km).toBeLessThan(290);
  });

  test("great-circle, not degrees: near the pole a big longitude gap is a short way", () => {
    const i = incident(1, { latitude: 89, longitude: 0 }, 10);
    const far = patrol("a", { latitude: 87, longitude: 0 }); // 2° of latitude ≈ 222 km
    const across = patrol("b", { latitude: 89, longitude: 120 }); // 120° of longitude at 89° ≈ 190 km
    expect(nearestPatrol(i, [far, across], T0, 1)!.patrol.id).toBe("b");
  });

  test("ties go to the smaller id; none available gives null", () => {
    const i = incident(1, PARIS, 10);
    expect(nearestPatrol(i, [patrol("b", LYON), patrol("a", LYON)], T0, 1)!.patrol.id).toBe("a");
    expect(nearestPatrol(i, [{ ...patrol("a", PARIS), status: "on-site" as const, incidentId: "x" }], T0, 1)).toBeNull();
  });

  test("a patrol passed over on the incident is skipped until the pass-over time has gone by", () => {
    const p = patrol("paris", PARIS);
    const { incident: held, patrol: holder } = assigned(incident(1, PARIS, 10), p, T0);
    const r = applyCommand(held, holder, { type: "time-out" }, { at: T0 + 60_000, actor: "timeout" });
    if (!r.ok) throw new Error(r.reason);
    const back = r.incident;
    const free = r.patrols[0]!;
    const lyon = patrol("lyon", LYON);
    expect(nearestPatrol(back, [free, lyon], T0 + 60_001, 30_000)!.patrol.id).toBe("lyon");
    expect(nearestPatrol(back, [free], T0 + 60_001, 30_000)).toBeNull();
    expect(nearestPatrol(back, [free, lyon], T0 + 90_000, 30_000)!.patrol.id).toBe("paris");
  });
});

describe("priority and queueing", () => {
  test("lowest score first, then the oldest, then the id", () => {
    const a = incident(1, PARIS, 20, T0 + 5);
    const b = incident(2, PARIS, 10, T0 + 9);
    const c = incident(3, PARIS, 20, T0 + 1);
    const d = incident(4, PARIS, 20, T0 + 1);
    const sorted = [a, b, c, d].sort(byPriority).map((i) => i.id);
    const [cd1, cd2] = [c.id, d.id].sort();
    expect(sorted).toEqual([b.id, cd1!, cd2!, a.id]);
  });

  test("only open incidents queue", () => {
    const p = patrol("p", PARIS);
    const open = incident(1, PARIS, 30);
    const held = assigned(incident(2, PARIS, 5), p, T0).incident;
    expect(queue([held, open]).map((i) => i.id)).toEqual([open.id]);
  });

  test("the most urgent incident gets its nearest patrol even when another incident is nearer to it", () => {
    const urgent = incident(1, PARIS, 5);
    const minor = incident(2, LILLE, 40);
    const plan = planAssignments([minor, urgent], [patrol("lille", LILLE), patrol("lyon", LYON)], T0, 1);
    // Lille is the nearest to Paris: the urgent incident takes it; Lille's own incident gets Lyon.
    expect(plan.map((a) => [a.incidentId, a.patrolId])).toEqual([
      [urgent.id, "lille"],
      [minor.id, "lyon"],
    ]);
  });

  test("with fewer patrols than incidents, the rest wait in priority order; a freed patrol goes to the head of the queue", () => {
    const incidents = [incident(1, PARIS, 30, T0), incident(2, LYON, 10, T0 + 1), incident(3, LILLE, 20, T0 + 2)];
    const p = patrol("only", MARSEILLE);
    const plan = planAssignments(incidents, [p], T0, 1);
    expect(plan.map((a) => a.incidentId)).toEqual([incidents[1]!.id]);
    const taken = assigned(incidents[1]!, p, T0 + 3);
    expect(planAssignments([incidents[0]!, taken.incident, incidents[2]!], [taken.patrol], T0 + 4, 1)).toEqual([]);
    expect(queue([incidents[0]!, taken.incident, incidents[2]!]).map((i) => i.id)).toEqual([incidents[2]!.id, incidents[0]!.id]);
    // Resolved elsewhere: the patrol is free again and takes the next in line.
    const freed = { ...taken.patrol, status: "available" as const, incidentId: null };
    expect(planAssignments([incidents[0]!, incidents[2]!], [freed], T0 + 5, 1).map((a) => a.incidentId)).toEqual([incidents[2]!.id]);
  });

  test("no patrol is planned twice, no incident twice", () => {
    const incidents = Array.from({ length: 30 }, (_, n) => incident(n, { latitude: 43 + (n % 7), longitude: 1 + (n % 5) }, n % 11, T0 + n));
    const patrols = Array.from({ length: 12 }, (_, n) => patrol(`p${n}`, { latitude: 44 + (n % 4), longitude: 2 + (n % 3) }));
    const plan = planAssignments(incidents, patrols, T0, 1);
    expect(plan.length).toBe(12);
    expect(new Set(plan.map((a) => a.patrolId)).size).toBe(12);
    expect(new Set(plan.map((a) => a.incidentId)).size).toBe(12);
  });
});

describe("acknowledgement time-outs", () => {
  test("due from the stored assignment time, oldest first; never for other states", () => {
    const p1 = patrol("a", PARIS);
    const p2 = patrol("b", PARIS);
    const x = assigned(incident(1, PARIS, 10), p1, T0 + 1000).incident;
    const y = assigned(incident(2, PARIS, 10), p2, T0).incident;
    const open = incident(3, PARIS, 10);
    expect(ackDeadline(x, 60_000)).toBe(T0 + 61_000);
    expect(ackDeadline(open, 60_000)).toBeNull();
    expect(dueTimeouts([x, y, open], T0 + 59_999, 60_000)).toEqual([]);
    expect(dueTimeouts([x, y, open], T0 + 60_000, 60_000).map((i) => i.id)).toEqual([y.id]);
    expect(dueTimeouts([x, y, open], T0 + 61_000, 60_000).map((i) => i.id)).toEqual([y.id, x.id]);
    const acked = applyCommand(x, { ...p1, status: "assigned", incidentId: x.id }, { type: "acknowledge", patrolId: "a" }, { at: T0 + 2000, actor: "a" });
    if (!acked.ok) throw new Error(acked.reason);
    expect(dueTimeouts([acked.incident], T0 + 999_999, 60_000)).toEqual([]);
  });

  test("the next wake is the nearest future deadline or pass-over expiry", () => {
    const p = patrol("a", PARIS);
    const x = assigned(incident(1, PARIS, 10), p, T0);
    const r = applyCommand(x.incident, x.patrol, { type: "time-out" }, { at: T0 + 100, actor: "timeout" });
    if (!r.ok) throw new Error(r.reason);
    const y = assigned(incident(2, PARIS, 10), r.patrols[0]!, T0 + 200).incident;
    const o = { ackTimeoutMs: 1000, passOverMs: 500 };
    expect(nextWake([r.incident, y], T0 + 200, o)).toBe(T0 + 600);
    expect(nextWake([r.incident, y], T0 + 600, o)).toBe(T0 + 1200);
    expect(nextWake([r.incident, y], T0 + 1200, o)).toBeNull();
    expect(nextWake([], T0, o)).toBeNull();
  });
});
