import { afterEach, expect, test } from "bun:test";
import type { PatrolJson } from "../dispatch-schemas.ts";
import { TEST_PATROL, testApp } from "../testing.ts";
import { dispatchFixture } from "../../../tests/support/dispatch-fixture.ts";
import { incidentsRoutes } from "./incidents.ts";
import { patrolsRoutes, patrolStreamRoutes } from "./patrols.ts";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function setup() {
  const d = await dispatchFixture();
  open.push(d);
  return { ...d, ...testApp(() => [patrolsRoutes({ dispatch: d.service }), incidentsRoutes({ dispatch: d.service })]) };
}

const PATROL_KEYS = ["incidentId", "latitude", "longitude", "name", "patrolId", "positionAt", "since", "status"];

test("register, update, list, position, off duty: each answers the patrol in the contract's shape", async () => {
  const { call } = await setup();
  const put = await call("PUT", "/api/patrols/p-07", { body: { name: "Team Lyon 2", latitude: 45.76, longitude: 4.83 } });
  expect(put.status).toBe(200);
  const p = (await put.json()) as PatrolJson;
  expect(Object.keys(p).sort()).toEqual(PATROL_KEYS);
  expect(p).toMatchObject({ patrolId: "p-07", name: "Team Lyon 2", status: "available", latitude: 45.76, longitude: 4.83, incidentId: null });
  expect(typeof p.positionAt).toBe("number");
  expect((await (await call("PUT", "/api/patrols/p-07", { body: { name: "Team Lyon 3", latitude: 45.7, longitude: 4.8 } })).json()).name).toBe("Team Lyon 3");
  await call("PUT", "/api/patrols/p-01", { body: { name: "One", latitude: 48.85, longitude: 2.35 } });
  const list = (await (await call("GET", "/api/patrols", { token: "viewer" })).json()) as { patrols: PatrolJson[] };
  expect(list.patrols.map((x) => [x.patrolId, x.status])).toEqual([
    ["p-01", "available"],
    ["p-07", "available"],
  ]);
  const moved = await call("POST", "/api/patrols/p-07/position", { body: { latitude: 45.5, longitude: 4.9 } });
  expect([moved.status, ((await moved.json()) as PatrolJson).latitude]).toEqual([200, 45.5]);
  const off = await call("DELETE", "/api/patrols/p-07");
  expect([off.status, ((await off.json()) as PatrolJson).status]).toEqual([200, "off-duty"]);
  // Registered again, it is back on duty.
  expect((await (await call("PUT", "/api/patrols/p-07", { body: { name: "Back", latitude: 45.7, longitude: 4.8 } })).json()).status).toBe("available");
});

test("off duty is refused while the patrol holds an incident: 409 with its status", async () => {
  const { call, raise } = await setup();
  await call("PUT", "/api/patrols/p-1", { body: { name: "One", latitude: 45.7, longitude: 4.8 } });
  const id = await raise("s-1");
  expect((await call("POST", `/api/incidents/${id}/reassign`, { body: { patrolId: "p-1" } })).status).toBe(200);
  const r = await call("DELETE", "/api/patrols/p-1");
  expect(r.status).toBe(409);
  const body = (await r.json()) as { error: string; state: string };
  expect(body.state).toBe("assigned");
  expect(body.error).toContain(id);
});

