import { afterEach, expect, test } from "bun:test";
import type { IncidentJson } from "../dispatch-schemas.ts";
import { TEST_PATROL, testApp } from "../testing.ts";
import { dispatchFixture } from "../../../tests/support/dispatch-fixture.ts";
import { incidentsRoutes, incidentStreamRoutes } from "./incidents.ts";
import { patrolsRoutes } from "./patrols.ts";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function setup() {
  const d = await dispatchFixture();
  open.push(d);
  const t = testApp(() => [patrolsRoutes({ dispatch: d.service }), incidentsRoutes({ dispatch: d.service })]);
  for (const [id, lat, lon] of [
    [TEST_PATROL, 45.7, 4.8],
    ["p-2", 45.8, 4.9],
    ["p-3", 48.8, 2.3],
  ] as const)
    expect((await t.call("PUT", `/api/patrols/${id}`, { body: { name: `Team ${id}`, latitude: lat, longitude: lon } })).status).toBe(200);
  /** An incident for the student, given to that patrol by an operator. */
  const assigned = async (student: string, patrolId: string) => {
    const id = await d.raise(student);
    const r = await t.call("POST", `/api/incidents/${id}/reassign`, { body: { patrolId } });
    expect(r.status).toBe(200);
    return id;
  };
  return { ...d, ...t, assigned };
}

const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as IncidentJson & { error: string; state: string; scope: string } });
const INCIDENT_KEYS = [
  "alertIds",
  "exerciseId",
  "incidentId",
  "latitude",
  "longitude",
  "lowestScore",
  "note",
  "orderCount",
  "patrolId",
  "place",
  "raisedAt",
  "region",
  "revision",
  "state",
  "studentId",
  "times",
  "updatedAt",
];

test("the holder's token walks its incident to resolved: each step answers the incident in the contract's shape", async () => {
  const { call, raise, assigned } = await setup();
  const id = await assigned("s-1", TEST_PATROL);
  // Later orders of the student attach: one incident, every order counted, the lowest score kept.
  await raise("s-1", { score: 3 });
  const steps: Array<[string, string, unknown]> = [
    ["acknowledge", "acknowledged", undefined],
    ["en-route", "en-route", undefined],
    ["arrive", "on-site", undefined],
    ["resolve", "resolved", { note: "helped with pointers" }],
  ];
  let revision = 0;
  for (const [step, state, body] of steps) {
    const r = await json(await call("POST", `/api/incidents/${id}/${step}`, { token: "patrol", body }));
    expect({ step, status: r.status, state: r.body.state as string }).toEqual({ step, status: 200, state });
    expect(r.body.revision).toBeGreaterThan(revision);
    revision = r.body.revision;
  }
  const done = (await json(await call("GET", `/api/incidents/${id}`, { token: "viewer" }))).body;
  expect(Object.keys(done).sort()).toEqual(INCIDENT_KEYS);
  expect(done).toMatchObject({
    incidentId: id,
    studentId: "s-1",
    state: "resolved",
    patrolId: null,
    exerciseId: "bsq",
    lowestScore: 3,
    orderCount: 2,
    region: "Auvergne-Rhône-Alpes",
    place: "Lyon",
    note: "helped with pointers",
  });
  expect(done.alertIds).toHaveLength(2);
  for (const t of ["openedAt", "assignedAt", "acknowledgedAt", "enRouteAt", "onSiteAt", "resolvedAt"] as const)
    expect({ t, set: typeof done.times[t] }).toEqual({ t, set: "number" });
  expect(done.times.cancelledAt).toBeNull();
  // The response starts when the first order was raised, before the incident was opened from it.
  expect(typeof done.raisedAt).toBe("number");
  expect(done.raisedAt).toBeLessThanOrEqual(done.times.openedAt);
  // The patrol is free again.
  expect((await (await call("GET", "/api/patrols")).json()).patrols.find((p: { patrolId: string }) => p.patrolId === TEST_PATROL)).toMatchObject({
    status: "available",
    incidentId: null,
  });
});

