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
 */
const NAMES = ["ingest", "alert-throughput", "alert-latency", "sink", "analyzer", "memory", "dispatch-latency", "region-lookup"];

describe.skipIf(process.env.ACU_SKIP_BENCH_SMOKE === "1")("bench harness smoke", () => {
  const out = mkdtempSync(join(tmpdir(), "acu-bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("bun run bench --smoke: every benchmark writes a complete result", async () => {
    const t0 = performance.now();
    const p = Bun.spawn({
      cmd: [process.execPath, "run", join(ROOT, "bench/run.ts"), "--smoke", "--out", out],
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code, `${stdout.slice(-6000)}\n${stderr.slice(-3000)}`).toBe(0);
    const elapsedS = (performance.now() - t0) / 1000;
    for (const name of NAMES) {
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
    // Peers ran too (A B alternation), not only acu.
    const who = (n: string) => new Set(JSON.parse(readFileSync(join(out, `${n}.json`), "utf8")).runs.map((x: { who: string }) => x.who));
    expect([...who("ingest")].sort()).toEqual(["acu", "kafka-producer-perf"]);
    expect([...who("alert-throughput")].sort()).toEqual(["acu", "kafka-streams", "plain-consumer"]);
    expect([...who("sink")].sort()).toEqual(["acu", "kafka-consumer-perf"]);
    expect([...who("analyzer")].sort()).toEqual(["acu", "spark"]);
    const lat = JSON.parse(readFileSync(join(out, "alert-latency.json"), "utf8"));
    for (const k of ["p50", "p99", "p999", "max", "samples"]) expect(lat.latencyMs[k]).toBeGreaterThan(0);
    const dispatch = JSON.parse(readFileSync(join(out, "dispatch-latency.json"), "utf8"));
    for (const k of ["p50", "p99", "max", "samples"]) expect(dispatch.latencyMs[k]).toBeGreaterThan(0);
  });
});
