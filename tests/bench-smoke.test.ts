import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./support/acu.ts";

setDefaultTimeout(420_000);

/**
 * The benchmark harness (bench/run.ts) runs every benchmark once at a tiny size (`--smoke`) on its own
 * cluster (bench/lib/cluster.ts: its own folder and ports, so it runs beside the test suite's cluster)
 * and writes complete results — into a temporary folder, never over bench/results. It checks the harness
 * works: every field is there and every run measured something. Never a ratio or a speed.
 * embedded-ingest and embedded-memory need no cluster and run on their own (`-t embedded` runs them alone, in seconds).
 */
const NAMES = ["ingest", "alert-throughput", "alert-latency", "sink", "analyzer", "memory", "dispatch-latency", "region-lookup"];

/** Runs `bun run bench <names> --smoke --out <out>`; returns its output and how long it took (s). */
async function benchSmoke(names: string[], out: string): Promise<{ stdout: string; elapsedS: number }> {
  const t0 = performance.now();
  const p = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "bench/run.ts"), ...names, "--smoke", "--out", out],
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(code, `${stdout.slice(-6000)}\n${stderr.slice(-3000)}`).toBe(0);
  return { stdout, elapsedS: (performance.now() - t0) / 1000 };
}

/** A benchmark's result file is complete: every field there, every run measured something. */
function expectComplete(out: string, name: string, elapsedS: number, stdout: string): void {
  const file = join(out, `${name}.json`);
  expect(existsSync(file), `${name}.json missing\n${stdout.slice(-4000)}`).toBe(true);
  const r = JSON.parse(readFileSync(file, "utf8"));
  expect(r.name).toBe(name);
  expect(r.mode).toBe("smoke");
  expect(typeof r.startedAt).toBe("string");
  // A benchmark's own duration (rounded to 0.1 s) lies within the harness run that contains it.
  expect(r.durationS).toBeGreaterThanOrEqual(0);
  expect(r.durationS).toBeLessThanOrEqual(elapsedS + 0.05);
  expect(typeof r.params).toBe("object");
  expect(Array.isArray(r.notes)).toBe(true);
  expect(r.runs.length).toBeGreaterThan(0);
  for (const run of r.runs) {
    expect(typeof run.who).toBe("string");
    expect(Number.isFinite(run.value) && run.value > 0, `${name}: ${JSON.stringify(run)}`).toBe(true);
  }
  expect(r.comparisons.length).toBeGreaterThan(0);
  for (const c of r.comparisons) {
    for (const k of ["metric", "higherIsBetter", "peer", "peerMedian", "acuMedian", "ratio", "goal", "met"])
      expect(k in c, `${name}: comparison without ${k}`).toBe(true);
    expect(Number.isFinite(c.acuMedian), `${name}: ${c.metric}`).toBe(true);
  }
  const m = r.machine;
  expect(m.cpus).toBeGreaterThan(0);
  expect(m.memoryGiB).toBeGreaterThan(0);
  expect(typeof m.os).toBe("string");
  for (const v of ["bun", "kafka", "java", "spark"]) expect(typeof m.versions[v]).toBe("string");
}

const result = (out: string, name: string) => JSON.parse(readFileSync(join(out, `${name}.json`), "utf8"));

describe.skipIf(process.env.ACU_SKIP_BENCH_SMOKE === "1")("bench harness smoke", () => {
  const out = mkdtempSync(join(tmpdir(), "acu-bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("bun run bench --smoke: every benchmark on the bench cluster writes a complete result", async () => {
    const { stdout, elapsedS } = await benchSmoke(NAMES, out);
    for (const name of NAMES) expectComplete(out, name, elapsedS, stdout);
    // Peers ran too (A B alternation), not only acu.
    const who = (n: string) => new Set(result(out, n).runs.map((x: { who: string }) => x.who));
    expect([...who("ingest")].sort()).toEqual(["acu", "kafka-producer-perf"]);
    expect([...who("alert-throughput")].sort()).toEqual(["acu", "kafka-streams", "plain-consumer"]);
    expect([...who("sink")].sort()).toEqual(["acu", "kafka-consumer-perf"]);
    expect([...who("analyzer")].sort()).toEqual(["acu", "spark"]);
    const lat = result(out, "alert-latency");
    for (const k of ["p50", "p99", "p999", "max", "samples"]) expect(lat.latencyMs[k]).toBeGreaterThan(0);
    // The latency peer: Kafka Streams at its default commit interval and at 10 ms, timed by the same read_committed reader as acu.
    expect([...who("alert-latency")].sort()).toEqual(["acu", "kafka-streams", "kafka-streams-10ms"]);
    for (const r of lat.runs) expect(r.committedP99Ms).toBeGreaterThan(0);
    const versus = lat.comparisons.filter((c: { peer: string }) => c.peer.startsWith("kafka-streams"));
    expect(versus.map((c: { ratio: number }) => c.ratio > 0)).toEqual([true, true]);
    const dispatch = result(out, "dispatch-latency");
    for (const k of ["p50", "p99", "max", "samples"]) expect(dispatch.latencyMs[k]).toBeGreaterThan(0);
    expect(dispatch.runs.map((r: { scenario: string }) => r.scenario)).toEqual(["headroom", "saturated"]);
  });

  test("bun run bench embedded-ingest --smoke: no cluster, a warm-up pair and a measured pair, every report accepted is durable", async () => {
    const { stdout, elapsedS } = await benchSmoke(["embedded-ingest"], out);
    expectComplete(out, "embedded-ingest", elapsedS, stdout);
    const r = result(out, "embedded-ingest");
    for (const runs of [r.runs, r.warmupRuns]) {
      expect(runs.map((x: { who: string }) => x.who).sort()).toEqual(["acu", "append-fsync"]);
      for (const x of runs) expect(x.durable).toBe(x.accepted);
    }
    const [throughput] = r.comparisons;
    expect(throughput.pairRatios).toHaveLength(1);
    expect(throughput.ratio).toBeGreaterThan(0);
    expect(r.runs.find((x: { who: string }) => x.who === "acu").peakRssMiB).toBeGreaterThan(0);
  });

  test("bun run bench embedded-memory --smoke: no cluster, the all-in-one process under acu signal, its resident set each second", async () => {
    const { stdout, elapsedS } = await benchSmoke(["embedded-memory"], out);
    expectComplete(out, "embedded-memory", elapsedS, stdout);
    const r = result(out, "embedded-memory");
    expect(r.runs.map((x: { who: string }) => x.who)).toEqual(["acu"]);
    for (const x of r.runs) {
      expect(x.value).toBeGreaterThan(0);
      expect(x.samples).toBeGreaterThanOrEqual(3);
      expect(x.peakHwmMiB).toBeGreaterThanOrEqual(x.value);
    }
    expect(r.comparisons[0].peerMedian).toBe(250);
  });
});