test("an illegal step is 409 with the current state; another patrol's token 403; an operator acts for the holder", async () => {
  const { call, assigned } = await setup();
  const id = await assigned("s-2", "p-2");
  const early = await json(await call("POST", `/api/incidents/${id}/arrive`, { token: "operator" }));
  expect([early.status, early.body.state]).toEqual([409, "assigned"]);
  expect(early.body.error).toContain("cannot arrive");
  const other = await json(await call("POST", `/api/incidents/${id}/acknowledge`, { token: "patrol" }));
  expect([other.status, other.body.scope]).toEqual([403, "patrol"]);
  expect(other.body.error).toContain("held by patrol p-2");
  expect((await call("POST", `/api/incidents/${id}/acknowledge`, { token: "viewer" })).status).toBe(403);
  // The operator acknowledges for p-2.
  const ack = await json(await call("POST", `/api/incidents/${id}/acknowledge`, { token: "operator" }));
  expect([ack.status, ack.body.state, ack.body.patrolId]).toEqual([200, "acknowledged", "p-2"]);
  const again = await json(await call("POST", `/api/incidents/${id}/acknowledge`, { token: "operator" }));
  expect([again.status, again.body.state]).toEqual([409, "acknowledged"]);
});

test("operators reassign (to a named patrol or back to open) and cancel; refusals are 409 with the state, unknown ids 404", async () => {
  const { call, assigned } = await setup();
  const id = await assigned("s-3", TEST_PATROL);
  const same = await json(await call("POST", `/api/incidents/${id}/reassign`, { body: { patrolId: TEST_PATROL } }));
  expect([same.status, same.body.state]).toEqual([409, "assigned"]);
  const moved = await json(await call("POST", `/api/incidents/${id}/reassign`, { body: { patrolId: "p-2" } }));
  expect([moved.status, moved.body.state, moved.body.patrolId]).toEqual([200, "assigned", "p-2"]);
  // A busy patrol cannot take another: 409 with that patrol's status.
  const busy = await assigned("s-4", "p-3");
  const refused = await json(await call("POST", `/api/incidents/${busy}/reassign`, { body: { patrolId: "p-2" } }));
  expect([refused.status, refused.body.state]).toEqual([409, "assigned"]);
  expect(refused.body.error).toContain("p-2");
  expect((await json(await call("POST", `/api/incidents/${busy}/reassign`, { body: { patrolId: "p-9" } }))).status).toBe(404);
  // Without a patrol (or a body at all), back to open: the assigner gives it to the next nearest.
  const back = await json(await call("POST", `/api/incidents/${id}/reassign`));
  expect([back.status, back.body.state, back.body.patrolId]).toEqual([200, "open", null]);
  const cancelled = await json(await call("POST", `/api/incidents/${id}/cancel`, { body: { note: "student left" } }));
  expect([cancelled.status, cancelled.body.state, cancelled.body.note]).toEqual([200, "cancelled", "student left"]);
  const twice = await json(await call("POST", `/api/incidents/${id}/cancel`));
  expect([twice.status, twice.body.state]).toEqual([409, "cancelled"]);
  // Reassign and cancel are the operators': not the holder's.
  expect((await call("POST", `/api/incidents/${busy}/cancel`, { token: "patrol" })).status).toBe(403);
  expect((await call("POST", `/api/incidents/${busy}/reassign`, { token: "viewer" })).status).toBe(403);
  for (const step of ["acknowledge", "en-route", "arrive", "resolve", "reassign", "cancel"]) {
    const r = await json(await call("POST", `/api/incidents/inc-none/${step}`));
    expect({ step, status: r.status, error: r.body.error }).toEqual({ step, status: 404, error: "no incident inc-none" });
  }
  expect((await call("GET", "/api/incidents/inc-none")).status).toBe(404);
});

