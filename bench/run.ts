#!/usr/bin/env bun
/**
 * bun run bench [name…] [--quick | --smoke] [--pairs N] [--out DIR] [--keep-cluster]
 *
 * Brings the bench cluster up (scripts/cluster with bench/lib/cluster.ts's folder and ports), runs the
 * chosen benchmarks (default: all), peer and acu alternately, writes <out>/<name>.json and, when the
 * output is bench/results, regenerates the table in bench/README.md. See bench/README.md.
 */
import { join, resolve } from "node:path";
import { BENCHMARKS, type BenchName } from "./benchmarks/index.ts";
import { clusterAlive, clusterDown, clusterUp, COMPONENTS_ALL } from "./lib/cluster.ts";
import { loadavg } from "node:os";
import { ROOT, writeResult, type BenchContext, type Mode } from "./lib/common.ts";
import { updateReadme } from "./lib/report.ts";
import { warmBroker, type BrokerWarmup } from "./lib/warmup.ts";

const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const opt = (f: string) => {
  const i = args.indexOf(f);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${f}=`))?.slice(f.length + 1);
};
if (flag("--help") || flag("-h")) {
  console.log(`usage: bun run bench [${Object.keys(BENCHMARKS).join("|")}]… [--quick|--smoke] [--pairs N] [--out DIR] [--keep-cluster]`);
  process.exit(0);
}
const mode: Mode = flag("--smoke") ? "smoke" : flag("--quick") ? "quick" : "full";
const values = new Set([opt("--pairs"), opt("--out")].filter(Boolean));
const names = args.filter((a) => !a.startsWith("--") && !values.has(a));
for (const n of names)
  if (!(n in BENCHMARKS)) {
    console.error(`unknown benchmark "${n}"; known: ${Object.keys(BENCHMARKS).join(", ")}`);
    process.exit(2);
  }
const chosen = (names.length ? names : Object.keys(BENCHMARKS)) as BenchName[];
const defaultOut = join(ROOT, "bench/results");
// A smoke run never replaces the reference results: without --out it writes to bench/results/smoke (git-ignored).
const outDir = resolve(opt("--out") ?? (mode === "smoke" ? join(defaultOut, "smoke") : defaultOut));
const pairs = Number(opt("--pairs") ?? (mode === "smoke" ? 1 : 3));

const components = [...new Set(chosen.flatMap((n) => BENCHMARKS[n].needs))];
const started = performance.now();
const log = (l: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${l}`);
log(`mode ${mode}, ${pairs} pair(s), benchmarks: ${chosen.join(", ")}; cluster: ${components.join(", ")}`);
const ordered = COMPONENTS_ALL.filter((c) => components.includes(c));
// Only what this run started is brought down: a bench cluster already up (another run, --keep-cluster) stays.
const wasUp = ordered.filter((c) => clusterAlive([c]));
// A benchmark that needs no engine (region-lookup) runs without a cluster.
const env = (ordered.length > 0 ? clusterUp(ordered) : {}) as Record<string, string>;
/** Seconds of broker warm-up before the first benchmark (lib/warmup.ts); none in a smoke run, which times nothing. */
const BROKER_WARMUP_S = { smoke: 0, quick: 30, full: 45 }[mode];
let failed = 0;
try {
  let warmup: BrokerWarmup | null = null;
  if (env.ACU_KAFKA_BROKERS && BROKER_WARMUP_S > 0)
    // A failed warm-up is said, and recorded (brokerWarmup null): the benchmarks still run, on a colder broker.
    warmup = await warmBroker(env.ACU_KAFKA_BROKERS, BROKER_WARMUP_S, log).catch((e) => {
      log(`broker warm-up FAILED, the benchmarks run on a cold broker: ${(e as Error).message}`);
      return null;
    });
  for (const name of chosen) {
    const ctx: BenchContext = { mode, outDir, env, pairs, log: (l) => log(`${name}: ${l}`.replace(`${name}: ${name}: `, `${name}: `)) };
    log(`${name}: start`);
    const load = loadavg().map((l) => Math.round(l * 100) / 100);
    try {
      const r = await BENCHMARKS[name].run(ctx);
      r.machine.loadAverage.start = load;
      r.machine.brokerWarmup = warmup;
      const file = writeResult(ctx, r);
      for (const c of r.comparisons)
        log(
          `${name}: ${c.metric}: acu ${c.acuMedian} vs ${c.peer} ${c.peerMedian} → ratio ${c.ratio} (goal ${c.goal}: ${c.met === null ? "n/a" : c.met ? "met" : "missed"})`,
        );
      log(`${name}: done in ${r.durationS} s → ${file}`);
    } catch (e) {
      failed++;
      log(`${name}: FAILED: ${(e as Error).stack ?? e}`);
    }
  }
  if (outDir === defaultOut) {
    updateReadme(outDir, join(ROOT, "bench/README.md"));
    log("bench/README.md table updated");
  }
} finally {
  const startedHere = ordered.filter((c) => !wasUp.includes(c));
  if (!flag("--keep-cluster") && startedHere.length > 0) clusterDown(startedHere);
}
log(`all done in ${((performance.now() - started) / 1000).toFixed(0)} s${failed ? `, ${failed} failed` : ""}`);
process.exit(failed ? 1 : 0);
