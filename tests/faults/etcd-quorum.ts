import { expect } from "bun:test";
import { join } from "node:path";
import { eventually, operator, postReports, startAcu, viewer, type AcuProcess } from "../support/acu.ts";
import { alertLag } from "../support/cluster.ts";
import { faultRun, node, type FaultCluster } from "../support/fault-cluster.ts";
import { leaderOf } from "./etcd-leader.ts";
import { committedAlerts, log, record } from "./lib.ts";

/** How long a threshold write or read may take to be refused without a quorum: the etcd request deadline (5 s), retries included, and a margin. */
const REFUSAL_BOUND_MS = 6500;

interface Sent {
  reportId: string;
  exerciseId: string;
  score: number;
  /** The exercise's threshold as of the last acknowledged write before the report was sent. */
  threshold: number;
  at: number;
}

/**
 * etcd with 3 members loses its majority: 2 members killed (kill -9) while thresholds are written and
 * reports judged. Without a quorum every threshold write and read answers 503 with a Retry-After within
 * its bound (never 200, 500 or silence), and the alert role decides nothing: a linearizable read of the
 * thresholds cannot be made, so its batches wait, redelivered, instead of being judged on its watched
 * copy. Reports keep coming meanwhile, among them ones on an exercise whose threshold was lowered just
 * before the loss (a stale copy would alert on them). One member back: writes and judging resume, every
 * report is judged once with the threshold of the last write acknowledged before it was sent, and no
 * acknowledged write is lost.
 */
