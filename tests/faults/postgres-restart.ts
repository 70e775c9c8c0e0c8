import { expect } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { lakePath } from "../../src/domain/lake-layout.ts";
import { encodeReports, type LakeReport } from "../../src/formats/parquet.ts";
import { eventually, operator, startAcu, viewer, type AcuProcess } from "../support/acu.ts";
import { faultRun, node, type FaultCluster } from "../support/fault-cluster.ts";
import { clusteredReports } from "../support/lake-fixture.ts";
import { recompute } from "../support/recompute.ts";
import { log, record } from "./lib.ts";

/**
 * PostgreSQL restarted (fast shutdown, 2 s down, start) while an analyzer run is in progress: the run
 * fails cleanly — its caller is told, it is recorded as failed, nothing is merged, the process lives —
 * and the next run is exact: the warehouse equals a recomputation from the lake.
 */
export async function postgresRestart(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const env: Record<string, string> = { ...(await faultRun(cluster, "fpg")), ACU_ANALYZER_SCHEDULE: "off" };
  const dataDir = join(dir, "pg");
  // A lake big enough for a run of a few seconds: 120 files of 4,000 reports.
  const lake = new LocalLake(join(dataDir, "lake"));
  const all: LakeReport[] = [];
  for (let f = 0; f < 120; f++) {
    const rows = clusteredReports(4000, 1000 + f).map((r, i) => ({ ...r, partition: f % 6, offset: Math.floor(f / 6) * 4000 + i }));
    const first = rows[0]!.offset;
    await lake.write(
      lakePath(
        { dataset: "reports", topic: "student-reports", partition: f % 6, firstOffset: first, lastOffset: first + rows.length - 1 },
        Date.UTC(2026, 10, 27, 9),
      ),
      encodeReports(rows),
    );
    all.push(...rows);
  }
  const analyzer = await startAcu({ dataDir, env, args: ["--role=analyzer,http"] });
  procs.add(analyzer);
  const db = postgres(env.ACU_DATABASE_URL!, { max: 1, onnotice: () => {} });

  // The run starts; as soon as the warehouse says it is running, PostgreSQL is restarted.
  const t0 = Date.now();
  const run = fetch(`${analyzer.url}/api/analytics/runs`, { method: "POST", headers: operator }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { runId: string; outcome: string; error?: string },
  }));
  await eventually(
    "the run recorded as running",
    async () => (await db`SELECT 1 FROM analyzer_runs WHERE outcome = 'running'`.catch(() => [])).length > 0,
    30_000,
    20,
  );
  await db.end();
  const tStop = Date.now();
  await node("stop", "postgres");
  await Bun.sleep(2000);
  await node("start", "postgres");
  const tBack = Date.now();
  const failed = await run;
  log(`postgres: run ${failed.body.runId} answered ${failed.body.outcome} ${Date.now() - t0} ms after it began: ${failed.body.error ?? ""}`);
  const alive = analyzer.proc.exitCode === null && (await fetch(`${analyzer.url}/healthz`)).status === 200;

  // The next run: exact, and it writes the failure it could not write while PostgreSQL was down.
  const next = await eventually(
    "a run that succeeds",
    async () => {
      const r = (await (await fetch(`${analyzer.url}/api/analytics/runs`, { method: "POST", headers: operator })).json()) as {
        outcome: string;
        rows: number;
        runId: string;
      };
      return r.outcome === "succeeded" ? r : null;
    },
    60_000,
    1000,
  );
  const recoveredMs = Date.now() - tBack;
  const runs = (await (await fetch(`${analyzer.url}/api/analytics/runs?limit=50`, { headers: viewer })).json()) as {
    runs: Array<{ runId: string; outcome: string }>;
  };
  const failedRun = runs.runs.find((r) => r.runId === failed.body.runId);
  const stillRunning = runs.runs.filter((r) => r.outcome === "running").length;
  const ex = (await (await fetch(`${analyzer.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
    exercises: Array<{ exerciseId: string; reports: number; averageScore: number }>;
  };
  const want = recompute(all, () => 50, 0.1);
  const counted = ex.exercises.reduce((a, e) => a + e.reports, 0);
  let mismatched = 0;
  for (const e of ex.exercises) {
    const w = want.exercises.get(e.exerciseId);
    if (!w || w.reports !== e.reports || Math.abs(e.averageScore - w.sum / w.reports) > 1e-9) mismatched++;
  }
  record({
    name: "postgres-restart-mid-run",
    acknowledged: all.length,
    lost: Math.max(0, all.length - counted),
    duplicated: Math.max(0, counted - all.length),
    recoveryMs: recoveredMs,
    notes:
      `PostgreSQL down ${tBack - tStop} ms during run ${failed.body.runId}: answered ${failed.body.outcome}, recorded ${failedRun?.outcome ?? "missing"}, ${stillRunning} run(s) left running; ` +
      `process alive ${alive}; next run ${next.outcome} with ${next.rows} rows, ${recoveredMs} ms after PostgreSQL was back; ${mismatched} exercise(s) differ from the recomputation`,
  });
  expect(failed.status).toBe(200);
  expect(failed.body.outcome).toBe("failed");
  expect(alive).toBe(true);
  expect(failedRun?.outcome).toBe("failed");
  expect(stillRunning).toBe(0);
  expect(next.rows).toBe(all.length);
  expect(counted).toBe(all.length);
  expect(mismatched).toBe(0);
  await analyzer.stop();
  procs.delete(analyzer);
}
