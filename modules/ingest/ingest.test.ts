import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { metrics } from "../../src/metrics.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { eio, injectFsync } from "../../tests/support/fsync-fault.ts";
import { testApp } from "../http/testing.ts";
import { ingestRoutes } from "./ingest.ts";
import { FileThresholdStore } from "../../src/adapters/embedded/file-thresholds.ts";
import { ExerciseCatalogue } from "./catalogue.ts";
import { IngestLimits, RateLimiter } from "./rate-limit.ts";
import { IngestAdmission } from "./admission.ts";

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

test("no 202 before the journal's fsync: a failing fsync answers 503 and puts nothing on the bus", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log })]);
  const before = await onBus();
  const spy = await injectFsync(eio);
  let r: Response;
  try {
    r = await call("POST", "/api/reports", { token: "ingest", body: [good, { ...good, studentId: "s3" }] });
  } finally {
    spy.restore();
  }
  expect([r.status, r.headers.get("retry-after"), spy.calls.length]).toEqual([503, "1", 1]);
  expect(await onBus()).toBe(before);
  expect((await call("POST", "/api/reports", { token: "ingest", body: good })).status).toBe(202);
  expect(await onBus()).toBe(before + 1);
});

test("over the in-flight bound a request is refused at once, 503 + Retry-After naming the bound, and taken again once the others are answered", async () => {
  const admission = new IngestAdmission(1024 * 1024);
  const { call } = testApp((log) => [ingestRoutes({ bus, log, admission })]);
  const before = await onBus();
  // The journal's fsync held: the first request waits for its publish, holding its share of the bound.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const spy = await injectFsync(async (original) => {
    await gate;
    await original();
  });
  let held: Promise<Response> | Response;
  let refused: Response;
  try {
    const batch = Array.from({ length: 1000 }, (_, i) => ({ ...good, studentId: `burst-${i}`, note: "x".repeat(700) }));
    held = call("POST", "/api/reports", { token: "ingest", body: batch.map(({ note: _n, ...r }) => r) });
    while (admission.inFlightBytes === 0) await Bun.sleep(1);
    // ~880 KB declared beside what the first holds: over 1 MiB.
    refused = await call("POST", "/api/reports", { token: "ingest", body: batch });
  } finally {
    open();
    spy.restore();
  }
  expect([refused.status, refused.headers.get("retry-after")]).toEqual([503, "1"]);
  expect(((await refused.json()) as { error: string }).error).toMatch(/ACU_INGEST_INFLIGHT_BYTES 1048576/);
  expect((await held).status).toBe(202);
  expect(admission.inFlightBytes).toBe(0);
  expect(await onBus()).toBe(before + 1000);
  expect((await call("POST", "/api/reports", { token: "ingest", body: good })).status).toBe(202);
});

