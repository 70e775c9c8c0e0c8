import { expect } from "bun:test";
import { join } from "node:path";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import { startAcu, type AcuProcess } from "../support/acu.ts";
import { faultRun, node, type FaultCluster } from "../support/fault-cluster.ts";
import { burst, explainLost, lakeSettled, Load, log, record } from "./lib.ts";

/**
 * HDFS with its single DataNode stopped for 15 s under load, then started again: the sink cannot write
 * meanwhile (its files fail and are retried, offsets uncommitted), then resumes; every acknowledged
 * report is in the lake on HDFS exactly once, bus positions included. During the outage a burst of
 * reports (ingest and Kafka are fine) reaches the bus far faster than the sink could write it: the
 * sink's peak resident set may grow by its byte bound and a margin, not by the burst.
 */
/** ACU_SINK_BUFFER_BYTES for this run: small beside the burst (130,000–370,000 reports, 30–75 MB on the bus). */
const SINK_BUFFER_BYTES = 8 * 1024 * 1024;
/**
 * What the sink's peak RSS may grow by over its bound during the outage: Kafka fetches in hand, the
 * failing file's encoded bytes held by its retries, garbage not yet collected. Measured: +66 to +146 MiB
 * with the bound (130,000–360,000 reports of burst), +83 MiB without it (ACU_SINK_BUFFER_BYTES 1 GiB, 329,000):
 * with 2,000-record files the sink's handler waits on the failing write, so what it holds does not grow
 * with the burst either way; modules/sink/sink.test.ts proves the bound where it does.
 */