export async function etcdQuorum(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const env: Record<string, string> = { ...(await faultRun(cluster, "fquorum")), ACU_ALERT_FEED_SIZE: "5000" };
  const dataDir = join(dir, "etcd-quorum");
  const [front, alert] = await Promise.all([startAcu({ dataDir, env, args: ["--role=ingest,http"] }), startAcu({ dataDir, env, args: ["--role=alert"] })]);
  procs.add(front);
  procs.add(alert);

  const acked = new Map<string, number>();
  const sent: Sent[] = [];
  const writes: Array<{ start: number; end: number; status: number; retryAfter: string | null }> = [];
  const put = async (exerciseId: string, threshold: number) => {
    const start = Date.now();
    const res = await fetch(`${front.url}/api/thresholds/${exerciseId}`, {
      method: "PUT",
      headers: operator,
      body: JSON.stringify({ threshold }),
      signal: AbortSignal.timeout(30_000),
    }).catch(() => null);
    await res?.arrayBuffer();
    writes.push({ start, end: Date.now(), status: res?.status ?? 0, retryAfter: res?.headers.get("retry-after") ?? null });
    // Not acknowledged: the write may or may not take effect once a quorum is back, so nothing depends on it.
    if (res?.status === 200) acked.set(exerciseId, threshold);
    return res?.status ?? 0;
  };
  let reports = 0;
  const report = async (exerciseId: string, score: number) => {
    // Two loops send at once: the number is taken before any await.
    const n = reports++;
    const reportId = `fq-${n}`;
    const threshold = acked.get(exerciseId)!;
    const at = Date.now();
    const res = await postReports(front.url, { reportId, studentId: `fq-student-${n}`, exerciseId, score, latitude: 45.76, longitude: 4.84, timestamp: at });
    expect(res.status).toBe(202);
    sent.push({ reportId, exerciseId, score, threshold, at });
  };

  // Trials: a threshold written, then at once a report it decides (even: 70 and 60, alert; odd: 30 and 40, none).
  let trialsRunning = true;
  let trial = 0;
  const trials = (async () => {
    for (; trialsRunning; trial++) {
      const [threshold, score] = trial % 2 === 0 ? [70, 60] : [30, 40];
      const exerciseId = `ex.fq.${trial}`;
      if ((await put(exerciseId, threshold)) === 200) await report(exerciseId, score);
      else await Bun.sleep(200);
    }
  })();
  // A prober: one more writer, each write to an exercise of its own (one that may take effect late harms none).
  const prober = (async () => {
    for (let n = 0; trialsRunning; n++) {
      await put(`probe.fq.${n}`, 50);
      await Bun.sleep(200);
    }
  })();
  // An exercise lowered from 70 to 30 just before the loss: a report of 60 on it must not alert.
  expect(await put("ex.fq.flip", 70)).toBe(200);
  await Bun.sleep(3000);
  expect(await put("ex.fq.flip", 30)).toBe(200);
  expect(acked.get("ex.fq.0")).toBe(70);

  const leader = leaderOf(cluster.etcd);
  const victims = [leader, (leader + 1) % 3];
  await Promise.all(victims.map((m) => node("kill", "etcd", m)));
  const tLost = Date.now();
  log(`etcd-quorum: killed members ${victims.join(" and ")} (the leader was ${leader}) after ${sent.length} trials`);
  // Reports during the loss: on the lowered exercise (no alert) and on a trial exercise of 70 (alert, once judged).
  const during = (async () => {
    while (Date.now() - tLost < 14_000) {
      await report("ex.fq.flip", 60);
      await report("ex.fq.0", 60);
      await Bun.sleep(250);
    }
  })();
  const reads: Array<{ end: number; status: number; ms: number }> = [];
  for (let i = 0; i < 3; i++) {
    const start = Date.now();
    const status = await fetch(`${front.url}/api/thresholds`, { headers: viewer, signal: AbortSignal.timeout(30_000) }).then(
      (r) => r.status,
      () => 0,
    );
    reads.push({ end: Date.now(), status, ms: Date.now() - start });
  }
  await during;
  const lagDuring = await alertLag(env);

  const tBack = Date.now();
  await node("start", "etcd", victims[1]!);
  const firstWrite = await eventually(
    "a threshold write acknowledged with a member back",
    async () => writes.find((w) => w.start >= tBack && w.status === 200)?.end ?? null,
    60_000,
    100,
  ).catch(() => null);
  await Bun.sleep(3000);
  trialsRunning = false;
  await Promise.all([trials, prober]);
  await node("start", "etcd", victims[0]!);

  // Every report judged, then the committed orders compared with the acknowledged writes.
  await eventually("every report judged", async () => (await alertLag(env)) === 0, 120_000, 500);
  const orders = (await committedAlerts(cluster.kafka, env.ACU_KAFKA_NAMESPACE!)).filter((o) => o.reportId.startsWith("fq-"));
  const byReport = new Map<string, number[]>();
  for (const o of orders) byReport.set(o.reportId, [...(byReport.get(o.reportId) ?? []), o.threshold]);
  let stale = 0;
  let doubled = 0;
  for (const s of sent) {
    const got = byReport.get(s.reportId) ?? [];
    if (got.length > 1) doubled += got.length - 1;
    const alerted = got.length > 0;
    if (alerted !== s.score < s.threshold || got.some((t) => t !== s.threshold)) stale++;
  }
  const decidedWhileLost = orders.filter((o) => o.raisedAt >= tLost + 1000 && o.raisedAt < tBack).length;
  const lostSent = sent.filter((s) => s.at >= tLost && s.at < tBack);
  const snap = (await (await fetch(`${front.url}/api/thresholds`, { headers: viewer })).json()) as { thresholds: Record<string, number> };
  let lost = 0;
  for (const [ex, t] of acked) if (snap.thresholds[ex] !== t) lost++;

  // Every write begun during the loss, however long it took (a hang would end after the return); those
  // answered before a member was back must all be refused, a later one may be acknowledged by the new quorum.
  const outage = writes.filter((w) => w.start >= tLost + 500 && w.start < tBack);
  const answeredInLoss = outage.filter((w) => w.end < tBack);
  const outageStatuses = [...new Set([...answeredInLoss.map((w) => w.status), ...reads.map((r) => r.status)])].sort();
  const slowest = Math.max(0, ...outage.map((w) => w.end - w.start), ...reads.map((r) => r.ms));
  const recoveryMs = firstWrite === null ? null : firstWrite - tBack;
  record({
    name: "etcd-quorum-loss",
    acknowledged: acked.size,
    lost,
    duplicated: doubled,
    recoveryMs,
    notes:
      `killed members ${victims.join(", ")} (leader ${leader}) for ${tBack - tLost} ms: ${answeredInLoss.length} threshold write(s) and ${reads.length} read(s) answered meanwhile, ${JSON.stringify(outageStatuses)} ` +
      `(Retry-After ${JSON.stringify([...new Set(answeredInLoss.map((w) => w.retryAfter))])}), the slowest of the ${outage.length} begun meanwhile in ${slowest} ms; ${lostSent.length} reports sent meanwhile, ${decidedWhileLost} orders decided meanwhile, ` +
      `alert lag ${lagDuring} at the end of the loss; first write acknowledged ${recoveryMs ?? "never"} ms after member ${victims[1]} was started; ` +
      `${sent.length} reports judged, ${orders.length} orders, ${stale} stale or wrong, ${doubled} doubled`,
  });
  expect(answeredInLoss.length).toBeGreaterThan(5);
  expect(outageStatuses).toEqual([503]);
  expect(answeredInLoss.filter((w) => w.retryAfter === null || !/^[1-9][0-9]*$/.test(w.retryAfter)).length).toBe(0);
  expect(slowest).toBeLessThan(REFUSAL_BOUND_MS);
  expect(lostSent.length).toBeGreaterThan(10);
  expect(decidedWhileLost).toBe(0);
  expect(lagDuring).toBeGreaterThan(0);
  expect(recoveryMs).not.toBeNull();
  expect(recoveryMs!).toBeLessThan(30_000);
  expect(stale).toBe(0);
  expect(doubled).toBe(0);
  expect(lost).toBe(0);
  expect(sent.filter((s) => s.at >= tBack).length).toBeGreaterThan(0);
  for (const p of [front, alert]) {
    await p.stop();
    procs.delete(p);
  }
}
