import { expect } from "bun:test";
import { join } from "node:path";
import { eventually, operator, postReports, startAcu, viewer, type AcuProcess } from "../support/acu.ts";
import { alertLag } from "../support/cluster.ts";
import { faultRun, node, type FaultCluster } from "../support/fault-cluster.ts";
import { log, record } from "./lib.ts";

/**
 * etcd with 3 members: the leader is killed (kill -9) while threshold trials run — "write a threshold
 * through the API, then at once send a report the new value decides differently" (as in
 * tests/cluster/thresholds.test.ts), and a prober writes and reads every 50 ms. Writes and reads resume
 * (the longest gap without a successful one is the recovery time), no acknowledged write is lost, and no
 * decision is stale: every report judged after an acknowledged write used that write.
 */
export async function etcdLeader(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const env: Record<string, string> = { ...(await faultRun(cluster, "fetcd")), ACU_ALERT_FEED_SIZE: "5000" };
  const dataDir = join(dir, "etcd");
  const front = await startAcu({ dataDir, env, args: ["--role=ingest,http"] });
  procs.add(front);
  const alerts = await Promise.all([1, 2].map(() => startAcu({ dataDir, env, args: ["--role=alert"] })));
  for (const a of alerts) procs.add(a);

  // Prober: one write and one read every 50 ms, each recorded with its end time and outcome.
  const ops: Array<{ kind: "write" | "read"; end: number; ok: boolean }> = [];
  let probing = true;
  const prober = (async () => {
    for (let i = 0; probing; i++) {
      const w = await fetch(`${front.url}/api/thresholds/probe.write`, {
        method: "PUT",
        headers: operator,
        body: JSON.stringify({ threshold: i % 101 }),
        signal: AbortSignal.timeout(15_000),
      }).then(
        (r) => r.status === 200,
        () => false,
      );
      ops.push({ kind: "write", end: Date.now(), ok: w });
      const r = await fetch(`${front.url}/api/thresholds`, { headers: viewer, signal: AbortSignal.timeout(15_000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      ops.push({ kind: "read", end: Date.now(), ok: r });
      await Bun.sleep(50);
    }
  })();

  // Trials, each on an exercise of its own written once: even ones set 70 and send 60 (must alert), odd ones set 30 and send 40 (must not).
  const acknowledged = new Map<string, number>();
  const expected = new Set<string>();
  const sent: string[] = [];
  let refusedWrites = 0;
  let trialsRunning = true;
  const t0 = Date.now();
  const trials = (async () => {
    for (let i = 0; trialsRunning; i++) {
      const [threshold, score] = i % 2 === 0 ? [70, 60] : [30, 40];
      const exerciseId = `ex.fo.${i}`;
      const w = await fetch(`${front.url}/api/thresholds/${exerciseId}`, {
        method: "PUT",
        headers: operator,
        body: JSON.stringify({ threshold }),
        signal: AbortSignal.timeout(15_000),
      }).then(
        (r) => r.status,
        () => 0,
      );
      // Not acknowledged: the write may or may not have happened, so no report depends on it.
      if (w !== 200) {
        refusedWrites++;
        await Bun.sleep(20);
        continue;
      }
      acknowledged.set(exerciseId, threshold);
      const reportId = `fo-${i}`;
      const res = await postReports(front.url, {
        reportId,
        studentId: `fo-student-${i}`,
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
  })();

  await Bun.sleep(3000);
  const leader = leaderOf(cluster.etcd);
  const tKill = Date.now();
  await node("kill", "etcd", leader);
  log(`etcd: killed the leader, member ${leader}, after ${acknowledged.size} trials`);
  await Bun.sleep(12_000);
  trialsRunning = false;
  await trials;
  probing = false;
  await prober;
  await node("start", "etcd", leader);
  const newLeader = leaderOf(cluster.etcd);

  // Recovery: the longest time, from the kill on, without a successful write (read).
  const gap = (kind: "write" | "read") => {
    let last = tKill;
    let longest = 0;
    for (const o of ops) {
      if (o.kind !== kind || !o.ok || o.end < tKill) continue;
      longest = Math.max(longest, o.end - last);
      last = o.end;
    }
    return longest;
  };
  const failed = (kind: "write" | "read") => ops.filter((o) => o.kind === kind && !o.ok && o.end >= tKill).length;
  const writeGap = gap("write");
  const readGap = gap("read");

  // Every report judged, then the feed compared with the acknowledged writes.
  await eventually("every trial report judged", async () => (await alertLag(env)) === 0, 120_000, 500);
  const feed = async () =>
    new Set(
      ((await (await fetch(`${front.url}/api/alerts?limit=1000`, { headers: viewer })).json()) as { alerts: Array<{ reportId: string }> }).alerts
        .map((a) => a.reportId)
        .filter((id) => id.startsWith("fo-")),
    );
  const got = await eventually("the feed to catch up", async () => ((await feed()).size >= expected.size ? feed() : null), 30_000).catch(feed);
  let stale = 0;
  for (const r of sent) if (got.has(r) !== expected.has(r)) stale++;
  // No acknowledged write lost across the failover.
  const snap = (await (await fetch(`${front.url}/api/thresholds`, { headers: viewer })).json()) as { thresholds: Record<string, number> };
  let lost = 0;
  for (const [ex, t] of acknowledged) if (snap.thresholds[ex] !== t) lost++;

  record({
    name: "etcd-leader-kill",
    acknowledged: acknowledged.size,
    lost,
    duplicated: 0,
    recoveryMs: Math.max(writeGap, readGap),
    notes:
      `killed leader m${leader} (new leader m${newLeader}); longest gap without a successful write ${writeGap} ms, read ${readGap} ms; ` +
      `${failed("write")} write(s) and ${failed("read")} read(s) failed after the kill; ${sent.length} trials judged, ${expected.size} alerts expected, ${stale} stale; ${refusedWrites} trial write(s) refused`,
  });
  expect(stale).toBe(0);
  expect(got.size).toBe(expected.size);
  expect(lost).toBe(0);
  expect(sent.length).toBeGreaterThan(50);
  // Writes and reads resumed well within the test (the number is the measurement).
  expect(writeGap).toBeLessThan(10_000);
  expect(readGap).toBeLessThan(10_000);
  for (const p of [front, ...alerts]) {
    await p.stop();
    procs.delete(p);
  }
}

/** The index of the member that leads, from `etcdctl endpoint status` (its "is leader" column). */
export function leaderOf(endpoints: string): number {
  const p = Bun.spawnSync({
    cmd: ["etcdctl", `--endpoints=${endpoints}`, "--command-timeout=3s", "endpoint", "status"],
    env: { ...process.env, ETCDCTL_API: "3" },
  });
  // endpoint, ID, version, DB size, is leader, is learner, raft term, raft index, raft applied index, errors
  const lead = p.stdout
    .toString()
    .split("\n")
    .map((l) => l.split(", "))
    .find((f) => f[4] === "true");
  if (!lead) throw new Error(`no etcd leader found: ${p.stdout.toString()}${p.stderr.toString()}`);
  return endpoints.split(",").indexOf(lead[0]!);
}
