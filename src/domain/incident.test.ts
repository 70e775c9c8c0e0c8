import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { DeploymentOrder } from "./deployment-order.ts";
import { incidentEventSchema, INCIDENT_STATES, type IncidentState } from "./incident-event.ts";
import {
  applyCommand,
  COMMAND_TYPES,
  holdsAnOrder,
  incidentIdFor,
  MAX_ORDERS_KEPT,
  NOTE_MAX,
  openIncident,
  type Applied,
  type CommandType,
  type Incident,
  type IncidentCommand,
} from "./incident.ts";
import { registerPatrol, type Patrol } from "./patrol.ts";

const T0 = 1_700_000_000_000;
const ctx = (dt: number, actor = "test") => ({ at: T0 + dt, actor });

function order(n: number, over: Partial<DeploymentOrder> = {}): DeploymentOrder {
  return {
    alertId: `alert-r${n}`,
    reportId: `r${n}`,
    studentId: "s1",
    exerciseId: `ex${n}`,
    score: 30 - n,
    threshold: 50,
    latitude: 48.85,
    longitude: 2.35,
    region: "Île-de-France",
    reportedAt: T0 - 1000,
    raisedAt: T0 - 500,
    ...over,
  };
}

const patrol = (id: string, dt = 0): Patrol => registerPatrol(null, id, { name: id, latitude: 48.8, longitude: 2.3 }, T0 + dt);

function ok(r: ReturnType<typeof applyCommand>): Applied {
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r;
}

/** An incident walked to `state` through real transitions, with its holder (P1) as it is then. */
function incidentIn(state: IncidentState): { incident: Incident; holder: Patrol } {
  let incident = openIncident(order(1), ctx(0)).incident;
  let holder = patrol("p1");
  const steps: Record<IncidentState, IncidentCommand[]> = {
    open: [],
    assigned: [{ type: "assign", patrolId: "p1" }],
    acknowledged: [
      { type: "assign", patrolId: "p1" },
      { type: "acknowledge", patrolId: "p1" },
    ],
    "en-route": [
      { type: "assign", patrolId: "p1" },
      { type: "acknowledge", patrolId: "p1" },
      { type: "en-route", patrolId: "p1" },
    ],
    "on-site": [
      { type: "assign", patrolId: "p1" },
      { type: "acknowledge", patrolId: "p1" },
      { type: "en-route", patrolId: "p1" },
      { type: "arrive", patrolId: "p1" },
    ],
    resolved: [
      { type: "assign", patrolId: "p1" },
      { type: "acknowledge", patrolId: "p1" },
      { type: "en-route", patrolId: "p1" },
      { type: "arrive", patrolId: "p1" },
      { type: "resolve", patrolId: "p1", note: "done" },
    ],
    cancelled: [{ type: "cancel", note: "test" }],
  };
  let dt = 0;
  for (const c of steps[state]) {
    dt += 1000;
    const r = ok(applyCommand(incident, holder, c, ctx(dt)));
    incident = r.incident;
    holder = r.patrols.find((p) => p.id === "p1") ?? holder;
  }
  return { incident, holder };
}

/** The right patrol for each command against an incident (what the service passes). */
function commandFor(type: CommandType): IncidentCommand {
  switch (type) {
    case "assign":
      return { type, patrolId: "p2" };
    case "acknowledge":
    case "en-route":
    case "arrive":
      return { type, patrolId: "p1" };
    case "resolve":
      return { type, patrolId: "p1", note: "fixed the build" };
    case "reassign":
      return { type, note: "closer patrol" };
    case "cancel":
      return { type, note: "false alarm" };
    case "time-out":
      return { type };
    case "attach":
      return { type, order: order(9, { score: 3 }) };
  }
}

// Written out by hand (not read from TRANSITIONS): the expected outcome of every state × command.
// A cell is [event, state after] when legal, null when it must be refused.
type Cell = [string, IncidentState] | null;
const H = (e: string, s: IncidentState): Cell => [e, s];
const EXPECTED: Record<IncidentState, Record<CommandType, Cell>> = {
  open: {
    assign: H("assigned", "assigned"),
    acknowledge: null,
    "en-route": null,
    arrive: null,
    resolve: null,
    "time-out": null,
    reassign: null,
    cancel: H("cancelled", "cancelled"),
    attach: H("order-attached", "open"),
  },
  assigned: {
    assign: null,
    acknowledge: H("acknowledged", "acknowledged"),
    "en-route": null,
    arrive: null,
    resolve: null,
    "time-out": H("timed-out", "open"),
    reassign: H("reassigned", "open"),
    cancel: H("cancelled", "cancelled"),
    attach: H("order-attached", "assigned"),
  },
  acknowledged: {
    assign: null,
    acknowledge: null,
    "en-route": H("en-route", "en-route"),
    arrive: null,
    resolve: null,
    "time-out": null,
    reassign: H("reassigned", "open"),
    cancel: H("cancelled", "cancelled"),
    attach: H("order-attached", "acknowledged"),
  },
  "en-route": {
    assign: null,
    acknowledge: null,
    "en-route": null,
    arrive: H("on-site", "on-site"),
    resolve: null,
    "time-out": null,
    reassign: H("reassigned", "open"),
    cancel: H("cancelled", "cancelled"),
    attach: H("order-attached", "en-route"),
  },
  "on-site": {
    assign: null,
    acknowledge: null,
    "en-route": null,
    arrive: null,
    resolve: H("resolved", "resolved"),
    "time-out": null,
    reassign: H("reassigned", "open"),
    cancel: H("cancelled", "cancelled"),
    attach: H("order-attached", "on-site"),
  },
  resolved: { assign: null, acknowledge: null, "en-route": null, arrive: null, resolve: null, "time-out": null, reassign: null, cancel: null, attach: null },
  cancelled: { assign: null, acknowledge: null, "en-route": null, arrive: null, resolve: null, "time-out": null, reassign: null, cancel: null, attach: null },
};