test("not JSON 400, over 1 MiB 413, another method 405 with Allow, other scopes 403", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log })]);
  expect((await call("POST", "/api/reports", { token: "ingest", body: "{" })).status).toBe(400);
  // Nesting is bounded before parsing (a 200 KB body of brackets would be 100,000 arrays).
  const deep = await call("POST", "/api/reports", { token: "ingest", body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` });
  expect([deep.status, ((await deep.json()) as { error: string }).error]).toEqual([400, "request body nests arrays and objects deeper than 16 levels"]);
  expect((await call("POST", "/api/reports", { token: "ingest", body: "x".repeat(1024 * 1024 + 1) })).status).toBe(413);
  const get = await call("GET", "/api/reports", { token: "ingest" });
  expect([get.status, get.headers.get("allow"), ((await get.json()) as { error: string }).error]).toEqual([405, "POST", "method GET not allowed; use POST"]);
  expect((await call("POST", "/api/reports", { token: "operator", body: good })).status).toBe(403);
  expect((await call("GET", "/api/reports", { token: null })).status).toBe(401);
});

test("the rate limit is per token, in reports: 429 with Retry-After, retryAfterSeconds and the limit's name", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log, rateLimit: new IngestLimits(new RateLimiter(1), null) })]);
  expect((await call("POST", "/api/reports", { token: "ingest", body: [good, good] })).status).toBe(202);
  const r = await call("POST", "/api/reports", { token: "ingest", body: good });
  const body = (await r.json()) as { retryAfterSeconds: number; limit: string };
  expect([r.status, r.headers.get("retry-after"), body.retryAfterSeconds, body.limit]).toEqual([429, "1", 1, "token"]);
});

test("one flooding laptop is refused on its own student bucket; the other laptops of the same token still get 202", async () => {
  // The token's rate is 100/s (burst 200), a student's 5/s (burst 10); every laptop sends the same token.
  const limits = new IngestLimits(new RateLimiter(100), new RateLimiter(5));
  const { call } = testApp((log) => [ingestRoutes({ bus, log, rateLimit: limits })]);
  const flood = (n: number) => Array.from({ length: n }, (_, i) => ({ ...good, studentId: "flooder", timestamp: 1_764_234_000_000 + i }));
  expect((await call("POST", "/api/reports", { token: "ingest", body: flood(10) })).status).toBe(202);
  let refused = 0;
  for (let i = 0; i < 50; i++) {
    const r = await call("POST", "/api/reports", { token: "ingest", body: flood(100) });
    if (r.status === 429) refused++;
    if (i === 0)
      expect([r.status, r.headers.get("retry-after"), await r.json()]).toEqual([
        429,
        "2",
        {
          error: 'student "flooder" is over its rate of 5 reports/s; retry in 2 s',
          retryAfterSeconds: 2,
          limit: "student",
          studentId: "flooder",
        },
      ]);
  }
  expect(refused).toBe(50);
  // 190 other laptops, 1 report each: the token's bucket was not drained by the refused floods.
  const others = await Promise.all(
    Array.from({ length: 190 }, (_, i) => call("POST", "/api/reports", { token: "ingest", body: { ...good, studentId: `laptop-${i}` } })),
  );
  expect(others.map((r) => r.status)).toEqual(Array(190).fill(202));
});

test("ACU_EXERCISES=strict: a report for an exercise without a threshold entry is refused with 400 naming it; a new entry lets it in", async () => {
  const store = FileThresholdStore.open(join(dir, "catalogue", "thresholds.json"), 50);
  await store.set("c00.ex00", 60);
  const { call } = testApp((log) => [ingestRoutes({ bus, log, catalogue: new ExerciseCatalogue(store) })]);
  const before = await onBus();
  expect((await call("POST", "/api/reports", { token: "ingest", body: good })).status).toBe(202);
  const batch = [good, { ...good, exerciseId: "made.up" }, { ...good, exerciseId: "made.up", studentId: "s9" }, { ...good, exerciseId: "other" }];
  const r = await call("POST", "/api/reports", { token: "ingest", body: batch });
  expect([r.status, await r.json()]).toEqual([
    400,
    {
      error:
        'unknown exercise "made.up", "other": not in the catalogue (no threshold entry; an operator adds one with PUT /api/thresholds/<exerciseId>); nothing was accepted',
      issues: [
        { index: 1, path: "exerciseId", message: 'exercise "made.up" is not in the catalogue' },
        { index: 2, path: "exerciseId", message: 'exercise "made.up" is not in the catalogue' },
        { index: 3, path: "exerciseId", message: 'exercise "other" is not in the catalogue' },
      ],
    },
  ]);
  expect(await onBus()).toBe(before + 1);
  await store.set("made.up", 50);
  await store.set("other", 50);
  expect((await call("POST", "/api/reports", { token: "ingest", body: batch })).status).toBe(202);
  expect(await onBus()).toBe(before + 5);
  // Removing its entry takes an exercise out of the catalogue again.
  await store.remove("other");
  expect((await call("POST", "/api/reports", { token: "ingest", body: { ...good, exerciseId: "other" } })).status).toBe(400);
  await store.close();
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

/** The reports on the bus now, decoded (read by a fresh group from the start). */
async function reportsOnBus(): Promise<Array<Record<string, unknown>>> {
  const end = await onBus();
  const seen: Array<Record<string, unknown>> = [];
  const consumer = await bus.consume({ group: `read-${Math.random()}`, topics: [TOPICS.reports], commit: "auto" }, async (batch) => {
    for (const r of batch.records) seen.push(JSON.parse(new TextDecoder().decode(r.value)));
  });
  for (let i = 0; i < 200 && seen.length < end; i++) await Bun.sleep(10);
  await consumer.stop();
  return seen;
}

const original = { login: "jdoe", latitude: 48.85, longitude: 2.35, exercise: 12, score: 35, timestamp: 1764622000 };

test("?format=original takes the original system's shape as acu's: login, the exercise's decimal string, seconds as ms, the derived reportId", async () => {
  const { call } = testApp((log) => [ingestRoutes({ bus, log })]);
  const r = await call("POST", "/api/reports?format=original", { token: "ingest", body: [original, { ...original, login: "asmith", score: 90 }] });
  expect([r.status, await r.json()]).toEqual([202, { accepted: 2 }]);
  // The same record as acu's laptop shape, sent without format: the same report (same reportId), so a producer moving to HTTP resends harmlessly.
  const same = { studentId: "jdoe", exerciseId: "12", score: 35, latitude: 48.85, longitude: 2.35, timestamp: 1764622000_000 };
  expect((await call("POST", "/api/reports", { token: "ingest", body: same })).status).toBe(202);
  const auto = await call("POST", "/api/reports?format=auto", {
    token: "ingest",
    body: [
      { ...original, login: "auto1" },
      { ...same, studentId: "auto2" },
    ],
  });
  expect(auto.status).toBe(202);
  const stored = (await reportsOnBus()).filter((x) => ["jdoe", "asmith", "auto1", "auto2"].includes(x.studentId as string));
  const jdoe = stored.filter((x) => x.studentId === "jdoe");
  expect(jdoe.length).toBe(2);
  expect(jdoe[0]).toEqual({ ...same, reportId: jdoe[0]!.reportId, region: "Île-de-France" });
  expect(jdoe[1]!.reportId).toBe(jdoe[0]!.reportId as string);
  expect(stored.map((x) => [x.studentId, x.exerciseId, x.timestamp])).toEqual([
    ["jdoe", "12", 1764622000_000],
    ["asmith", "12", 1764622000_000],
    ["jdoe", "12", 1764622000_000],
    ["auto1", "12", 1764622000_000],
    ["auto2", "12", 1764622000_000],
  ]);
});

test("?format=original: the same 4xx rules, fields named as the original names them; an unknown format is a 400 naming it", async () => {
  const store = FileThresholdStore.open(join(dir, "catalogue-original", "thresholds.json"), 50);
  await store.set("12", 60);
  const { call } = testApp((log) => [ingestRoutes({ bus, log, catalogue: new ExerciseCatalogue(store) })]);
  const before = await onBus();
  const bad = await call("POST", "/api/reports?format=original", {
    token: "ingest",
    body: [original, { ...original, exercise: "12", score: 101 }, { ...original, login: "", exercise: 1.5, timestamp: -1 }, { studentId: "s1" }],
  });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { issues: unknown[] }).issues).toEqual([
    { index: 1, path: "exercise", message: "exercise must be a whole number" },
    { index: 1, path: "score", message: "score must be between 0 and 100" },
    { index: 2, path: "login", message: "login must not be empty" },
    { index: 2, path: "exercise", message: "exercise must be a whole number" },
    { index: 2, path: "timestamp", message: "timestamp must be between 0 and 8640000000000" },
    { index: 3, path: "login", message: "login must be a string" },
    { index: 3, path: "exercise", message: "exercise must be a whole number" },
    { index: 3, path: "score", message: "score must be a number" },
    { index: 3, path: "latitude", message: "latitude must be a number" },
    { index: 3, path: "longitude", message: "longitude must be a number" },
    { index: 3, path: "timestamp", message: "timestamp must be a number" },
  ]);
  const unknown = await call("POST", "/api/reports?format=original", { token: "ingest", body: [original, { ...original, exercise: 13 }] });
  expect([unknown.status, ((await unknown.json()) as { issues: unknown[] }).issues]).toEqual([
    400,
    [{ index: 1, path: "exerciseId", message: 'exercise "13" is not in the catalogue' }],
  ]);
  const format = await call("POST", "/api/reports?format=legacy", { token: "ingest", body: original });
  expect(format.status).toBe(400);
  expect(((await format.json()) as { error: string }).error).toContain("format");
  expect((await call("POST", "/api/reports?format=original", { token: "ingest", body: "{" })).status).toBe(400);
  expect((await call("POST", "/api/reports?format=original", { token: "ingest", body: [] })).status).toBe(400);
  expect((await call("POST", "/api/reports?format=original", { token: "ingest", body: "x".repeat(1024 * 1024 + 1) })).status).toBe(413);
  expect(await onBus()).toBe(before);
  expect((await call("POST", "/api/reports?format=original", { token: "ingest", body: original })).status).toBe(202);
  await store.close();
});
