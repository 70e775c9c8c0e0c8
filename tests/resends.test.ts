import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { LocalLake } from "../src/adapters/embedded/local-lake.ts";
import { alertIdFor } from "../src/domain/deployment-order.ts";
import { incidentIdFor } from "../src/domain/incident.ts";
import { encodeReports } from "../src/formats/parquet.ts";
import { cleanup, eventually, operator, postReports, startAcu, tempDir, viewer } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";
import { clusteredReports, foreignLakePaths } from "./support/lake-fixture.ts";

setDefaultTimeout(180_000);

/**
 * Resends through a real acu (every role, embedded engines). Laptops choose report ids, unique per student
 * only: two students sending the same id are two reports, each alerted and kept; a laptop resending its own
 * is one. A resend past the horizon (ACU_DEDUPE_IDS) is stored again, yet sends no second patrol.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) cleanup(d);
});

const T0 = Date.parse("2026-11-27T10:00:00Z");
const failing = (studentId: string, reportId: string, i = 0) => ({
  reportId,
  studentId,
  exerciseId: "ex.resends",
  score: 5,
  latitude: 48.85,
  longitude: 2.35,
  timestamp: T0 + i,
});
const keysOf = (rows: Array<Record<string, unknown>>) => rows.map((r) => `${r.studentId}/${r.reportId}`).sort();

test("two students whose laptops chose the same report id are both alerted, both dispatched and both in the lake; a resend is kept once; foreign files in the lake are not counted", async () => {
  const dir = tempDir("resends");
  dirs.push(dir);
  const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "200" } });
  try {
    expect((await postReports(acu.url, [failing("s-a", "r-7"), failing("s-b", "r-7")])).status).toBe(202);
    // s-a's laptop did not get its 202 and sends again, with a report that passes after it.
    expect((await postReports(acu.url, [failing("s-a", "r-7"), { ...failing("s-a", "r-8", 1), score: 90 }])).status).toBe(202);
    const reports = await eventually("the reports in the lake", async () => {
      const l = await readLake(dir, "reports");
      return keysOf(l.rows).includes("s-a/r-8") ? l : null;
    });
    expect(keysOf(reports.rows)).toEqual(["s-a/r-7", "s-a/r-8", "s-b/r-7"]);
    const deployments = await eventually("both orders in the lake", async () => {
      const d = await readLake(dir, "deployments");
      return d.rows.length >= 2 ? d : null;
    });
    expect(keysOf(deployments.rows)).toEqual(["s-a/r-7", "s-b/r-7"]);
    const alerts = ((await (await fetch(`${acu.url}/api/alerts`, { headers: viewer })).json()) as { alerts: Array<Record<string, unknown>> }).alerts;
    expect(keysOf(alerts)).toEqual(["s-a/r-7", "s-b/r-7"]);
    expect(new Set(alerts.map((a) => a.alertId))).toEqual(new Set([alertIdFor("s-a", "r-7"), alertIdFor("s-b", "r-7")]));
    // One incident each: s-b's order did not collide with s-a's.
    const incidents = await eventually("an incident per student", async () => {
      const r = (await (await fetch(`${acu.url}/api/incidents`, { headers: viewer })).json()) as {
        incidents: Array<{ studentId: string; orderCount: number }>;
      };
      return r.incidents.length >= 2 ? r.incidents : null;
    });
    expect(incidents.map((i) => [i.studentId, i.orderCount]).sort()).toEqual([
      ["s-a", 1],
      ["s-b", 1],
    ]);

    // A Spark job writing into reports/, its _temporary/ attempt and its part files: valid rows, none counted.
    await eventually("both incidents' opening in the lake", async () => (await readLake(dir, "incidents")).rows.length >= 2);
    const lake = new LocalLake(join(dir, "lake"));
    const ours = (await lake.list("reports/")).length + (await lake.list("incidents/")).length;
    const foreign = encodeReports(clusteredReports(250, 4).map((r, i) => ({ ...r, offset: i })));
    for (const path of foreignLakePaths("reports")) await lake.write(path, foreign);
    const run = await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator });
    expect(await run.json()).toMatchObject({ outcome: "succeeded", files: ours, rows: 3 });
    const ex = (await (await fetch(`${acu.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
      exercises: Array<{ exerciseId: string; reports: number }>;
    };
    expect(ex.exercises.map((e) => [e.exerciseId, e.reports])).toEqual([["ex.resends", 3]]);
  } finally {
    await acu.stop();
  }
});

test("a resend past the horizon (ACU_DEDUPE_IDS) is stored again but sends no second patrol: the student's open incident knows its order", async () => {
  const dir = tempDir("resends-horizon");
  dirs.push(dir);
  const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "200", ACU_DEDUPE_IDS: "1000" } });
  try {
    expect((await postReports(acu.url, [failing("s-a", "r-1"), failing("s-a", "r-7", 1)])).status).toBe(202);
    const inLake = (n: number) => eventually(`${n} reports in the lake`, async () => ((await readLake(dir, "reports")).rows.length >= n ? true : null));
    await inLake(2);
    // 1,100 failing reports of other students: past the 1,000 ids of each window (alert role, sink).
    for (let k = 0; k < 11; k++)
      expect(
        (
          await postReports(
            acu.url,
            Array.from({ length: 100 }, (_, i) => failing(`s-other-${k}-${i}`, "r-1", 2 + i)),
          )
        ).status,
      ).toBe(202);
    await inLake(1102);
    // And judged: the alert role reads the partitions in no set order, so until every one of the 1,100 has
    // its order, r-7's may still be among the newest 1,000 ids when its resend is read.
    await eventually("1,102 orders in the lake", async () => ((await readLake(dir, "deployments")).rows.length >= 1102 ? true : null));
    expect((await postReports(acu.url, [failing("s-a", "r-7", 1)])).status).toBe(202);
    await inLake(1103);
    // Past the horizon the resend is stored twice (the documented limit) and ordered again…
    const reports = await readLake(dir, "reports");
    expect(keysOf(reports.rows).filter((k) => k === "s-a/r-7")).toHaveLength(2);
    const orders = await eventually("the second order of s-a/r-7 in the lake", async () => {
      const d = (await readLake(dir, "deployments")).rows.filter((r) => r.studentId === "s-a" && r.reportId === "r-7");
      return d.length >= 2 ? d : null;
    });
    expect(new Set(orders.map((o) => o.alertId))).toEqual(new Set([alertIdFor("s-a", "r-7")]));
    // …which the dispatch knows: s-a's incident (opened by r-1) holds it, counted once, and no other incident opened.
    await Bun.sleep(1000);
    const incident = (await (await fetch(`${acu.url}/api/incidents/${incidentIdFor(alertIdFor("s-a", "r-1"))}`, { headers: viewer })).json()) as {
      orderCount: number;
      state: string;
    };
    expect(incident).toMatchObject({ orderCount: 2, state: "open" });
    // A second incident of s-a would be named after its first order, the resent one.
    expect((await fetch(`${acu.url}/api/incidents/${incidentIdFor(alertIdFor("s-a", "r-7"))}`, { headers: viewer })).status).toBe(404);
  } finally {
    await acu.stop();
  }
});
