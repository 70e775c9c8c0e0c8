import { expect, test } from "bun:test";
import { loadConfig, parseRoles, ROLES } from "./config.ts";

test("roles: all by default, a subset by name, unknown refused", () => {
  expect(parseRoles(undefined)).toEqual([...ROLES]);
  expect(parseRoles("all")).toEqual([...ROLES]);
  expect(parseRoles("ingest,http")).toEqual(["ingest", "http"]);
  expect(() => parseRoles("ingest,teleport")).toThrow('unknown role "teleport"');
});

test("flags override ACU_* variables, which override defaults", () => {
  const c = loadConfig(["--port", "9000", "--data-dir", "/tmp/x"], { ACU_HTTP_PORT: "7000", ACU_DATA_DIR: "/tmp/y", ACU_DEFAULT_THRESHOLD: "40" });
  expect(c.port).toBe(9000);
  expect(c.dataDir).toBe("/tmp/x");
  expect(c.defaultThreshold).toBe(40);
  const d = loadConfig([], {});
  expect(d.port).toBe(8080);
  expect(d.defaultThreshold).toBe(50);
  expect(d.adminTokenGenerated).toBe(true);
  expect(d.adminToken.length).toBeGreaterThanOrEqual(32);
});

test("bad settings are named", () => {
  expect(() => loadConfig([], { ACU_DEFAULT_THRESHOLD: "50.5" })).toThrow("ACU_DEFAULT_THRESHOLD");
  expect(() => loadConfig(["--port", "http"], {})).toThrow("port");
  expect(() => loadConfig([], { ACU_ADMIN_TOKEN: "short" })).toThrow("ACU_ADMIN_TOKEN");
  expect(loadConfig([], { ACU_ANALYZER_SCHEDULE: "off" }).analyzerSchedule).toBeNull();
});
