import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERT_GROUP } from "../../modules/alert/alert.ts";
import { ensureStreamsPeer } from "../lib/streams-peer.ts";
import {
  BENCH_THRESHOLDS,
  compare,
  createTopic,
  deleteGroup,
  deleteTopics,
  endOffsets,
  machineInfo,
  timing,
  preloadReports,
  round,
  runId,
  spawnProc,
  startAcuRole,
  waitGroupCaughtUp,
  withAdmin,
  writeThresholds,
  type BenchContext,
  type BenchResult,
  type Run,
} from "../lib/common.ts";
import { ROOT } from "../lib/cluster.ts";

const PARTITIONS = 6;

/**
 * Alert throughput: N reports preloaded in student-reports (~20 % below threshold); from the start of the
 * process until its group has committed offsets for all of them (every order produced, acks=all).
 * Compared as reports/s between the first commit seen and the last (start-up excluded), also kept: wall time.
 */
export async function benchAlertThroughput(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const count = { smoke: 5_000, quick: 100_000, full: 1_000_000 }[ctx.mode];
  // The original's approach sends one order at a time: a smaller input keeps its runs within minutes; compared as a rate.
  const plainCount = { smoke: 1_000, quick: 30_000, full: 100_000 }[ctx.mode];
  const brokers = ctx.env.ACU_KAFKA_BROKERS!;
  const etcd = ctx.env.ACU_ETCD_ENDPOINTS!;
  const ns = runId("alert");
  const input = `${ns}.student-reports`;
  const small = `${ns}.small-reports`;
  const prefix = `/${ns}/thresholds/`;
  const streamsCmd = ensureStreamsPeer(ctx.log);
  await withAdmin(brokers, async (a) => {
    await createTopic(a, input, PARTITIONS);
    await createTopic(a, small, PARTITIONS);
  });
  const { failures } = await preloadReports(brokers, input, count, 11, ctx.log);
  const { failures: plainFailures } = await preloadReports(brokers, small, plainCount, 12, ctx.log);
  await writeThresholds(etcd, prefix);
  const end = await withAdmin(brokers, (a) => endOffsets(a, input));
  const endSmall = await withAdmin(brokers, (a) => endOffsets(a, small));
  const timeout = { smoke: 120_000, quick: 300_000, full: 1_200_000 }[ctx.mode];
  const runs: Run[] = [];
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-alert-"));
  const thresholdArgs = [String(BENCH_THRESHOLDS.default), ...Object.entries(BENCH_THRESHOLDS.exercises).map(([e, t]) => `${e}=${t}`)];
  let seq = 0;
  const measure = async (
    who: string,
    group: string,
    topic: string,
    ends: number[],
    start: () => Promise<{ stop: () => Promise<number>; peakRssMiB: () => number | null; output: () => string }>,
    n: number,
  ) => {
    await withAdmin(brokers, async (admin) => {
      const ts = performance.now();
      const p = await start();
      try {
        const r = await waitGroupCaughtUp(admin, group, topic, ends, ts, timeout);
        const rss = p.peakRssMiB();
        runs.push({
          who,
          seq: seq++,
          value: round(r.steadyRate, 0),
          reports: n,
          wallS: round(r.wallMs / 1000, 2),
          firstCommitS: round(r.firstMs / 1000, 2),
          wallRate: round((n / r.wallMs) * 1000, 0),
          peakRssMiB: rss,
        });
        ctx.log(`${who}: ${Math.round(r.steadyRate)} reports/s steady, ${n} in ${(r.wallMs / 1000).toFixed(1)} s from start; peak RSS ${rss} MiB`);
      } catch (e) {
        throw new Error(`${who}: ${(e as Error).message}\n${p.output().slice(-3000)}`);
      } finally {
        await p.stop();
      }
    });
  };
  try {
    for (let pair = 0; pair < ctx.pairs; pair++) {
      // A(a): Kafka Streams, exactly-once.
      const appId = `${ns}.streams-${pair}`;
      const out = `${ns}.streams-alerts-${pair}`;
      await withAdmin(brokers, (a) => createTopic(a, out, PARTITIONS));
      await measure(
        "kafka-streams",
        appId,
        input,
        end,
        () => spawnProc([...streamsCmd, brokers, input, out, appId, ...thresholdArgs], { ...process.env }),
        count,
      );
      // A(b): the original's approach, one synchronous send per order.
      const plainOut = `${ns}.plain-alerts-${pair}`;
      const plainGroup = `${ns}.plain-${pair}`;
      await withAdmin(brokers, (a) => createTopic(a, plainOut, PARTITIONS));
      await measure(
        "plain-consumer",
        plainGroup,
        small,
        endSmall,
        () =>
          spawnProc(
            [process.execPath, join(ROOT, "bench/peers/plain-consumer.ts"), brokers, small, plainOut, plainGroup, JSON.stringify(BENCH_THRESHOLDS)],
            { ...process.env },
            (o) => o.includes("running"),
          ),
        plainCount,
      );
      // B: acu's alert role, on a clean alerts topic and group (it rebuilds its recent-alerts set from `alerts` at start).
      await withAdmin(brokers, async (a) => {
        await deleteGroup(a, `${ns}.${ALERT_GROUP}`);
        await deleteTopics(a, [`${ns}.alerts`, `${ns}.reports-dlq`]);
      });
      await measure(
        "acu",
        `${ns}.${ALERT_GROUP}`,
        input,
        end,
        () =>
          startAcuRole({
            roles: "alert",
            dataDir: join(dir, `d${pair}`),
            env: {
              ACU_KAFKA_BROKERS: brokers,
              ACU_KAFKA_NAMESPACE: `${ns}.`,
              ACU_PARTITIONS: String(PARTITIONS),
              ACU_ETCD_ENDPOINTS: etcd,
              ACU_ETCD_PREFIX: prefix,
            },
          }),
        count,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await withAdmin(brokers, (a) => deleteTopics(a, [input, small])).catch(() => {});
  }
  return {
    name: "alert-throughput",
    ...timing(ctx, t0),
    params: {
      reports: count,
      belowThreshold: failures,
      plainConsumerReports: plainCount,
      plainConsumerBelowThreshold: plainFailures,
      partitions: PARTITIONS,
      replication: 1,
      thresholds: BENCH_THRESHOLDS,
      pairs: ctx.pairs,
    },
    runs,
    comparisons: [
      compare(runs, { peer: "kafka-streams", metric: "reports/s judged and committed", higherIsBetter: true, goalRatio: 1, goal: "≥ 1.0×" }),
      compare(runs, { peer: "plain-consumer", metric: "reports/s judged and committed", higherIsBetter: true, goalRatio: 20, goal: "≥ 20×" }),
    ],
    notes: [
      "rate = reports committed between the first commit seen and the last, per second (polled every 50 ms; process start-up excluded); wallS = from spawn to the last commit.",
      "kafka-streams: bench/peers/kafka-streams (Java, Kafka Streams 4.1.1, exactly_once_v2, 1 stream thread, acks=all, Jackson); thresholds passed as a fixed map on its command line — the same values the harness writes to etcd for acu.",
      "plain-consumer: bench/peers/plain-consumer.ts (TypeScript, kafkajs like acu, so the ratio shows the design not the client): eachMessage, one awaited send (acks=all) per order, offsets auto-committed every 1 s; it reads a smaller topic of the same reports (see params) because one round trip per order makes it slow.",
      "acu: --role=alert, orders + dead letters + offsets in one Kafka transaction per batch (≤ 2000 reports), thresholds from etcd.",
    ],
    machine: machineInfo(),
  };
}
