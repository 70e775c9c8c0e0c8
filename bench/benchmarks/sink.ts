import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SINK_GROUP } from "../../modules/sink/sink.ts";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import { parseLakePath } from "../../src/domain/lake-layout.ts";
import { kafkaTool } from "../lib/cluster.ts";
import {
  compare,
  createTopic,
  deleteGroup,
  endOffsets,
  machineInfo,
  timing,
  preloadReports,
  round,
  runId,
  startAcuRole,
  waitGroupCaughtUp,
  withAdmin,
  deleteTopics,
  type BenchContext,
  type BenchResult,
  type Run,
} from "../lib/common.ts";

const PARTITIONS = 6;

/**
 * Sink: reports/s from student-reports into Parquet files on HDFS (acu --role=sink; offsets committed only
 * once a file is durable), vs Kafka's ConsumerPerformance reading the same topic (the read ceiling).
 */
export async function benchSink(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const count = { smoke: 5_000, quick: 200_000, full: 1_000_000 }[ctx.mode];
  const flushMs = 1000;
  const brokers = ctx.env.ACU_KAFKA_BROKERS!;
  const hdfsUrl = ctx.env.ACU_HDFS_URL!,
    namenode = ctx.env.ACU_HDFS_NAMENODE!;
  const ns = runId("sink");
  const input = `${ns}.student-reports`;
  await withAdmin(brokers, (a) => createTopic(a, input, PARTITIONS));
  await preloadReports(brokers, input, count, 21, ctx.log);
  const end = await withAdmin(brokers, (a) => endOffsets(a, input));
  const runs: Run[] = [];
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-sink-"));
  const timeout = { smoke: 120_000, quick: 300_000, full: 1_200_000 }[ctx.mode];
  let seq = 0;
  try {
    for (let pair = 0; pair < ctx.pairs; pair++) {
      // A: ConsumerPerformance, a fresh group each run.
      const perf = await kafkaTool([
        "kafka-perf",
        "consumer",
        "--topic",
        input,
        "--messages",
        String(count),
        "--bootstrap-server",
        brokers,
        "--group",
        `${ns}.perf-${pair}`,
        "--timeout",
        "60000",
      ]);
      const line = perf.out
        .trim()
        .split("\n")
        .filter((l) => /^\d{4}-/.test(l))
        .pop();
      const cols = line?.split(",").map((s) => s.trim());
      if (perf.code !== 0 || !cols || cols.length < 10)
        throw new Error(`ConsumerPerformance failed (${perf.code}):\n${perf.out.slice(-2000)}\n${perf.err.slice(-2000)}`);
      const [, , mb, mbs, nmsg, nmsgs, rebalanceMs, fetchMs, fetchMbs, fetchNmsgs] = cols.map((c, i) => (i < 2 ? NaN : Number(c)));
      runs.push({
        who: "kafka-consumer-perf",
        seq: seq++,
        value: round(fetchNmsgs!, 0),
        records: nmsg,
        mb,
        mbPerS: mbs,
        nMsgPerSIncludingJoin: nmsgs,
        rebalanceMs,
        fetchMs,
        fetchMbPerS: fetchMbs,
      });
      ctx.log(`ConsumerPerformance ${Math.round(fetchNmsgs!)} records/s (fetch), ${Math.round(nmsgs!)} with the group join`);
      // B: acu's sink into a fresh lake root, its group reset.
      const root = `/acu-bench/${ns}/run-${pair}`;
      await withAdmin(brokers, (a) => deleteGroup(a, `${ns}.${SINK_GROUP}`));
      await withAdmin(brokers, async (admin) => {
        const spawned = performance.now();
        const p = await startAcuRole({
          roles: "sink",
          dataDir: join(dir, `d${pair}`),
          env: {
            ACU_KAFKA_BROKERS: brokers,
            ACU_KAFKA_NAMESPACE: `${ns}.`,
            ACU_PARTITIONS: String(PARTITIONS),
            ACU_HDFS_URL: hdfsUrl,
            ACU_HDFS_NAMENODE: namenode,
            ACU_HDFS_ROOT: root,
            ACU_SINK_FLUSH_MS: String(flushMs),
          },
        });
        // From the role's start (its consumer joining) to the last commit: the sink commits once per file,
        // a few times per run, so a rate between first and last commit would rest on two or three points.
        const ts = performance.now();
        try {
          const r = await waitGroupCaughtUp(admin, `${ns}.${SINK_GROUP}`, input, end, ts, timeout);
          const lake = await WebHdfsLake.open({ url: hdfsUrl, root, namenode });
          const files = await lake.list("reports/");
          const rows = files.reduce((n, f) => {
            const x = parseLakePath(f.path)!;
            return n + x.lastOffset - x.firstOffset + 1;
          }, 0);
          if (rows !== count) throw new Error(`the lake holds ${rows} of ${count} reports`);
          const rate = (count / r.doneMs) * 1000;
          runs.push({
            who: "acu",
            seq: seq++,
            value: round(rate, 0),
            records: count,
            fromReadyS: round(r.doneMs / 1000, 2),
            wallS: round((r.doneMs + ts - spawned) / 1000, 2),
            firstCommitS: round(r.firstMs / 1000, 2),
            files: files.length,
            peakRssMiB: p.peakRssMiB(),
          });
          ctx.log(`acu sink ${Math.round(rate)} reports/s, ${count} in ${(r.doneMs / 1000).toFixed(1)} s from ready, ${files.length} files`);
          await fetch(`${hdfsUrl}/webhdfs/v1${root}?op=DELETE&recursive=true&user.name=acu`, { method: "DELETE" }).catch(() => {});
        } catch (e) {
          throw new Error(`acu sink: ${(e as Error).message}\n${p.output().slice(-3000)}`);
        } finally {
          await p.stop();
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await withAdmin(brokers, (a) => deleteTopics(a, [input, `${ns}.alerts`, `${ns}.reports-dlq`])).catch(() => {});
  }
  return {
    name: "sink",
    ...timing(ctx, t0),
    params: { reports: count, partitions: PARTITIONS, replication: 1, sinkFlushMs: flushMs, sinkFlushRecords: 50_000, hdfsDataNodes: 1, pairs: ctx.pairs },
    runs,
    comparisons: [compare(runs, { peer: "kafka-consumer-perf", metric: "reports/s into the lake", higherIsBetter: true, goalRatio: 0.5, goal: "≥ 0.5×" })],
    notes: [
      "acu: --role=sink, Parquet files on HDFS (WebHDFS), offsets committed after each file is durable; rate = reports / (role ready → last offset committed), Bun start-up excluded; lake row count checked after each run; ACU_SINK_FLUSH_MS=1000.",
      "peer: ConsumerPerformance (fetch.nMsg.sec: the group join excluded) reading the same topic with a fresh group: the read ceiling, it writes nothing.",
    ],
    machine: machineInfo(),
  };
}
