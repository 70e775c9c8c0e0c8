import { describe, expect, test } from "bun:test";
import type { Incident, IncidentState, Patrol } from "./dispatch-model.ts";
import { PatrolView } from "./patrol-view.ts";

const ME = "p-07";
const patrol: Patrol = { patrolId: ME, name: "Team Lyon 2", status: "available", latitude: 45.77, longitude: 4.89, positionAt: 1, incidentId: null };

function inc(id: string, state: IncidentState, revision: number, over: Partial<Incident> = {}): Incident {
  return {
    incidentId: id,
    studentId: `s-${id}`,
    state,
    patrolId: state === "open" ? null : ME,
    exerciseId: "bsq",
    lowestScore: 12,
    orderCount: 1,
    alertIds: [`alert-${id}`],
    latitude: 45.76,
    longitude: 4.83,
    region: "Auvergne-Rhône-Alpes",
    place: "Lyon",
    times: {
      openedAt: 1000,
      assignedAt: state === "open" ? null : 2000,
      acknowledgedAt: null,
      enRouteAt: null,
      onSiteAt: null,
      resolvedAt: null,
      cancelledAt: null,
    },
    note: "",
    revision,
    ...over,
  };
}
const kinds = (cs: { kind: string }[]) => cs.map((c) => c.kind);

describe("the patrol's view of its assignments", () => {
  test("a new assignment is announced once; its transitions update it; resolving ends it", () => {
    const v = new PatrolView(ME);
    expect(kinds(v.apply({ type: "assignment", incident: null, patrol, cursor: "1" }))).toEqual(["updated"]);
    expect(v.current).toBeNull();
    expect(kinds(v.apply({ type: "incident", incident: inc("a", "assigned", 2), cursor: "2" }))).toEqual(["assigned"]);
    expect(v.current?.incidentId).toBe("a");
    // The same version again (the page's own call answered, then the frame): nothing new.
    expect(v.incident(inc("a", "assigned", 2))).toEqual([{ kind: "updated" }]);
    expect(kinds(v.incident(inc("a", "acknowledged", 3)))).toEqual(["updated"]);
    expect(v.current?.state).toBe("acknowledged");
    // An older version arriving late changes nothing.
    expect(v.incident(inc("a", "assigned", 2))).toEqual([]);
    expect(v.current?.state).toBe("acknowledged");
    const end = v.incident(inc("a", "resolved", 6));
    expect(kinds(end)).toEqual(["ended"]);
    expect(v.current).toBeNull();
    expect(v.ended.map((e) => [e.incident.incidentId, e.why])).toEqual([["a", "resolved"]]);
    expect(v.announced).toEqual(["a@2000"]);
  });

  test("on reconnection the assignment frame is the truth, and the replay after it cannot bring the past back", () => {
    const v = new PatrolView(ME);
    v.apply({ type: "assignment", incident: inc("a", "assigned", 2), patrol, cursor: "1" });
    expect(v.announced).toEqual(["a@2000"]);
    // While the socket was down: a resolved by an operator, b assigned. The first frame says b…
    const b = inc("b", "assigned", 2, { times: { ...inc("b", "assigned", 2).times, assignedAt: 9000 } });
    expect(kinds(v.apply({ type: "assignment", incident: b, patrol, cursor: "5" }))).toEqual(["ended", "assigned"]);
    expect(v.current?.incidentId).toBe("b");
    expect(v.ended[0]?.why).toBe("gone");
    // …then the replay: a's acknowledgement (held by this patrol then) and its resolution.
    expect(v.apply({ type: "incident", incident: inc("a", "acknowledged", 3), cursor: "3" })).toEqual([]);
    expect(v.current?.incidentId).toBe("b");
    v.apply({ type: "incident", incident: inc("a", "resolved", 5), cursor: "4" });
    expect(v.current?.incidentId).toBe("b");
    expect(v.ended.map((e) => [e.incident.incidentId, e.why])).toEqual([["a", "resolved"]]);
    expect(v.announced).toEqual(["a@2000", "b@9000"]);
  });

  test("an incident reassigned away ends as taken; given back later, it is announced again", () => {
    const v = new PatrolView(ME);
    v.apply({ type: "assignment", incident: inc("a", "assigned", 2), patrol, cursor: "1" });
    const away = v.apply({ type: "incident", incident: inc("a", "assigned", 4, { patrolId: "p-99" }), cursor: "2" });
    expect(kinds(away)).toEqual(["ended"]);
    expect(v.ended[0]?.why).toBe("taken");
    const back = inc("a", "assigned", 6, { times: { ...inc("a", "assigned", 6).times, assignedAt: 5000 } });
    expect(kinds(v.apply({ type: "incident", incident: back, cursor: "3" }))).toEqual(["assigned"]);
    expect(v.current?.revision).toBe(6);
    expect(v.ended).toEqual([]);
    expect(v.announced).toEqual(["a@2000", "a@5000"]);
  });

  test("an empty assignment frame ends what it held; cancelled and timed-out incidents say so", () => {
    const v = new PatrolView(ME);
    v.apply({ type: "assignment", incident: inc("a", "acknowledged", 3), patrol, cursor: "1" });
    // Already acknowledged when the page opened: shown, not announced.
    expect(v.announced).toEqual([]);
    expect(kinds(v.apply({ type: "assignment", incident: null, patrol, cursor: "2" }))).toEqual(["ended"]);
    v.apply({ type: "incident", incident: inc("a", "cancelled", 7), cursor: "3" });
    expect(v.ended[0]?.why).toBe("cancelled");
    v.apply({ type: "incident", incident: inc("c", "assigned", 2), cursor: "4" });
    // The acknowledgement timed out: back to open, with no patrol.
    v.apply({ type: "incident", incident: inc("c", "open", 3), cursor: "5" });
    expect(v.current).toBeNull();
    expect(v.ended[0]?.why).toBe("taken");
    v.apply({ type: "patrol", patrol: { ...patrol, status: "off-duty" }, cursor: "6" });
    expect(v.patrol?.status).toBe("off-duty");
  });
});
