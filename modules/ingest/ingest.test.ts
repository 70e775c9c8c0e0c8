import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { metrics } from "../../src/metrics.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { testApp } from "../http/testing.ts";
import { ingestRoutes } from "./ingest.ts";
import { RateLimiter } from "./rate-limit.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-ingest-routes-"));
let bus: EmbeddedLogBus;
beforeAll(async () => {
  bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.deadLetters]: 1 });
});
afterAll(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

const good = { studentId: "s1", exerciseId: "c00.ex00", score: 42, latitude: 48.85, longitude: 2.35, timestamp: "2026-11-27" };
const onBus = async () => (await bus.endOffsets(TOPICS.reports)).reduce((a, b) => a + b, 0);

test("202 once every report is on the bus; a refused batch puts nothing there", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log })]);
  const before = await onBus();
  const ok = await call("POST", "/api/reports", { token: "ingest", body: [good, { ...good, studentId: "s2", timestamp: 1_764_234_000_000.4 }] });
  expect([ok.status, await ok.json()]).toEqual([202, { accepted: 2 }]);
  expect(await onBus()).toBe(before + 2);
  const bad = await call("POST", "/api/reports", { token: "ingest", body: [good, { ...good, score: 101 }] });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { issues: unknown[] }).issues).toEqual([{ index: 1, path: "score", message: "score must be between 0 and 100" }]);
  expect(await onBus()).toBe(before + 2);
});

test("not JSON 400, over 1 MiB 413, another method 405 with Allow, other scopes 403", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log })]);
  expect((await call("POST", "/api/reports", { token: "ingest", body: "{" })).status).toBe(400);
  expect((await call("POST", "/api/reports", { token: "ingest", body: "x".repeat(1024 * 1024 + 1) })).status).toBe(413);
  const get = await call("GET", "/api/reports", { token: "ingest" });
  expect([get.status, get.headers.get("allow"), ((await get.json()) as { error: string }).error]).toEqual([405, "POST", "method GET not allowed; use POST"]);
  expect((await call("POST", "/api/reports", { token: "operator", body: good })).status).toBe(403);
  expect((await call("GET", "/api/reports", { token: null })).status).toBe(401);
});

test("the rate limit is per token, in reports: 429 with Retry-After and retryAfterSeconds", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log, rateLimit: new RateLimiter(1) })]);
  expect((await call("POST", "/api/reports", { token: "ingest", body: [good, good] })).status).toBe(202);
  const r = await call("POST", "/api/reports", { token: "ingest", body: good });
  const body = (await r.json()) as { retryAfterSeconds: number };
  expect([r.status, r.headers.get("retry-after"), body.retryAfterSeconds]).toEqual([429, "1", 1]);
});

test("a bus that cannot take the batch: 503 with Retry-After in whole seconds, nothing counted as ingested", async () => {
  // A real embedded log, closed: its publish rejects as a log that cannot write does.
  const closed = await EmbeddedLogBus.open(join(dir, "closed-bus"), { [TOPICS.reports]: 2 });
  await closed.close();
  const { call, log } = testApp((l) => [ingestRoutes({ bus: closed, log: l })]);
  const ingested = async () => (await metrics.reportsIngested.get()).values[0]?.value ?? 0;
  const before = await ingested();
  const r = await call("POST", "/api/reports", { token: "ingest", body: [good, { ...good, studentId: "s2" }] });
  const retryAfter = r.headers.get("retry-after");
  expect([r.status, await r.json()]).toEqual([503, { error: "the report log cannot take writes now; retry later" }]);
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  expect(await ingested()).toBe(before);
  expect(log.text()).toContain("ingest: bus refused a batch of 2: the embedded log is closed");
});
