import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cleanup, eventually, operator, postReports, startAcu, tempDir, viewer, type AcuProcess } from "../support/acu.ts";
import { alertLag, clusterEnv, isolatedRun } from "../support/cluster.ts";

setDefaultTimeout(600_000);
const cluster = clusterEnv();

/**
 * Threshold visibility across instances: three alert processes; 1,000 trials of "change a threshold,
 * then at once send a report that the new value decides differently" — 0 stale decisions. Once with
 * writes through the API, once with writes made by etcdctl.
 *
 * Each trial has an exercise of its own, written once: the default is 50; even trials set 70 and send a
 * score of 60 (the new value alerts, a stale read would not), odd trials set 30 and send 40 (the new
 * value is silent, a stale read would alert). With one write per exercise, any value at least as new
 * as the acknowledged write gives the same decision, however far the alert processes lag.
 */
describe.skipIf(!cluster)("thresholds on etcd, three alert processes", () => {
  const dir = tempDir("etcd-thresholds");
  const procs: AcuProcess[] = [];
  let drop = async () => {};
  let env: Record<string, string> = {};
  let front: AcuProcess;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await drop();
    cleanup(dir);
  });

  const TRIALS = Number(process.env.ACU_THRESHOLD_TRIALS ?? 1000);

  async function trials(label: string, write: (exerciseId: string, threshold: number) => Promise<void>) {
    const expected = new Set<string>();
    const sent: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < TRIALS; i++) {
      const [threshold, score] = i % 2 === 0 ? [70, 60] : [30, 40];
      const exerciseId = `ex.${label}.${i}`;
      await write(exerciseId, threshold);
      const reportId = `${label}-${i}`;
      // A different student each time: the reports spread over partitions, hence over the three alert processes.
      const res = await postReports(front.url, {
        reportId,
        studentId: `${label}-student-${i}`,
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
    await eventually("every report judged", async () => (await alertLag(env)) === 0, 120_000, 500);
    const feed = async () =>
      new Set(
        ((await (await fetch(`${front.url}/api/alerts?limit=1000`, { headers: viewer })).json()) as { alerts: Array<{ reportId: string }> }).alerts
          .map((a) => a.reportId)
          .filter((id) => id.startsWith(`${label}-`)),
      );
    // Judged and committed means published; the feed may still be reading them.
    const got = await eventually(
      "the feed to catch up",
      async () => {
        const f = await feed();
        return f.size >= expected.size ? f : null;
      },
      30_000,
    ).catch(feed);
    let stale = 0;
    for (const r of sent) if (got.has(r) !== expected.has(r)) stale++;
    console.log(`thresholds (${label}): ${TRIALS} trials, ${expected.size} alerts expected, ${stale} stale decisions`);
    expect(stale).toBe(0);
    expect(got.size).toBe(expected.size);
  }

  test("writes through the API: 0 stale decisions", async () => {
    const iso = await isolatedRun(cluster!, "thr");
    drop = iso.drop;
    env = { ...iso.env, ACU_ANALYZER_SCHEDULE: "off", ACU_ALERT_FEED_SIZE: "5000" };
    front = await startAcu({ dataDir: dir, env, args: ["--role=ingest,http"] });
    procs.push(front);
    procs.push(...(await Promise.all([1, 2, 3].map(() => startAcu({ dataDir: dir, env, args: ["--role=alert"] })))));
    await trials("api", async (exerciseId, threshold) => {
      const r = await fetch(`${front.url}/api/thresholds/${exerciseId}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold }) });
      expect(r.status).toBe(200);
    });
  });

  test("writes made by etcdctl: 0 stale decisions", async () => {
    await trials("etcdctl", async (exerciseId, threshold) => {
      const p = Bun.spawnSync({
        cmd: ["etcdctl", `--endpoints=${env.ACU_ETCD_ENDPOINTS}`, "put", `${env.ACU_ETCD_PREFIX}exercises/${exerciseId}`, String(threshold)],
        env: { ...process.env, ETCDCTL_API: "3" },
      });
      expect(p.exitCode).toBe(0);
    });
  });
});
