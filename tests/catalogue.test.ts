import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";

setDefaultTimeout(120_000);
import { EXERCISES } from "../modules/signal/exercises.ts";
import { runSignal } from "../modules/signal/index.ts";
import { cleanup, operator, postReports, startAcu, tempDir, TOKENS, viewer, type AcuProcess } from "./support/acu.ts";

/**
 * The ingest role's defaults on a real process (the demo's): ACU_EXERCISES=strict, which on the embedded
 * store enters the signal's exercises, and the per-student rate limit (10 reports/s, burst 20)
 * under the per-token one.
 */
let acu: AcuProcess;
const dir = tempDir("catalogue");
beforeAll(async () => {
  acu = await startAcu({ dataDir: dir, unset: ["ACU_EXERCISES", "ACU_INGEST_STUDENT_RATE_LIMIT"] });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

const report = (studentId: string, exerciseId: string, i = 0) => ({
  studentId,
  exerciseId,
  score: 80,
  latitude: 48.85,
  longitude: 2.35,
  timestamp: 1_764_234_000_000 + i,
});

test("strict by default: the signal's exercises are in the catalogue and the demo's traffic is all taken", async () => {
  const snap = (await (await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).json()) as { thresholds: Record<string, number> };
  expect(Object.keys(snap.thresholds).sort()).toEqual(EXERCISES.map((e) => e.id).sort());
  const result = await runSignal({ target: acu.url, rate: 2000, count: 4000, seed: 3, token: TOKENS.ingest }, () => {});
  expect([result.sent, result.rejected]).toEqual([4000, 0]);
});

test("a report for an exercise outside the catalogue is refused with 400 naming it; once an operator adds it, it is taken", async () => {
  const r = await postReports(acu.url, [report("cat-1", "bsq"), report("cat-1", "c99.ex00.made_up")]);
  const body = (await r.json()) as { error: string; issues: unknown[] };
  expect([r.status, body.error]).toEqual([400, expect.stringContaining('unknown exercise "c99.ex00.made_up": not in the catalogue')]);
  expect(body.issues).toEqual([{ index: 1, path: "exerciseId", message: 'exercise "c99.ex00.made_up" is not in the catalogue' }]);
  const put = await fetch(`${acu.url}/api/thresholds/c99.ex00.made_up`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 40 }) });
  expect(put.status).toBe(200);
  expect((await postReports(acu.url, [report("cat-1", "bsq"), report("cat-1", "c99.ex00.made_up")])).status).toBe(202);
  // Nothing unknown reached the warehouse: after a run, the analytics list only catalogue exercises.
  expect((await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator })).status).toBe(200);
  const ex = (await (await fetch(`${acu.url}/api/analytics/exercises`, { headers: viewer })).json()) as { exercises: Array<{ exerciseId: string }> };
  const catalogue = new Set([...EXERCISES.map((e) => e.id), "c99.ex00.made_up"]);
  expect(ex.exercises.filter((e) => !catalogue.has(e.exerciseId))).toEqual([]);
});

test("one flooding laptop gets 429 naming the student limit, and the other laptops sharing its token are still taken", async () => {
  const flood = Array.from({ length: 1000 }, (_, i) => report("flooder", "bsq", i));
  const first = await postReports(acu.url, flood);
  expect(first.status).toBe(202);
  for (let i = 0; i < 45; i++) {
    const r = await postReports(acu.url, flood);
    const body = (await r.json()) as { limit: string; studentId: string; error: string };
    expect([r.status, Number(r.headers.get("retry-after")) >= 1, body.limit, body.studentId]).toEqual([429, true, "student", "flooder"]);
  }
  // 45,000 reports more than the token's burst (40,000 at 20,000/s): refused on the student's bucket, they took none of it.
  const others = await Promise.all(
    Array.from({ length: 200 }, (_, i) => postReports(acu.url, [report(`laptop-${i}`, "bsq", i), report(`laptop-${i}`, "rush00", i)])),
  );
  expect(others.map((r) => r.status)).toEqual(Array(200).fill(202));
});
