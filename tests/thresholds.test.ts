import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { cleanup, eventually, operator, postReports, startAcu, tempDir, type AcuProcess } from "./support/acu.ts";

/**
 * A threshold PUT followed at once by a report: the decision uses the new threshold, 100 times of 100.
 * The threshold alternates between 70 and 30 and every report scores 50, so each decision depends on
 * the latest write. All reports come from one student (one partition, in order); a final sentinel tells
 * when the alert role has judged them all.
 */
let acu: AcuProcess;
const dir = tempDir("thresholds");
beforeAll(async () => {
  acu = await startAcu({ dataDir: dir });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

test("a threshold change applies to the very next report, 100 of 100", async () => {
  const expected = new Set<string>();
  const sent: string[] = [];
  const t0 = Date.parse("2026-11-27T10:00:00Z");
  for (let i = 0; i < 100; i++) {
    const threshold = i % 2 === 0 ? 70 : 30;
    const put = await fetch(`${acu.url}/api/thresholds/ex.visibility`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold }) });
    expect(put.status).toBe(200);
    const reportId = `trial-${i}`;
    const res = await postReports(acu.url, { reportId, studentId: "student-visibility", exerciseId: "ex.visibility", score: 50, latitude: 45.76, longitude: 4.84, timestamp: t0 + i });
    expect(res.status).toBe(202);
    sent.push(reportId);
    if (50 < threshold) expected.add(`alert-${reportId}`);
  }
  await fetch(`${acu.url}/api/thresholds/ex.visibility`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 100 }) });
  await postReports(acu.url, { reportId: "sentinel", studentId: "student-visibility", exerciseId: "ex.visibility", score: 0, latitude: 45.76, longitude: 4.84, timestamp: t0 + 1000 });
  const alerts = await eventually("the sentinel alert", async () => {
    const body = (await (await fetch(`${acu.url}/api/alerts?exerciseId=ex.visibility&limit=1000`)).json()) as { alerts: Array<{ alertId: string; threshold: number }> };
    return body.alerts.some((a) => a.alertId === "alert-sentinel") ? body.alerts : null;
  });
  const got = new Set(alerts.map((a) => a.alertId).filter((id) => id !== "alert-sentinel"));
  let stale = 0;
  for (const id of sent.map((r) => `alert-${r}`)) if (got.has(id) !== expected.has(id)) stale++;
  expect(stale).toBe(0);
  expect(got.size).toBe(50);
  expect(alerts.filter((a) => a.alertId !== "alert-sentinel").every((a) => a.threshold === 70)).toBe(true);
});

test("the default threshold applies where an exercise has none, and a delete falls back to it", async () => {
  const put = await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: 60 }) });
  expect(((await put.json()) as { default: number }).default).toBe(60);
  await fetch(`${acu.url}/api/thresholds/ex.fallback`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 10 }) });
  const del = await fetch(`${acu.url}/api/thresholds/ex.fallback`, { method: "DELETE", headers: operator });
  const body = (await del.json()) as { thresholds: Record<string, number>; revision: number };
  expect(body.thresholds["ex.fallback"]).toBeUndefined();
  await postReports(acu.url, { reportId: "fallback", studentId: "s-fb", exerciseId: "ex.fallback", score: 55, latitude: 45.76, longitude: 4.84, timestamp: Date.now() });
  const alert = await eventually("the fallback alert", async () => {
    const b = (await (await fetch(`${acu.url}/api/alerts?exerciseId=ex.fallback`)).json()) as { alerts: Array<{ alertId: string; threshold: number }> };
    return b.alerts[0];
  });
  expect(alert.threshold).toBe(60);
});
