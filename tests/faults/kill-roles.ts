import { expect } from "bun:test";
import { join } from "node:path";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { eventually, freePort, operator, startAcu, viewer, type AcuProcess } from "../support/acu.ts";
import { faultRun, type FaultCluster } from "../support/fault-cluster.ts";
import { recompute } from "../support/recompute.ts";
import {
  committedAlerts,
  conflictingOrders,
  duplicates,
  expectedAlerts,
  lakeDeployments,
  lakeSettled,
  Load,
  log,
  record,
  seededRandom,
  streamCollector,
} from "./lib.ts";

type Role = "alert" | "sink" | "ingest" | "analyzer";

/**
 * kill -9 of alert, sink, ingest and analyzer processes at seeded random moments, 10 times, each
 * restarted at once, under a load of ~1,000 reports/s: every acknowledged report is in the lake exactly
 * once, the deployment orders (lake, WebSocket stream, alerts topic read_committed) equal the set
 * recomputed from the acknowledged reports and thresholds, no alertId comes as two different orders, and
 * the warehouse equals a recomputation from the lake.
 */
export async function killRoles(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const env: Record<string, string> = {
    ...(await faultRun(cluster, "fkill")),
    ACU_SINK_FLUSH_MS: "1000",
    ACU_SINK_FLUSH_RECORDS: "2000",
    ACU_ANALYZER_SCHEDULE: "*/2 * * * * *",
  };
  const dataDir = join(dir, "kill");
  const ports = new Map<AcuProcess, number>();
  const start = async (role: Role | "http", port?: number) => {
    const p = await startAcu({ dataDir, env, args: [`--role=${role}`], port: port ?? freePort() });
    procs.add(p);
    ports.set(p, p.port);
    return p;
  };
  const http = await start("http");
  const byRole: Record<Role, AcuProcess[]> = {
    ingest: await Promise.all([start("ingest"), start("ingest")]),
    alert: await Promise.all([start("alert"), start("alert")]),
    sink: [await start("sink")],
    analyzer: [await start("analyzer")],
  };
  for (const [id, t] of [
    ["c00.ex00.my_putchar", 70],
    ["bsq", 30],
  ] as const) {
    expect((await fetch(`${http.url}/api/thresholds/${id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: t }) })).status).toBe(200);
  }
  const snap = (await (await fetch(`${http.url}/api/thresholds`, { headers: viewer })).json()) as { default: number; thresholds: Record<string, number> };
  const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;
  const stream = await streamCollector(http.url);

  const load = new Load({ targets: () => byRole.ingest.map((p) => p.url), rate: 1000, batch: 50, seed: 31 }).start();
  const rnd = seededRandom("kill -9 of role processes", 7);
  // Each role at least twice, then two more drawn at random; the order shuffled.
  const roles: Role[] = ["alert", "sink", "ingest", "analyzer"];
  const plan: Role[] = [...roles, ...roles, roles[Math.floor(rnd() * 4)]!, roles[Math.floor(rnd() * 4)]!];
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  const restarts: number[] = [];
  for (const [k, role] of plan.entries()) {
    await Bun.sleep(1500 + Math.floor(rnd() * 3000));
    const list = byRole[role];
    const idx = Math.floor(rnd() * list.length);
    const victim = list[idx]!;
    const t0 = Date.now();
    victim.proc.kill(9);
    await victim.proc.exited;
    procs.delete(victim);
    const pause = Math.floor(rnd() * 1000);
    await Bun.sleep(pause);
    // Restarted with the same role, environment and (for ingest) port.
    list[idx] = await start(role, role === "ingest" ? ports.get(victim) : undefined);
    restarts.push(Date.now() - t0);
    log(
      `kill ${k + 1}/10: kill -9 ${role}#${idx} (pid ${victim.proc.pid}) after ${load.acked.size} acknowledged; back ${Date.now() - t0} ms later (restart after ${pause} ms)`,
    );
  }
  await Bun.sleep(2000);
  const tStop = Date.now();
  await load.stop();
  log(`load stopped: ${load.acked.size} reports acknowledged, ${load.answers.filter((a) => a.status !== 202).length} refused or failed attempts (resent)`);

  const lake = new LocalLake(join(dataDir, "lake"));
  const audit = await lakeSettled(lake, load.acked, load.abandoned, 180_000);
  const settledMs = Date.now() - tStop;
  const expected = expectedAlerts(load.acked.values(), thresholdOf);
  const deployments = await eventually(
    "every deployment report in the lake",
    async () => {
      const d = await lakeDeployments(lake);
      return new Set(d.map((o) => o.alertId)).size >= expected.size ? d : null;
    },
    120_000,
    1000,
  ).catch(() => lakeDeployments(lake));
  await eventually("every order on the WebSocket stream", async () => new Set(stream.orders.map((o) => o.alertId)).size >= expected.size, 60_000, 500).catch(
    () => {},
  );
  stream.close();
  const topic = await committedAlerts(cluster.kafka, env.ACU_KAFKA_NAMESPACE!);

  // The analyzer (killed too) must end exact: the warehouse equals a recomputation from the lake.
  const want = recompute([...load.acked.values()], thresholdOf, 0.1);
  const ex = await eventually(
    "the analyzer to count the whole lake",
    async () => {
      const body = (await (await fetch(`${http.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
        exercises: Array<{ exerciseId: string; reports: number; averageScore: number }>;
      };
      return body.exercises.reduce((a, e) => a + e.reports, 0) >= audit.rows.length ? body : null;
    },
    120_000,
    1000,
  );

  const lakeIds = deployments.map((o) => o.alertId);
  const streamIds = stream.orders.map((o) => o.alertId);
  const topicIds = topic.map((o) => o.alertId);
  const conflicts = conflictingOrders([...topic, ...stream.orders, ...deployments]);
  const sameSet = (ids: string[]) => new Set(ids).size === expected.size && ids.every((id) => expected.has(id));
  record({
    name: "kill-9-roles",
    acknowledged: load.acked.size,
    lost: audit.lost,
    duplicated: audit.duplicated,
    recoveryMs: Math.max(...restarts),
    notes:
      `seed ${process.env.ACU_FAULT_SEED ?? 7}; kills ${plan.join(",")}; restart-to-ready max ${Math.max(...restarts)} ms; lake complete ${settledMs} ms after the load stopped; ` +
      `${expected.size} orders expected: lake ${new Set(lakeIds).size} (${duplicates(lakeIds)} twice), stream ${new Set(streamIds).size} (${duplicates(streamIds)} twice), ` +
      `topic ${new Set(topicIds).size} (${duplicates(topicIds)} redelivered), ${conflicts.length} alertId(s) with two different orders; ${audit.files.length} lake files`,
  });
  expect(audit.lost).toBe(0);
  expect(audit.duplicated).toBe(0);
  expect(audit.unexpected).toBe(0);
  expect(audit.positionsRepeated).toBe(0);
  expect(duplicates(lakeIds)).toBe(0);
  expect(sameSet(lakeIds)).toBe(true);
  expect(duplicates(streamIds)).toBe(0);
  expect(sameSet(streamIds)).toBe(true);
  expect(sameSet(topicIds)).toBe(true);
  expect(conflicts).toEqual([]);
  for (const e of ex.exercises) {
    const w = want.exercises.get(e.exerciseId)!;
    expect(e.reports).toBe(w.reports);
    expect(Math.abs(e.averageScore - w.sum / w.reports)).toBeLessThan(1e-9);
  }
  expect(ex.exercises.reduce((a, e) => a + e.reports, 0)).toBe(load.acked.size);
  for (const p of [http, ...Object.values(byRole).flat()]) {
    await p.stop();
    procs.delete(p);
  }
}
