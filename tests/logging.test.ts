import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { cleanup, eventually, operator, postReports, startAcu, tempDir, viewer } from "./support/acu.ts";

setDefaultTimeout(120_000);

const dir = tempDir("logging");
afterAll(() => cleanup(dir));

/**
 * #12: with ACU_LOG_FORMAT=json every line a process writes on stdout is one JSON object with level, time
 * and msg; each request leaves an access line (method, route pattern, status, duration, token id — never the
 * token); each threshold change an audit line naming the token id that made it.
 */
test("json logs: every stdout line parses, with an access line per request and an audit line per threshold change", async () => {
  const acu = await startAcu({ dataDir: dir, env: { ACU_LOG_FORMAT: "json", ACU_LOG_LEVEL: "info" } });
  try {
    expect((await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).status).toBe(200);
    expect((await fetch(`${acu.url}/api/thresholds/bsq`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 70 }) })).status).toBe(200);
    expect((await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: 40 }) })).status).toBe(200);
    expect((await fetch(`${acu.url}/api/thresholds/bsq`, { method: "DELETE", headers: operator })).status).toBe(200);
    const r = await postReports(acu.url, { studentId: "s-log", exerciseId: "bsq", score: 10, latitude: 48.85, longitude: 2.35, timestamp: Date.now() });
    expect(r.status).toBe(202);
    const lines = () =>
      acu
        .stdout()
        .split("\n")
        .filter((l) => l.trim() !== "");
    await eventually("the access line of the report", async () => lines().some((l) => l.includes("/api/reports")));
  } finally {
    expect(await acu.stop()).toBe(0);
  }
  const lines = acu
    .stdout()
    .split("\n")
    .filter((l) => l.trim() !== "");
  expect(lines.length).toBeGreaterThan(5);
  const parsed = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`a stdout line is not JSON: ${l}`);
    }
  });
  for (const p of parsed) {
    expect(["debug", "info", "warn", "error"]).toContain(p.level as string);
    expect(Number.isNaN(Date.parse(String(p.time)))).toBe(false);
    expect(typeof p.msg).toBe("string");
  }
  const access = parsed.filter((p) => p.access === true);
  const routes = access.map((p) => `${p.method} ${p.route} ${p.status}`);
  expect(routes).toContain("GET /api/thresholds 200");
  expect(routes).toContain("PUT /api/thresholds/{exerciseId} 200");
  expect(routes).toContain("POST /api/reports 202");
  for (const a of access) expect(typeof a.durationMs).toBe("number");
  expect(access.find((p) => p.route === "/api/reports")?.tokenId).toBe("env:ACU_INGEST_TOKEN");
  const audit = parsed.filter((p) => p.audit === "threshold");
  expect(audit.map((p) => [p.action, p.tokenId])).toEqual([
    ["set", "env:ACU_OPERATOR_TOKEN"],
    ["default", "env:ACU_OPERATOR_TOKEN"],
    ["remove", "env:ACU_OPERATOR_TOKEN"],
  ]);
  // Never a secret in the log.
  expect(acu.stdout()).not.toContain("test-operator-token");
  expect(acu.stdout()).not.toContain("test-ingest-token");
});