const HOLDER_STATUS: Partial<Record<IncidentState, string>> = { assigned: "assigned", acknowledged: "assigned", "en-route": "en-route", "on-site": "on-site" };

describe("the transition table, every state × every command", () => {
  for (const state of INCIDENT_STATES) {
    for (const type of COMMAND_TYPES) {
      const cell = EXPECTED[state][type];
      test(`${state} × ${type} → ${cell ? cell.join(" → ") : "refused"}`, () => {
        const { incident, holder } = incidentIn(state);
        const p = type === "assign" ? patrol("p2", 500) : incident.patrolId ? holder : null;
        const r = applyCommand(incident, p, commandFor(type), ctx(60_000, "actor-1"));
        if (!cell) {
          expect(r.ok).toBe(false);
          if (r.ok) return;
          expect(r.code).toBe("illegal");
          expect(r.state).toBe(state);
          expect(r.reason).toContain(`it is ${state}`);
          return;
        }
        const a = ok(r);
        expect(a.event.type as string).toBe(cell[0]);
        expect(a.incident.state).toBe(cell[1]);
        expect(a.event.state).toBe(cell[1]);
        expect(a.incident.seq).toBe(incident.seq + 1);
        expect(a.event.eventId).toBe(`${incident.id}:${incident.seq + 1}`);
        expect(a.event.actor).toBe("actor-1");
        expect(a.event.at).toBe(T0 + 60_000);
        expect(incidentEventSchema.safeParse(a.event).success).toBe(true);
        // The holder after the event: its status follows the incident, or it is free again.
        const after = a.incident.patrolId;
        expect(a.event.patrolId).toBe(after);
        const touched = new Map(a.patrols.map((x) => [x.id, x]));
        if (after) {
          const h = touched.get(after) ?? (after === holder.id ? holder : null);
          expect(h?.incidentId).toBe(incident.id);
          expect(h?.status as string).toBe(HOLDER_STATUS[a.incident.state]!);
        }
        if (incident.patrolId && incident.patrolId !== after) {
          expect(touched.get(incident.patrolId)?.status).toBe("available");
          expect(touched.get(incident.patrolId)?.incidentId).toBeNull();
        }
      });
    }
  }

  test("a patrol command from a patrol that does not hold the incident is forbidden, in every held state", () => {
    for (const state of ["assigned", "acknowledged", "en-route", "on-site"] as const) {
      const { incident, holder } = incidentIn(state);
      for (const type of ["acknowledge", "en-route", "arrive", "resolve"] as const) {
        const c = { ...commandFor(type), patrolId: "p9" } as IncidentCommand;
        const r = applyCommand(incident, holder, c, ctx(60_000));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.code).toBe("forbidden");
          expect(r.state).toBe(state);
          expect(r.reason).toContain("held by patrol p1");
        }
      }
    }
  });

  test("assigning a patrol that is not available is refused, naming its status", () => {
    const { incident } = incidentIn("open");
    const busy = { ...patrol("p2"), status: "en-route" as const, incidentId: "inc-other" };
    const off = { ...patrol("p3"), status: "off-duty" as const };
    for (const p of [busy, off]) {
      const r = applyCommand(incident, p, { type: "assign", patrolId: p.id }, ctx(1));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe("unavailable");
        expect(r.reason).toContain(p.status);
        expect(r.patrolStatus).toBe(p.status);
      }
    }
  });

  test("an order already attached is a duplicate, not a second attachment", () => {
    const { incident } = incidentIn("assigned");
    const r = applyCommand(incident, null, { type: "attach", order: order(1) }, ctx(1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe("duplicate");
  });

  test("a note longer than the limit is refused", () => {
    const { incident, holder } = incidentIn("on-site");
    const r = applyCommand(incident, holder, { type: "resolve", patrolId: "p1", note: "x".repeat(NOTE_MAX + 1) }, ctx(1));
    expect(r.ok ? "applied" : r.code).toBe("invalid");
  });
});