test("lists: newest first, by state (active from the view, closed from the store), limited", async () => {
  const { call, raise, assigned, service } = await setup();
  const a = await raise("s-5");
  const b = await assigned("s-6", "p-2");
  const c = await raise("s-7");
  await service.cancel(c, "done");
  const list = async (q: string) =>
    ((await (await call("GET", `/api/incidents${q}`, { token: "viewer" })).json()) as { incidents: IncidentJson[] }).incidents.map((i) => i.incidentId);
  expect(await list("")).toEqual([c, b, a]);
  expect(await list("?state=open")).toEqual([a]);
  expect(await list("?state=assigned,cancelled")).toEqual([c, b]);
  expect(await list("?state=cancelled&limit=1")).toEqual([c]);
  expect(await list("?limit=2")).toEqual([c, b]);
});

test("bad input: 400 naming the field, never a 5xx", async () => {
  const { call, assigned } = await setup();
  const id = await assigned("s-8", TEST_PATROL);
  const cases: Array<[string, string, unknown, string]> = [
    ["GET", "/api/incidents?state=lost", undefined, "state must be one or more of"],
    ["GET", "/api/incidents?state=open,", undefined, "state must be"],
    ["GET", "/api/incidents?limit=0", undefined, "limit must be a whole number from 1 to 1000"],
    ["GET", "/api/incidents?limit=1001", undefined, "limit must be"],
    ["GET", "/api/incidents/bad%20id", undefined, "incidentId must be"],
    ["GET", `/api/incidents/${"x".repeat(161)}`, undefined, "incidentId must be"],
    ["POST", "/api/incidents/bad%20id/acknowledge", undefined, "incidentId must be"],
    ["POST", `/api/incidents/${id}/resolve`, { note: 5 }, "note must be a string"],
    ["POST", `/api/incidents/${id}/resolve`, { note: "x".repeat(1001) }, "note must be at most 1000 characters"],
    ["POST", `/api/incidents/${id}/resolve`, "{", "request body is not valid JSON"],
    ["POST", `/api/incidents/${id}/resolve`, [], "the body must be a JSON object"],
    ["POST", `/api/incidents/${id}/reassign`, { patrolId: "P 1" }, "patrolId must be"],
    ["POST", `/api/incidents/${id}/reassign`, { patrolId: 7 }, "patrolId must be a string"],
    ["POST", `/api/incidents/${id}/cancel`, { note: null }, "note must be a string"],
  ];
  for (const [method, path, body, error] of cases) {
    const r = await call(method, path, { body });
    expect({ path, body, status: r.status, error: ((await r.json()) as { error: string }).error }).toMatchObject({
      path,
      body,
      status: 400,
      error: expect.stringContaining(error),
    });
  }
  // Nothing changed.
  expect((await json(await call("GET", `/api/incidents/${id}`))).body.state).toBe("assigned");
});

test("without a dispatch service every incident route answers 404 naming why", async () => {
  const { call } = testApp(() => [incidentStreamRoutes(null), incidentsRoutes({ dispatch: null })]);
  for (const [method, path] of [
    ["POST", "/api/incidents/inc-1/acknowledge"],
    ["POST", "/api/incidents/inc-1/en-route"],
    ["POST", "/api/incidents/inc-1/arrive"],
    ["POST", "/api/incidents/inc-1/resolve"],
    ["POST", "/api/incidents/inc-1/reassign"],
    ["POST", "/api/incidents/inc-1/cancel"],
    ["GET", "/api/incidents"],
    ["GET", "/api/incidents/inc-1"],
    ["GET", "/api/incidents/stream"],
  ] as const) {
    const r = await call(method, path);
    expect({ path, status: r.status, error: ((await r.json()) as { error: string }).error }).toEqual({
      path,
      status: 404,
      error: "dispatch is not configured in this process",
    });
  }
});
