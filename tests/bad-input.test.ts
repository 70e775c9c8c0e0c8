import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { cleanup, ingest, operator, postReports, startAcu, tempDir, viewer, type AcuProcess } from "./support/acu.ts";

// Every kind of bad input in the data contract gets its 4xx with a message that names what is wrong.
let acu: AcuProcess;
const dir = tempDir("bad-input");
beforeAll(async () => {
  acu = await startAcu({ dataDir: dir });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

const good = { studentId: "s1", exerciseId: "c00.ex00", score: 42, latitude: 48.85, longitude: 2.35, timestamp: "2026-11-27T09:00:00Z" };

async function expectError(res: Response, status: number, mention: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string; issues?: Array<{ path: string; message: string }> };
  expect(typeof body.error).toBe("string");
  expect(JSON.stringify(body)).toContain(mention);
}

test("a body that is not JSON gets 400", async () => {
  await expectError(await postReports(acu.url, "{not json"), 400, "not valid JSON");
  await expectError(await postReports(acu.url, ""), 400, "not valid JSON");
});

test("a body over 1 MiB gets 413", async () => {
  await expectError(await postReports(acu.url, JSON.stringify([{ ...good, studentId: "x".repeat(1024 * 1024) }])), 413, "exceeds");
});

test("each invalid field is named with its index and path; nothing of the batch is accepted", async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...good, studentId: undefined }, "studentId"],
    [{ ...good, studentId: "" }, "studentId"],
    [{ ...good, studentId: "s".repeat(65) }, "studentId"],
    [{ ...good, studentId: 12 }, "studentId"],
    [{ ...good, exerciseId: "has space" }, "exerciseId"],
    [{ ...good, exerciseId: "é" }, "exerciseId"],
    [{ ...good, score: -1 }, "score"],
    [{ ...good, score: 100.01 }, "score"],
    [{ ...good, score: "50" }, "score"],
    [{ ...good, score: null }, "score"],
    [{ ...good, latitude: 91 }, "latitude"],
    [{ ...good, longitude: -181 }, "longitude"],
    [{ ...good, latitude: "48" }, "latitude"],
    [{ ...good, timestamp: "yesterday" }, "timestamp"],
    [{ ...good, timestamp: "2026-13-45T99:00:00Z" }, "timestamp"],
    [{ ...good, timestamp: true }, "timestamp"],
    [{ ...good, timestamp: -5 }, "timestamp"],
    [{ ...good, reportId: "r".repeat(65) }, "reportId"],
  ];
  for (const [item, field] of cases) {
    const res = await postReports(acu.url, [good, item]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: Array<{ index: number; path: string }> };
    expect(body.issues.some((i) => i.index === 1 && i.path === field)).toBe(true);
    expect(body.issues.some((i) => i.index === 0)).toBe(false);
  }
  const alerts = (await (await fetch(`${acu.url}/api/alerts?limit=1000`, { headers: viewer })).json()) as { alerts: unknown[] };
  expect(alerts.alerts.length).toBe(0);
  // Not one report of these batches was taken, the valid item beside each bad one included.
  const metrics = await (await fetch(`${acu.url}/metrics`)).text();
  expect(/^acu_reports_ingested_total (\d+)$/m.exec(metrics)?.[1]).toBe("0");
});

test("batch shape: empty, over 1,000, items that are not objects", async () => {
  await expectError(await postReports(acu.url, []), 400, "empty");
  await expectError(
    await postReports(
      acu.url,
      Array.from({ length: 1001 }, () => good),
    ),
    400,
    "at most 1000",
  );
  await expectError(await postReports(acu.url, [1, "x", null]), 400, "must be a JSON object");
  await expectError(await postReports(acu.url, "42"), 400, "must be a JSON object");
});

test("wrong method on the ingest endpoint gets 405", async () => {
  expect((await fetch(`${acu.url}/api/reports`, { headers: ingest })).status).toBe(405);
});

test("thresholds: 401 without the operator token, 400 on bad values", async () => {
  const put = (id: string, body: string, headers: Record<string, string> = operator) =>
    fetch(`${acu.url}/api/thresholds/${id}`, { method: "PUT", headers, body });
  await expectError(await put("c00", JSON.stringify({ threshold: 40 }), { "content-type": "application/json" }), 401, "operator token");
  await expectError(await put("c00", JSON.stringify({ threshold: 40 }), { authorization: "Bearer wrong-token-wrong-token" }), 401, "operator token");
  await expectError(await fetch(`${acu.url}/api/thresholds/c00`, { method: "DELETE" }), 401, "operator token");
  // A valid token of another scope is known but not allowed: 403, naming the scope needed.
  await expectError(await put("c00", JSON.stringify({ threshold: 40 }), { ...viewer, "content-type": "application/json" }), 403, "operator token");
  await expectError(await put("c00", JSON.stringify({ threshold: 40 }), ingest), 403, "operator token");
  await expectError(await put("c00", JSON.stringify({ threshold: 101 })), 400, "between 0 and 100");
  await expectError(await put("c00", JSON.stringify({ threshold: -1 })), 400, "between 0 and 100");
  await expectError(await put("c00", JSON.stringify({ threshold: 40.5 })), 400, "whole percent");
  await expectError(await put("c00", JSON.stringify({ threshold: "40" })), 400, "must be a number");
  await expectError(await put("c00", JSON.stringify({})), 400, "must be a number");
  await expectError(await put("c00", "nope"), 400, "not valid JSON");
  await expectError(await put("bad%20id", JSON.stringify({ threshold: 40 })), 400, "exerciseId");
  await expectError(await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: 200 }) }), 400, "default");
  await expectError(await fetch(`${acu.url}/api/analytics/runs`, { method: "POST" }), 401, "operator token");
});

test("query parameters and unknown routes", async () => {
  await expectError(await fetch(`${acu.url}/api/analytics/hotspots`, { headers: viewer }), 400, "exerciseId is required");
  await expectError(await fetch(`${acu.url}/api/analytics/hotspots?exerciseId=a%20b`, { headers: viewer }), 400, "exerciseId");
  await expectError(await fetch(`${acu.url}/api/alerts?limit=0`, { headers: viewer }), 400, "limit");
  await expectError(await fetch(`${acu.url}/api/alerts?limit=abc`, { headers: viewer }), 400, "limit");
  await expectError(await fetch(`${acu.url}/api/alerts/stream?since=garbage`, { headers: viewer }), 400, "cursor");
  await expectError(await fetch(`${acu.url}/api/alerts/stream`, { headers: viewer }), 426, "WebSocket");
  await expectError(await fetch(`${acu.url}/api/nothing-here`, { headers: viewer }), 404, "no route");
});

test("after all that, the process is alive and healthy", async () => {
  expect((await fetch(`${acu.url}/healthz`)).status).toBe(200);
  expect((await postReports(acu.url, good)).status).toBe(202);
  const metrics = await (await fetch(`${acu.url}/metrics`)).text();
  expect(metrics).toContain('acu_reports_rejected_total{reason="invalid"}');
  expect(metrics).toMatch(/acu_reports_ingested_total 1\b/);
});

test("answers carry security headers and no CORS grant", async () => {
  for (const path of ["/", "/api/thresholds", "/api/nothing-here"]) {
    const r = await fetch(`${acu.url}${path}`, { headers: { origin: "https://evil.example" } });
    expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  }
});
