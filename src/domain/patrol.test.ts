import { expect, test } from "bun:test";
import {
  holderStatus,
  isAvailable,
  movePatrol,
  patrolIdSchema,
  patrolOffDuty,
  patrolRegistrationSchema,
  positionSchema,
  problemOf,
  registerPatrol,
} from "./patrol.ts";

const T0 = 1_700_000_000_000;
const at = { name: "Alpha", latitude: 45.76, longitude: 4.83 };

test("a new patrol is available at its position", () => {
  const p = registerPatrol(null, "p-1", at, T0);
  expect(p).toEqual({ id: "p-1", name: "Alpha", status: "available", latitude: 45.76, longitude: 4.83, positionAt: T0, incidentId: null, since: T0 });
  expect(isAvailable(p)).toBe(true);
});

test("registering again updates name and position; off duty comes back available; a busy patrol keeps its incident", () => {
  const p = registerPatrol(null, "p-1", at, T0);
  const off = patrolOffDuty(p, T0 + 1);
  expect(off.ok && off.patrol.status).toBe("off-duty");
  const back = registerPatrol(off.ok ? off.patrol : p, "p-1", { name: "Alpha 2", latitude: 1, longitude: 2 }, T0 + 2);
  expect(back).toMatchObject({ status: "available", name: "Alpha 2", latitude: 1, longitude: 2, since: T0 + 2 });
  const busy = { ...p, status: "en-route" as const, incidentId: "inc-1", since: T0 + 3 };
  expect(registerPatrol(busy, "p-1", at, T0 + 4)).toMatchObject({ status: "en-route", incidentId: "inc-1", since: T0 + 3, positionAt: T0 + 4 });
});

test("off duty is refused while the patrol holds an incident, and idempotent otherwise", () => {
  const p = registerPatrol(null, "p-1", at, T0);
  const busy = { ...p, status: "assigned" as const, incidentId: "inc-7" };
  const r = patrolOffDuty(busy, T0 + 1);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.reason).toContain("inc-7");
  const once = patrolOffDuty(p, T0 + 1);
  const twice = once.ok ? patrolOffDuty(once.patrol, T0 + 2) : once;
  expect(twice.ok && twice.patrol.since).toBe(T0 + 1);
  expect(once.ok && isAvailable(once.patrol)).toBe(false);
});

test("a position keeps its newest time", () => {
  const p = registerPatrol(null, "p-1", at, T0);
  expect(movePatrol(p, { latitude: 1, longitude: 1 }, T0 + 5)).toMatchObject({ latitude: 1, longitude: 1, positionAt: T0 + 5 });
  expect(movePatrol(p, { latitude: 1, longitude: 1 }, T0 - 5).positionAt).toBe(T0);
});

test("the holder's status follows the incident's state", () => {
  expect(["assigned", "acknowledged", "en-route", "on-site"].map((s) => holderStatus(s as "assigned"))).toEqual([
    "assigned",
    "assigned",
    "en-route",
    "on-site",
  ]);
});

test("inputs are checked with a message naming the field", () => {
  expect(problemOf(patrolIdSchema, "p-1")).toBeNull();
  expect(problemOf(patrolIdSchema, "P1")).toContain("patrolId");
  expect(problemOf(patrolIdSchema, "x".repeat(33))).toContain("patrolId");
  expect(problemOf(patrolRegistrationSchema, { name: " ", latitude: 1, longitude: 1 })).toContain("name");
  expect(problemOf(patrolRegistrationSchema, { name: "a", latitude: 91, longitude: 1 })).toContain("latitude");
  expect(problemOf(positionSchema, { latitude: 1, longitude: "e" })).toContain("longitude");
  expect(problemOf(positionSchema, { latitude: 1, longitude: Number.NaN })).toContain("longitude");
  expect(problemOf(positionSchema, null)).toContain("expected an object");
});