const SINK_GROWTH_MARGIN_MIB = 248;
export async function hdfsDataNode(cluster: FaultCluster, dir: string, procs: Set<AcuProcess>): Promise<void> {
  const root = `/faults/hdfs-${Date.now().toString(36)}`;
  const env: Record<string, string> = {
    ...(await faultRun(cluster, "fhdfs")),
    ACU_HDFS_URL: cluster.hdfsUrl,
    ACU_HDFS_NAMENODE: cluster.hdfsNamenode,
    ACU_HDFS_ROOT: root,
    ACU_SINK_FLUSH_MS: "1000",
    ACU_SINK_FLUSH_RECORDS: "2000",
    ACU_SINK_BUFFER_BYTES: String(SINK_BUFFER_BYTES),
  };
  const dataDir = join(dir, "hdfs");
  const [ingest, sink] = await Promise.all(["ingest", "sink"].map((role) => startAcu({ dataDir, env, args: [`--role=${role}`] })));
  procs.add(ingest!);
  procs.add(sink!);
  const lake = await WebHdfsLake.open({ url: cluster.hdfsUrl, root, namenode: cluster.hdfsNamenode });

  // Lake files over time: when the sink stops publishing and when it resumes.
  const fileTimes: Array<{ at: number; files: number }> = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const n = await lake.list("reports/").then(
        (l) => l.length,
        () => -1,
      );
      if (n >= 0) fileTimes.push({ at: Date.now(), files: n });
      await Bun.sleep(250);
    }
  })();

  const load = new Load({ targets: () => [ingest!.url], rate: 500, batch: 25, seed: 51 }).start();
  await Bun.sleep(5000);
  const tStop = Date.now();
  await node("stop", "hdfs-datanode", 0);
  // In-flight writes settle first; then 8 s of burst, and the sink's peak read at the end of the outage.
  await Bun.sleep(3000);
  const flood = await burst({ target: ingest!.url, watchPid: sink!.proc.pid, workers: 8, batch: 1000, ms: 8000, seed: 52 });
  await Bun.sleep(Math.max(0, tStop + 15_000 - Date.now()));
  const sinkPeakMiB = flood.peakMiB();
  const sinkGrowthMiB = sinkPeakMiB - flood.rssBeforeMiB;
  const tStart = Date.now();
  await node("start", "hdfs-datanode", 0);
  const filesAtStart = fileTimes.filter((f) => f.at <= tStart).at(-1)?.files ?? 0;
  const resumed = await (async () => {
    for (;;) {
      const f = fileTimes.find((x) => x.at > tStart && x.files > filesAtStart);
      if (f) return f.at;
      if (Date.now() - tStart > 120_000) return null;
      await Bun.sleep(100);
    }
  })();
  await Bun.sleep(3000);
  await load.stop();
  const acked = new Set([...load.acked.keys(), ...flood.acked]);
  const audit = await lakeSettled(lake, acked, new Set([...load.abandoned, ...flood.unanswered]), 180_000);
  watching = false;
  await watcher;
  // While the DataNode was down (after in-flight writes settled): no file could be published.
  const during = fileTimes.filter((f) => f.at > tStop + 3000 && f.at < tStart);
  const publishedDuring = during.length > 0 ? during.at(-1)!.files - during[0]!.files : 0;
  const failures = sink!
    .output()
    .split("\n")
    .filter((l) => l.includes("flush failed")).length;
  // A file published whose offsets could not be committed (e.g. the group rebalancing after the sink's
  // handler was blocked on HDFS): its records must not be written again.
  const commitFailures = sink!
    .output()
    .split("\n")
    .filter((l) => l.includes("(its file is in the lake) failed")).length;
  if (commitFailures > 0)
    log(
      `sink: ${sink!
        .output()
        .split("\n")
        .filter((l) => l.includes("(its file is in the lake) failed") || l.includes("kafka:"))
        .slice(0, 10)
        .join("\n")}`,
    );
  if (audit.lost > 0) {
    log(await explainLost(cluster.kafka, env.ACU_KAFKA_NAMESPACE!, lake, load.acked));
    log(`sink output (last 60 lines):\n${sink!.output().split("\n").slice(-60).join("\n")}`);
  }
  record({
    name: "hdfs-datanode-restart",
    acknowledged: acked.size,
    lost: audit.lost,
    duplicated: audit.duplicated,
    recoveryMs: resumed === null ? null : resumed - tStart,
    notes:
      `DataNode down ${tStart - tStop} ms; ${publishedDuring} file(s) published while it was down; ${failures} failed flush(es) logged by the sink, retried; ${commitFailures} failed commit(s) of published files; ` +
      `first new file ${resumed === null ? "never" : `${resumed - tStart} ms`} after the restart began; ${audit.rows.length} rows in ${audit.files.length} files; ` +
      `burst while it was down: ${flood.acked.size} reports acknowledged (${JSON.stringify(flood.statuses)}), sink RSS ${flood.rssBeforeMiB.toFixed(0)} MiB before, ` +
      `peak ${sinkPeakMiB.toFixed(0)} MiB (+${sinkGrowthMiB.toFixed(0)} MiB, ACU_SINK_BUFFER_BYTES ${SINK_BUFFER_BYTES / 1024 / 1024} MiB)`,
    peakRssMiB: { sink: Math.round(sinkPeakMiB), sinkBefore: Math.round(flood.rssBeforeMiB) },
  });
  expect(publishedDuring).toBe(0);
  // The burst must have outrun the bound many times over, or the bound was never tested.
  expect(flood.acked.size * 200).toBeGreaterThan(SINK_BUFFER_BYTES * 4);
  expect({ sinkGrowthMiB: Math.round(sinkGrowthMiB), within: sinkGrowthMiB <= SINK_BUFFER_BYTES / 1024 / 1024 + SINK_GROWTH_MARGIN_MIB }).toEqual({
    sinkGrowthMiB: Math.round(sinkGrowthMiB),
    within: true,
  });
  expect(resumed).not.toBeNull();
  expect(audit.lost).toBe(0);
  expect(audit.duplicated).toBe(0);
  expect(audit.unexpected).toBe(0);
  expect(audit.positionsRepeated).toBe(0);
  for (const p of [ingest!, sink!]) {
    await p.stop();
    procs.delete(p);
  }
}