test("bad input: 400 naming the field, before anything changes; unknown patrols 404", async () => {
  const { call } = await setup();
  const cases: Array<[string, string, unknown, string]> = [
    ["PUT", "/api/patrols/P%201", { name: "x", latitude: 1, longitude: 1 }, "patrolId must be"],
    ["PUT", `/api/patrols/${"a".repeat(33)}`, { name: "x", latitude: 1, longitude: 1 }, "patrolId must be"],
    ["PUT", "/api/patrols/p-1", { latitude: 1, longitude: 1 }, "name must be a string"],
    ["PUT", "/api/patrols/p-1", { name: "   ", latitude: 1, longitude: 1 }, "name must not be blank"],
    ["PUT", "/api/patrols/p-1", { name: "x".repeat(101), latitude: 1, longitude: 1 }, "name must be at most 100"],
    ["PUT", "/api/patrols/p-1", { name: "x", latitude: 91, longitude: 1 }, "latitude must be between -90 and 90"],
    ["PUT", "/api/patrols/p-1", { name: "x", latitude: 1, longitude: "2" }, "longitude must be a number"],
    ["PUT", "/api/patrols/p-1", [1], "the body must be a JSON object"],
    ["POST", "/api/patrols/p-1/position", null, "the body must be a JSON object"],
    ["PUT", "/api/patrols/p-1", "{", "request body is not valid JSON"],
    ["PUT", "/api/patrols/p-1", undefined, "request body is not valid JSON"],
    ["POST", "/api/patrols/p-1/position", { latitude: 1 }, "longitude must be a number"],
    ["POST", "/api/patrols/p-1/position", { latitude: 1e308, longitude: 1 }, "latitude must be between"],
    ["DELETE", "/api/patrols/bad_id", undefined, "patrolId must be"],
  ];
  for (const [method, path, body, error] of cases) {
    const r = await call(method, path, { body });
    expect({ method, path, body, status: r.status, error: ((await r.json()) as { error: string }).error }).toMatchObject({
      method,
      path,
      body,
      status: 400,
      error: expect.stringContaining(error),
    });
  }
  expect((await (await call("GET", "/api/patrols")).json()).patrols).toEqual([]);
  for (const [method, path, body] of [
    ["DELETE", "/api/patrols/p-9", undefined],
    ["POST", "/api/patrols/p-9/position", { latitude: 1, longitude: 1 }],
  ] as const) {
    const r = await call(method, path, { body });
    expect({ path, status: r.status, error: ((await r.json()) as { error: string }).error }).toEqual({ path, status: 404, error: "no patrol p-9" });
  }
});

test("a patrol's token reports its own position only; viewers read; operators act for any patrol", async () => {
  const { call } = await setup();
  for (const id of [TEST_PATROL, "p-2"]) await call("PUT", `/api/patrols/${id}`, { body: { name: id, latitude: 45, longitude: 4 } });
  expect((await call("POST", `/api/patrols/${TEST_PATROL}/position`, { token: "patrol", body: { latitude: 46, longitude: 5 } })).status).toBe(200);
  const other = await call("POST", "/api/patrols/p-2/position", { token: "patrol", body: { latitude: 46, longitude: 5 } });
  expect([other.status, ((await other.json()) as { scope: string }).scope]).toEqual([403, "patrol"]);
  expect((await call("POST", "/api/patrols/p-2/position", { token: "operator", body: { latitude: 46, longitude: 5 } })).status).toBe(200);
  expect((await call("POST", "/api/patrols/p-2/position", { token: "viewer", body: { latitude: 46, longitude: 5 } })).status).toBe(403);
  expect((await call("PUT", `/api/patrols/${TEST_PATROL}`, { token: "patrol", body: { name: "x", latitude: 1, longitude: 1 } })).status).toBe(403);
  expect((await call("GET", "/api/patrols", { token: "patrol" })).status).toBe(403);
  expect((await call("GET", "/api/patrols", { token: "viewer" })).status).toBe(200);
});

test("without a dispatch service every patrol route answers 404 naming why", async () => {
  const { call } = testApp(() => [patrolsRoutes({ dispatch: null }), patrolStreamRoutes(null)]);
  for (const [method, path, body] of [
    ["PUT", "/api/patrols/p-1", { name: "x", latitude: 1, longitude: 1 }],
    ["DELETE", "/api/patrols/p-1", undefined],
    ["GET", "/api/patrols", undefined],
    ["POST", "/api/patrols/p-1/position", { latitude: 1, longitude: 1 }],
    ["GET", "/api/patrols/p-1/stream", undefined],
  ] as const) {
    const r = await call(method, path, { body });
    expect({ path, status: r.status, error: ((await r.json()) as { error: string }).error }).toEqual({
      path,
      status: 404,
      error: "dispatch is not configured in this process",
    });
  }
});
