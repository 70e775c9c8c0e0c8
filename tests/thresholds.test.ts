import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { cleanup, eventually, operator, postReports, startAcu, tempDir, viewer, type AcuProcess } from "./support/acu.ts";

/**
 * A threshold PUT followed at once by a report: the decision uses the new threshold, 100 times of 100.
 * Each trial has an exercise of its own, written once (default 50): even trials set 70 and send 60 (the
 * new value alerts, a stale one would not), odd trials set 30 and send 40 (the reverse). All reports
 * come from one student (one partition, in order); a final sentinel tells when all are judged.
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
    const [threshold, score] = i % 2 === 0 ? [70, 60] : [30, 40];
    const exerciseId = `ex.visibility.${i}`;
    const put = await fetch(`${acu.url}/api/thresholds/${exerciseId}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold }) });
    expect(put.status).toBe(200);
    const reportId = `trial-${i}`;
    const res = await postReports(acu.url, {
      reportId,
      studentId: "student-visibility",
      exerciseId,
      score,
      latitude: 45.76,
      longitude: 4.84,
      timestamp: t0 + i,
    });
    expect(res.status).toBe(202);
    sent.push(reportId);
    if (score < threshold) expected.add(reportId);
  }
  await postReports(acu.url, {
    reportId: "sentinel",
    studentId: "student-visibility",
    exerciseId: "ex.sentinel",
    score: 0,
    latitude: 45.76,
    longitude: 4.84,
    timestamp: t0 + 1000,
  });
  const alerts = await eventually("the sentinel alert", async () => {
    const body = (await (await fetch(`${acu.url}/api/alerts?limit=1000`, { headers: viewer })).json()) as {
      alerts: Array<{ reportId: string; threshold: number }>;
    };
    return body.alerts.some((a) => a.reportId === "sentinel") ? body.alerts : null;
  });
  const got = new Set(alerts.map((a) => a.reportId).filter((id) => id.startsWith("trial-")));
  let stale = 0;
  for (const id of sent) if (got.has(id) !== expected.has(id)) stale++;
  expect(stale).toBe(0);
  expect(got.size).toBe(50);
  expect(alerts.filter((a) => a.reportId.startsWith("trial-")).every((a) => a.threshold === 70)).toBe(true);
});

test("the default threshold applies where an exercise has none, and a delete falls back to it", async () => {
  const put = await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: 60 }) });
  expect(((await put.json()) as { default: number }).default).toBe(60);
  await fetch(`${acu.url}/api/thresholds/ex.fallback`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 10 }) });
  const del = await fetch(`${acu.url}/api/thresholds/ex.fallback`, { method: "DELETE", headers: operator });
  const body = (await del.json()) as { thresholds: Record<string, number>; revision: number };
  expect(body.thresholds["ex.fallback"]).toBeUndefined();
  await postReports(acu.url, {
    reportId: "fallback",
    studentId: "s-fb",
    exerciseId: "ex.fallback",
    score: 55,
    latitude: 45.76,
    longitude: 4.84,
    timestamp: Date.now(),
  });
  const alert = await eventually("the fallback alert", async () => {
    const b = (await (await fetch(`${acu.url}/api/alerts?exerciseId=ex.fallback`, { headers: viewer })).json()) as {
      alerts: Array<{ reportId: string; threshold: number }>;
    };
    return b.alerts[0];
  });
  expect(alert.threshold).toBe(60);
});
