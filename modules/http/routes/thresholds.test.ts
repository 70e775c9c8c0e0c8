import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileThresholdStore } from "../../../src/adapters/embedded/file-thresholds.ts";
import { testApp } from "../testing.ts";
import { thresholdsRoutes } from "./thresholds.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-thresholds-routes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const thresholds = FileThresholdStore.open(join(dir, `${crypto.randomUUID()}.json`), 50);
  const t = testApp((log) => [thresholdsRoutes({ thresholds, log })]);
  // The group writes its audit lines through the same logger as the access lines.
  return { ...t, auditLog: t.log };
}

test("set, default, remove: each answers the new state, and leaves one audit line naming the token id", async () => {
  const { call, auditLog } = setup();
  expect(await (await call("GET", "/api/thresholds", { token: "viewer" })).json()).toMatchObject({ default: 50, thresholds: {} });
  const set = await call("PUT", "/api/thresholds/c00.ex00", { body: { threshold: 70 } });
  expect(set.status).toBe(200);
  expect(await set.json()).toMatchObject({ default: 50, thresholds: { "c00.ex00": 70 } });
  expect((await (await call("PUT", "/api/thresholds", { body: { default: 40 } })).json()).default).toBe(40);
  expect((await (await call("DELETE", "/api/thresholds/c00.ex00")).json()).thresholds).toEqual({});
  const audit = auditLog.lines.filter((l) => l.audit === "threshold");
  expect(audit.map((l) => [l.action, l.exerciseId, l.threshold, l.tokenId])).toEqual([
    ["set", "c00.ex00", 70, "env:operator"],
    ["default", undefined, 40, "env:operator"],
    ["remove", "c00.ex00", undefined, "env:operator"],
  ]);
  expect(audit.every((l) => l.level === "info" && l.msg.includes("by env:operator"))).toBe(true);
  expect(auditLog.text()).not.toContain("unit-operator-token");
});

test("a refused change changes nothing and leaves no audit line; errors name the field", async () => {
  const { call, auditLog } = setup();
  const cases: Array<[string, string, unknown, string]> = [
    ["PUT", "/api/thresholds/c00", { threshold: 101 }, "threshold must be between 0 and 100"],
    ["PUT", "/api/thresholds/c00", { threshold: 40.5 }, "threshold must be a whole percent"],
    ["PUT", "/api/thresholds/c00", { threshold: "40" }, "threshold must be a number"],
    ["PUT", "/api/thresholds/c00", {}, "threshold must be a number"],
    ["PUT", "/api/thresholds/c00", [40], "the body must be a JSON object"],
    ["PUT", "/api/thresholds/c00", "nope", "request body is not valid JSON"],
    ["PUT", "/api/thresholds/c00", `{"threshold":${"[".repeat(40)}${"]".repeat(40)}}`, "request body nests arrays and objects deeper than 16 levels"],
    ["PUT", "/api/thresholds/bad%20id", { threshold: 40 }, "exerciseId must be"],
    ["PUT", "/api/thresholds", { default: 200 }, "default: threshold must be between 0 and 100"],
    ["DELETE", "/api/thresholds/bad%20id", undefined, "exerciseId must be"],
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
  expect((await (await call("GET", "/api/thresholds")).json()).thresholds).toEqual({});
  expect(auditLog.lines.filter((l) => l.audit)).toEqual([]);
});

test("any Content-Type is read as JSON (curl -d sends form-urlencoded)", async () => {
  const { call } = setup();
  const r = await call("PUT", "/api/thresholds/bsq", { body: '{"threshold": 70}', headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(r.status).toBe(200);
  expect((await r.json()).thresholds).toEqual({ bsq: 70 });
});

test("reads take the viewer or operator token, changes only the operator's", async () => {
  const { call } = setup();
  expect((await call("GET", "/api/thresholds", { token: "viewer" })).status).toBe(200);
  expect((await call("PUT", "/api/thresholds", { token: "viewer", body: { default: 10 } })).status).toBe(403);
  expect((await call("DELETE", "/api/thresholds/x", { token: "ingest" })).status).toBe(403);
  expect((await call("GET", "/api/thresholds", { token: null })).status).toBe(401);
});
