import { expect, test } from "bun:test";
import { SCOPES, allows } from "../../src/domain/token.ts";
import { apiRoutes, opsRoutes } from "./api.ts";
import { routeTable } from "./routes/table.ts";
import { TEST_PATROL, testApp } from "./testing.ts";
import { FileThresholdStore } from "../../src/adapters/embedded/file-thresholds.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ingestRoutes } from "../ingest/ingest.ts";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { TOPICS } from "../../src/ports/bus.ts";

/** The example path of a table route: every path parameter filled with a valid value. */
const examplePath = (p: string, patrolId = TEST_PATROL) =>
  p.replaceAll("{exerciseId}", "c00.ex00").replaceAll("{name}", "app.js").replaceAll("{patrolId}", patrolId).replaceAll("{incidentId}", "inc-0");

test("the scope matrix, read from the route table: every route × {no token, each scope}", async () => {
  const dir = mkdtempSync(join(tmpdir(), "acu-server-"));
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.reports]: 1, [TOPICS.alerts]: 1, [TOPICS.deadLetters]: 1 });
  const thresholds = FileThresholdStore.open(join(dir, "t.json"), 50);
  const dashboard = { html: "<p>", patrolHtml: "<p>", assets: { "app.js": { body: "", type: "text/javascript" } } };
  const { call } = testApp((log) => [
    ingestRoutes({ bus, log }),
    apiRoutes({ thresholds, feed: null, analytics: null, dashboard, log }),
    opsRoutes({ ready: () => ({ ready: true, waitingFor: [] }) }),
  ]);
  const seen: string[] = [];
  try {
    for (const def of routeTable().defs) {
      const { method, path } = def.route;
      const at = examplePath(path);
      const none = await call(method.toUpperCase(), at, { token: null });
      if (def.scope === null) expect({ path, status: none.status }).not.toEqual({ path, status: 401 });
      else expect({ path, status: none.status, scope: ((await none.json()) as { scope: string }).scope }).toEqual({ path, status: 401, scope: def.scope });
      for (const s of SCOPES) {
        const r = await call(method.toUpperCase(), at, { token: s });
        const ok = def.scope === null || allows(s, def.scope);
        expect({ op: def.route.operationId, s, denied: r.status === 403 }).toEqual({ op: def.route.operationId, s, denied: !ok });
        seen.push(`${def.route.operationId} ${s}`);
      }
    }
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(seen.length).toBe(routeTable().defs.length * SCOPES.length);
});

test("a patrol token acts for its own patrol only on routes bound to the path's patrol: another's is 403 before the route; an operator acts for any", async () => {
  const { call } = testApp(() => []);
  const bound = routeTable().defs.filter((d) => d.patrol === "path");
  expect(bound.map((d) => d.route.operationId).sort()).toEqual(["reportPatrolPosition", "streamPatrol"]);
  for (const def of bound) {
    const method = def.route.method.toUpperCase();
    const other = await call(method, examplePath(def.route.path, "p-2"), { token: "patrol" });
    const body = (await other.json()) as { error: string; scope: string };
    expect({ op: def.route.operationId, status: other.status, scope: body.scope }).toEqual({ op: def.route.operationId, status: 403, scope: "patrol" });
    expect(body.error).toContain(`acts for patrol ${TEST_PATROL}, not p-2`);
    // Past the scope check (no group serves it here): 404, not 403.
    for (const [token, patrolId] of [
      ["patrol", TEST_PATROL],
      ["operator", "p-2"],
    ] as const)
      expect({ op: def.route.operationId, token, status: (await call(method, examplePath(def.route.path, patrolId), { token })).status }).toEqual({
        op: def.route.operationId,
        token,
        status: 404,
      });
    // Percent-encoding does not get around it.
    expect((await call(method, examplePath(def.route.path, "p%2D2"), { token: "patrol" })).status).toBe(403);
    expect((await call(method, examplePath(def.route.path, "p%2D1"), { token: "patrol" })).status).toBe(404);
  }
  // Holder-bound routes are the incident's steps; the patrol token reads nothing as a viewer.
  expect(
    routeTable()
      .defs.filter((d) => d.patrol === "holder")
      .map((d) => d.route.operationId)
      .sort(),
  ).toEqual(["acknowledgeIncident", "incidentArrived", "incidentEnRoute", "resolveIncident"]);
  expect((await call("GET", "/api/incidents", { token: "patrol" })).status).toBe(403);
});

test("default deny: a path the table does not have needs a token (reads viewer, writes operator), then 404", async () => {
  const { call } = testApp(() => []);
  expect((await call("GET", "/api/nothing-here", { token: null })).status).toBe(401);
  expect((await call("POST", "/api/nothing-here", { token: "viewer" })).status).toBe(403);
  expect((await call("GET", "/api/nothing-here", { token: "viewer" })).status).toBe(404);
  // A route of a role this process does not run: known to the table, "no route" here.
  expect((await call("GET", "/api/thresholds", { token: "viewer" })).status).toBe(404);
  // Another method on a known path: 405 with the methods it has.
  const r = await call("PATCH", "/api/thresholds/x");
  expect([r.status, r.headers.get("allow")]).toEqual([405, "PUT, DELETE"]);
});

test("one access line per request: method, route pattern, status, duration, token id (open routes read none); never the token, the path escaped", async () => {
  const { call, log } = testApp(() => [opsRoutes({ ready: () => ({ ready: true, waitingFor: [] }) })]);
  await call("GET", "/api/thresholds", { token: "viewer" });
  await call("GET", "/api/nothing%0Ahere%20x", { token: null });
  await call("GET", "/readyz", { token: null });
  const access = log.lines.filter((l) => l.access);
  expect(access.map((l) => [l.method, l.route, l.status, l.tokenId])).toEqual([
    ["GET", "/api/thresholds", 404, "env:viewer"],
    ["GET", "unmatched", 401, null],
    ["GET", "/readyz", 200, null],
  ]);
  expect(access.every((l) => typeof l.durationMs === "number" && (l.durationMs as number) >= 0)).toBe(true);
  expect(access[1]!.msg).toMatch(/^http: GET unmatched 401 \d+\.\d ms$/);
  expect(access[1]!.path).toBe("/api/nothing%0Ahere%20x");
  expect(log.text()).not.toContain("unit-viewer-token");
  expect(log.lines.some((l) => String(l.msg).includes("\n"))).toBe(false);
});