describe("incidents", () => {
  test("the id derives from the first order's alertId only: the same on every redelivery, URL-safe", () => {
    const a = openIncident(order(1), ctx(0)).incident;
    const b = openIncident(order(1, { studentId: "other" }), ctx(99)).incident;
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(incidentIdFor("alert-r1"));
    expect(a.id).toMatch(/^inc-[0-9a-f]{32}$/);
    expect(incidentIdFor("alert-r2")).not.toBe(a.id);
  });

  test("opening makes event 1, `opened`, with the order's fields", () => {
    const { incident, event } = openIncident(order(1), ctx(0, "dispatch"));
    expect(incident.state).toBe("open");
    expect(event).toMatchObject({
      eventId: `${incident.id}:1`,
      seq: 1,
      type: "opened",
      state: "open",
      alertId: "alert-r1",
      exerciseId: "ex1",
      lowestScore: 29,
      orders: 1,
      patrolId: null,
    });
    expect(incidentEventSchema.safeParse(event).success).toBe(true);
  });

  test("attached orders lower the lowest score, count every order, keep the first and the most recent", () => {
    let inc = openIncident(order(1, { score: 40 }), ctx(0)).incident;
    for (let i = 2; i <= 50; i++) inc = ok(applyCommand(inc, null, { type: "attach", order: order(i, { score: 40 - (i % 7) }) }, ctx(i))).incident;
    expect(inc.orderCount).toBe(50);
    expect(inc.orders.length).toBe(MAX_ORDERS_KEPT);
    expect(inc.orders[0]!.alertId).toBe("alert-r1");
    expect(inc.orders[inc.orders.length - 1]!.alertId).toBe("alert-r50");
    expect(inc.lowestScore).toBe(34);
    expect(holdsAnOrder(inc, "alert-r1")).toBe(true);
    expect(holdsAnOrder(inc, "alert-r50")).toBe(true);
  });

  test("a time-out frees the patrol, clears the run's times, and records the patrol as passed over", () => {
    const { incident, holder } = incidentIn("assigned");
    const r = ok(applyCommand(incident, holder, { type: "time-out" }, ctx(90_000, "timeout")));
    expect(r.incident.state).toBe("open");
    expect(r.incident.patrolId).toBeNull();
    expect(r.incident.times.assignedAt).toBeNull();
    expect(r.incident.times.openedAt).toBe(T0);
    expect(r.incident.passedOver).toEqual([{ patrolId: "p1", at: T0 + 90_000 }]);
    expect(r.patrols).toEqual([{ ...holder, status: "available", incidentId: null, since: T0 + 90_000 }]);
  });

  test("transition times never go back, even with a clock that does", () => {
    const { incident, holder } = incidentIn("acknowledged");
    const r = ok(applyCommand(incident, holder, { type: "en-route", patrolId: "p1" }, { at: T0 - 10_000, actor: "x" }));
    expect(r.event.at).toBe(incident.updatedAt);
    expect(r.incident.times.enRouteAt).toBeGreaterThanOrEqual(r.incident.times.acknowledgedAt!);
  });

  test("on any sequence of commands: held iff in a held state, holder status follows the state, seq counts events", () => {
    const held = new Set(["assigned", "acknowledged", "en-route", "on-site"]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...COMMAND_TYPES), { maxLength: 40 }), (types) => {
        let inc = openIncident(order(1), ctx(0)).incident;
        const patrols = new Map([
          ["p1", patrol("p1")],
          ["p2", patrol("p2")],
        ]);
        let events = 1;
        types.forEach((type, i) => {
          const free = [...patrols.values()].find((p) => p.status === "available");
          let c = commandFor(type);
          if (c.type === "assign") c = { type: "assign", patrolId: free?.id ?? "p1" };
          if ("patrolId" in c && c.type !== "assign") c = { ...c, patrolId: inc.patrolId ?? "p1" };
          if (c.type === "attach") c = { type: "attach", order: order(100 + i) };
          const p = c.type === "assign" ? patrols.get(c.patrolId)! : inc.patrolId ? patrols.get(inc.patrolId)! : null;
          const r = applyCommand(inc, p, c, ctx(i * 1000));
          if (!r.ok) return;
          inc = r.incident;
          events++;
          for (const q of r.patrols) patrols.set(q.id, q);
        });
        expect(inc.seq).toBe(events);
        expect(inc.patrolId !== null).toBe(held.has(inc.state));
        for (const p of patrols.values()) {
          if (p.id === inc.patrolId) expect(p.status as string).toBe(HOLDER_STATUS[inc.state]!);
          else expect(p.status).toBe("available");
          expect(p.incidentId).toBe(p.id === inc.patrolId ? inc.id : null);
        }
      }),
      { numRuns: 300 },
    );
  });
});
