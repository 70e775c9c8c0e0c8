import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOKENS } from "../../tests/support/acu.ts";
import {
  allowlistedEnv,
  machineInfo,
  median,
  procStatusMiB,
  ROOT,
  round,
  spawnProc,
  startAcuRole,
  timing,
  type BenchContext,
  type BenchResult,
  type Comparison,
} from "../lib/common.ts";

const RATE = 2_000;
const GOAL_MIB = 250;
/** Seconds of load per run: issue #15's goal is 5 minutes at 2,000 reports/s. */
const SECONDS = { smoke: 5, quick: 60, full: 300 } as const;
/** Runs per benchmark: each a fresh process and data dir; the figure is their median. */
const RUNS = { smoke: 1, quick: 2, full: 2 } as const;

/**
 * The all-in-one process's memory: what a new user's laptop gives acu. One process, `--role=all` on the
 * embedded engines of a fresh data dir (what `npm run demo` runs), under `acu signal --rate 2000` (acu's
 * own load generator, its realistic students) for 5 minutes (60 s quick); VmRSS sampled every second.
 * Reported: the highest resident set under load (the goal's figure, ≤ 250 MiB), the median of the last
 * third (settled), and VmHWM, which includes the start's one-off initdb of the warehouse. The goal is an
 * absolute bound (no peer does this job); earlier figures are in bench/README.md's findings.
 */
export async function benchEmbeddedMemory(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const seconds = SECONDS[ctx.mode];
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-memory-"));
  const runs: Array<Record<string, unknown> & { who: string; seq: number; value: number }> = [];
  try {
    for (let seq = 0; seq < RUNS[ctx.mode]; seq++) runs.push({ who: "acu", seq, ...(await oneRun(dir, `run-${seq}`, seconds)) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const max = round(median(runs.map((r) => r.value)), 1);
  const comparisons: Comparison[] = [
    {
      metric: `max RSS MiB under ${RATE.toLocaleString("en")} reports/s for ${seconds} s, all-in-one on embedded engines`,
      higherIsBetter: false,
      peer: "goal",
      peerMedian: GOAL_MIB,
      acuMedian: max,
      ratio: round(GOAL_MIB / max, 3),
      goal: `≤ ${GOAL_MIB} MiB`,
      met: max <= GOAL_MIB,
    },
    {
      metric: "settled RSS MiB (median of the last third of the load)",
      higherIsBetter: false,
      peer: "",
      peerMedian: null,
      acuMedian: round(median(runs.map((r) => Number(r.settledRssMiB))), 1),
      ratio: null,
      goal: "—",
      met: null,
    },
  ];
  return {
    name: "embedded-memory",
    ...timing(ctx, t0),
    params: { rate: RATE, seconds, roles: "all", engines: "embedded (fresh data dir)", load: "acu signal --rate 2000", sampling: "VmRSS every 1 s" },
    runs,
    comparisons,
    notes: [
      "VmHWM (peakHwmMiB) includes the start's one-off initdb of the embedded warehouse (~1 GiB for a few seconds on a fresh data dir), which the load's figures leave out.",
    ],
    machine: machineInfo(),
  };
}

/** One fresh all-in-one process under the load; its resident set each second, and its figures. */
async function oneRun(dir: string, name: string, seconds: number) {
  // Started in the run's own folder: Bun loads a `.env` from its working directory, the repository's would leak in.
  const acu = await startAcuRole({ roles: "all", dataDir: join(dir, name), allowlist: true, cwd: dir, env: { ACU_EXERCISES: "strict" } });
  const samples: number[] = [];
  try {
    const signal = await spawnProc(
      [
        process.execPath,
        "run",
        join(ROOT, "src/main.ts"),
        "signal",
        "--rate",
        String(RATE),
        "--count",
        String(RATE * seconds),
        "--target",
        acu.url,
        "--token",
        TOKENS.ingest,
      ],
      allowlistedEnv(),
    );
    const sampler = setInterval(() => {
      const v = procStatusMiB(acu.pid, "VmRSS");
      if (v !== null) samples.push(v);
    }, 1000);
    const code = await signal.proc.exited;
    clearInterval(sampler);
    if (code !== 0) throw new Error(`acu signal exited ${code}:\n${signal.output().slice(-2000)}`);
    const sent = /sent=(\d+)/g;
    const last = [...signal.output().matchAll(sent)].at(-1)?.[1];
    if (Number(last) !== RATE * seconds) throw new Error(`acu signal sent ${last ?? "nothing"} of ${RATE * seconds} reports:\n${signal.output().slice(-2000)}`);
  } finally {
    await acu.stop();
  }
  if (samples.length < Math.max(3, seconds / 2)) throw new Error(`only ${samples.length} RSS samples in ${seconds} s of load`);
  return {
    value: Math.max(...samples),
    settledRssMiB: round(median(samples.slice(Math.floor((samples.length * 2) / 3))), 1),
    peakHwmMiB: acu.peakRssMiB(),
    samples: samples.length,
  };
}
