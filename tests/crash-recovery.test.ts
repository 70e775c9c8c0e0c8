import { afterAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { runSignal } from "../modules/signal/index.ts";
import { deriveReportId } from "../src/domain/report.ts";
import { cleanup, eventually, ingest, operator, startAcu, tempDir, TOKENS, viewer } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";

/**
 * kill -9 of the demo under signal load, then a restart on the same data dir: every report that got a
 * 202 is in the lake, no alertId is twice in deployments/, and no lake file is counted twice.
 */
const dir = tempDir("crash");
afterAll(() => cleanup(dir));

test("kill -9 under load loses nothing acknowledged and doubles nothing", async () => {
  const env = { ACU_SINK_FLUSH_MS: "500", ACU_SINK_FLUSH_RECORDS: "3000" };
  const accepted: Array<{ studentId: string; exerciseId: string; timestamp: number; score: number }> = [];
  const first = await startAcu({ dataDir: dir, env });
  // An analyzer run before the crash, so the restart must not count those files again.
  const load = new AbortController();
  const signal = runSignal(
    { target: first.url, rate: 3000, count: 0, seed: 11, token: TOKENS.ingest, signal: load.signal, onAccepted: (b) => accepted.push(...b) },
    () => {},
  );
  await eventually("some reports in the lake", async () => (await readLake(dir, "reports")).rows.length > 3000, 30_000, 250);
  const run1 = await fetch(`${first.url}/api/analytics/runs`, { method: "POST", headers: operator });
  expect(((await run1.json()) as { outcome: string }).outcome).toBe("succeeded");
  await Bun.sleep(1500);
  first.proc.kill(9);
  await first.proc.exited;
  load.abort();
  await signal;
  const before = accepted.length;
  expect(before).toBeGreaterThan(5000);

  const second = await startAcu({ dataDir: dir, env });
  try {
    // More load after the restart, resending nothing: the pipeline must resume where the log says.
    const more = await runSignal(
      { target: second.url, rate: 2000, count: 4000, seed: 12, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) },
      () => {},
    );
    expect(more.rejected).toBe(0);
    // Laptops unsure of their last answers resend them: same ids, new bus positions.
    for (let i = Math.max(0, before - 2000); i < before; i += 500) {
      const res = await fetch(`${second.url}/api/reports`, {
        method: "POST",
        headers: ingest,
        body: JSON.stringify(accepted.slice(i, Math.min(before, i + 500))),
      });
      expect(res.status).toBe(202);
    }
    const ids = new Set(accepted.map((r) => deriveReportId(r)));
    const lake = await eventually(
      "every acknowledged report in the lake",
      async () => {
        const l = await readLake(dir, "reports");
        const have = new Set(l.rows.map((r) => r.reportId as string));
        for (const id of ids) if (!have.has(id)) return null;
        return l;
      },
      60_000,
      500,
    );
    // Bus positions are unique in the lake: no record was written twice.
    const positions = lake.rows.map((r) => `${r.partition}:${r.offset}`);
    expect(new Set(positions).size).toBe(positions.length);
    // …and resent reports are kept once.
    const lakeIds = lake.rows.map((r) => r.reportId as string);
    expect(new Set(lakeIds).size).toBe(lakeIds.length);

    const failing = accepted.filter((r) => r.score < 50).length;
    const deployments = await eventually(
      "deployment reports for every failure",
      async () => {
        const d = await readLake(dir, "deployments");
        return d.rows.length >= failing ? d : null;
      },
      60_000,
      500,
    );
    const alertIds = deployments.rows.map((r) => r.alertId as string);
    expect(new Set(alertIds).size).toBe(alertIds.length);

    const run2 = (await (await fetch(`${second.url}/api/analytics/runs`, { method: "POST", headers: operator })).json()) as { outcome: string };
    expect(run2.outcome).toBe("succeeded");
    const ex = (await (await fetch(`${second.url}/api/analytics/exercises`, { headers: viewer })).json()) as { exercises: Array<{ reports: number }> };
    // Each lake file counted once: the warehouse holds exactly the lake's rows.
    expect(ex.exercises.reduce((a, e) => a + e.reports, 0)).toBe(lake.rows.length);
    console.log(
      `crash: ${before} acknowledged before kill -9, ${accepted.length} in all, ${lake.rows.length} rows in ${lake.files.length} files, ${alertIds.length} deployment reports`,
    );
  } finally {
    expect(await second.stop()).toBe(0);
  }
});
