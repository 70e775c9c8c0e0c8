import { expect } from "bun:test";
import { join } from "node:path";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { startAcu, type AcuProcess } from "../support/acu.ts";
import { faultRun, node, type FaultCluster } from "../support/fault-cluster.ts";
import { explainLost, lakeSettled, Load, log, record } from "./lib.ts";

/**
 * kill -9 of one of the 3 Kafka brokers under load (no clean shutdown: its partitions' leaders move only
 * once the controller gives up on it), then its restart. Ingest answers all along, 202 or 503 with a
 * Retry-After in whole seconds, never an error nor silence; 202s come again while the broker is still
 * dead (2 in-sync replicas remain); every acknowledged report is in the lake exactly once.
 */
export async function kafkaKill(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const env: Record<string, string> = {
    ...(await faultRun(cluster, "fkkill")),
    ACU_SINK_FLUSH_MS: "1000",
    ACU_SINK_FLUSH_RECORDS: "2000",
    ACU_KAFKA_CLIENT_LOG: "error",
  };
  const dataDir = join(dir, "kafka-kill");
  const started = await Promise.all(["ingest", "ingest", "sink"].map((role) => startAcu({ dataDir, env, args: [`--role=${role}`] })));
  for (const p of started) procs.add(p);
  const [ingestA, ingestB] = started as [AcuProcess, AcuProcess, AcuProcess];
  const load = new Load({ targets: () => [ingestA.url, ingestB.url], rate: 500, batch: 25, seed: 43 }).start();
  await Bun.sleep(4000);
  const before = load.count(202);

  const tKill = Date.now();
  await node("kill", "kafka", 0);
  await Bun.sleep(20_000);
  // The controller fences a broker that stopped heartbeating within its session timeout (9 s): leaders
  // have moved by now, so the last 6 s of the outage must see writes acknowledged.
  const late = { from: Date.now() - 6000, to: Date.now() };
  // The broker's start (a JVM, tens of seconds on a busy machine) overlaps the rest: the load, the audit.
  const tRestart = Date.now();
  const restarted = node("start", "kafka", 0).then(() => Date.now());
  await Bun.sleep(6000);
  await load.stop();
  const tEnd = Date.now();

  // The longest stretch without a 202 from the kill on: how long writes stalled.
  let last = tKill;
  let stallMs = 0;
  for (const a of load.answers) {
    if (a.at < tKill || a.status !== 202) continue;
    stallMs = Math.max(stallMs, a.at - last);
    last = a.at;
  }
  const outage = { ok: load.count(202, tKill, tRestart), refused: load.count(503, tKill, tRestart), unanswered: load.count(0, tKill, tEnd) };
  const refused = load.refusals(tKill, tEnd);
  const lateOk = load.count(202, late.from, late.to);
  const afterOk = load.count(202, tRestart, tEnd);
  const lake = new LocalLake(join(dataDir, "lake"));
  const audit = await lakeSettled(lake, load.acked, load.abandoned, 90_000);
  if (audit.lost > 0) log(await explainLost(cluster.kafka, env.ACU_KAFKA_NAMESPACE!, lake, load.acked));
  const statuses = [...new Set(load.answers.filter((a) => a.at >= tKill).map((a) => a.status))].sort();
  const startMs = (await restarted) - tRestart;
  record({
    name: "kafka-broker-kill-9",
    acknowledged: load.acked.size,
    lost: audit.lost,
    duplicated: audit.duplicated,
    recoveryMs: stallMs,
    notes:
      `broker 0 killed (SIGKILL) for ${tRestart - tKill} ms: ${outage.ok} batches acknowledged, ${outage.refused} × 503 (Retry-After ${JSON.stringify(refused.retryAfters)}), ` +
      `${outage.unanswered} unanswered; answers seen ${JSON.stringify(statuses)}; longest stretch without a 202 ${stallMs} ms; ${lateOk} acknowledged in the outage's last 6 s; ` +
      `${afterOk} in the ${tEnd - tRestart} ms after the restart began (the broker up after ${startMs} ms); ${before} before the kill; ${audit.rows.length} rows in ${audit.files.length} lake files`,
  });
  // Ingest kept answering: only 202 or 503 (the load throws on any other status), each 503 with a Retry-After.
  expect(outage.unanswered).toBe(0);
  expect({ without503RetryAfter: refused.withoutRetryAfter }).toEqual({ without503RetryAfter: 0 });
  expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
  expect(before).toBeGreaterThan(0);
  expect(lateOk).toBeGreaterThan(0);
  expect(afterOk).toBeGreaterThan(0);
  // Writes stalled at most for the fencing of the dead broker plus a publish's deadline (10 s).
  expect(stallMs).toBeLessThan(20_000);
  expect(audit.lost).toBe(0);
  expect(audit.duplicated).toBe(0);
  expect(audit.unexpected).toBe(0);
  expect(audit.positionsRepeated).toBe(0);
  for (const p of started) {
    await p.stop();
    procs.delete(p);
  }
}
