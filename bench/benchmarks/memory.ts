import { machineInfo, timing, readResult, round, type BenchContext, type BenchResult, type Comparison } from "../lib/common.ts";
import { benchAlertLatency } from "./alert-latency.ts";
import { benchAlertThroughput } from "./alert-throughput.ts";

/**
 * Memory: peak resident set (VmHWM from /proc, sampled every 250 ms and at the end) of each acu role
 * process under the alert-throughput and alert-latency benchmarks, read from their results; when a result
 * is missing (run alone: `bun run bench memory`) that benchmark runs first.
 */
export async function benchMemory(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  let tp = readResult(ctx.outDir, "alert-throughput");
  let lat = readResult(ctx.outDir, "alert-latency");
  const fresh = (r: BenchResult | null) => r && r.mode === ctx.mode && Date.now() - Date.parse(r.startedAt) < 6 * 3600_000;
  if (!fresh(tp)) tp = await benchAlertThroughput(ctx);
  if (!fresh(lat)) lat = await benchAlertLatency(ctx);
  const peaks = (r: BenchResult, who: string, pick: (x: Record<string, unknown>) => unknown) =>
    r.runs
      .filter((x) => x.who === who)
      .map((x) => Number(pick(x)))
      .filter((v) => Number.isFinite(v) && v > 0);
  const max = (xs: number[]) => (xs.length ? round(Math.max(...xs), 1) : NaN);
  const rows: Array<[string, number[]]> = [
    ["alert role under alert-throughput", peaks(tp!, "acu", (x) => x.peakRssMiB)],
    ["kafka-streams peer (JVM, -Xmx512m) under alert-throughput", peaks(tp!, "kafka-streams", (x) => x.peakRssMiB)],
    ["plain-consumer peer under alert-throughput", peaks(tp!, "plain-consumer", (x) => x.peakRssMiB)],
    ["ingest role under alert-latency", peaks(lat!, "acu", (x) => (x.peakRssMiB as Record<string, number>)?.ingest)],
    ["alert role under alert-latency", peaks(lat!, "acu", (x) => (x.peakRssMiB as Record<string, number>)?.alert)],
    ["http role (WebSocket feed) under alert-latency", peaks(lat!, "acu", (x) => (x.peakRssMiB as Record<string, number>)?.http)],
  ];
  const comparisons: Comparison[] = rows.map(([what, xs]) => ({
    metric: `peak RSS MiB, ${what}`,
    higherIsBetter: false,
    peer: "",
    peerMedian: null,
    acuMedian: max(xs),
    ratio: null,
    goal: "—",
    met: null,
  }));
  return {
    name: "memory",
    ...timing(ctx, t0),
    params: { source: ["alert-throughput", "alert-latency"], sampling: "VmHWM from /proc/<pid>/status every 250 ms and at stop" },
    runs: rows.flatMap(([what, xs], i) => xs.map((v, k) => ({ who: what, seq: i * 100 + k, value: v }))),
    comparisons,
    notes: ["Peak RSS is the highest of the runs of that benchmark (each run is a fresh process); the peers' are shown for scale."],
    machine: machineInfo(),
  };
}
