import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { runSignal } from "../../modules/signal/index.ts";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import { parseLakePath } from "../../src/domain/lake-layout.ts";
import { cleanup, eventually, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";

setDefaultTimeout(1_200_000);
const cluster = clusterEnv();
const spark = process.env.ACU_HDFS_URL && process.env.ACU_SPARK_MASTER ? process.env : null;

/**
 * Cross-check on one lake of ≥ 1,000,000 reports written by the sink (on HDFS) from `acu signal`:
 * the embedded engine and Spark analyse it into two warehouses, whose tables must be identical
 * (exact counts; score sums equal to 1e-9 relative). Prints both run times.
 */
describe.skipIf(!cluster || !spark)("embedded engine and Spark agree on a lake of 1,000,000 reports", () => {
  const dir = tempDir("cross");
  const procs: AcuProcess[] = [];
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    for (const d of drops) await d();
    cleanup(dir);
  });

  test("identical tables from both engines", async () => {
    const COUNT = Number(process.env.ACU_CROSS_CHECK_COUNT ?? 1_000_000);
    const [a, b] = [await isolatedRun(cluster!, "crossa"), await isolatedRun(cluster!, "crossb")];
    drops.push(a.drop, b.drop);
    const root = `/acu-test/cross-${Date.now().toString(36)}`;
    const hdfs = { ACU_HDFS_URL: spark!.ACU_HDFS_URL!, ACU_HDFS_NAMENODE: spark!.ACU_HDFS_NAMENODE!, ACU_HDFS_ROOT: root };
    const sparkEnv = {
      ACU_SPARK_MASTER: spark!.ACU_SPARK_MASTER!,
      ACU_SPARK_HOME: spark!.ACU_SPARK_HOME!,
      ACU_SPARK_PYTHON: spark!.ACU_SPARK_PYTHON!,
      ACU_SPARK_JDBC_JAR: spark!.ACU_SPARK_JDBC_JAR!,
    };
    // One token sends 50,000 reports/s, above the per-token default of 20,000: the limit is off for this load.
    const writer = await startAcu({
      dataDir: join(dir, "w"),
      env: { ...a.env, ...hdfs, ACU_SINK_FLUSH_MS: "3000", ACU_SINK_FLUSH_RECORDS: "100000", ACU_INGEST_RATE_LIMIT: "0", ACU_INGEST_STUDENT_RATE_LIMIT: "0" },
      args: ["--role=ingest,sink"],
    });
    procs.push(writer);
    const t0 = performance.now();
    const sent = await runSignal({ target: writer.url, rate: 50_000, count: COUNT, batchSize: 1000, concurrency: 8, seed: 99, token: TOKENS.ingest }, () => {});
    expect(sent.rejected).toBe(0);
    const lake = await WebHdfsLake.open({ url: hdfs.ACU_HDFS_URL, root, namenode: hdfs.ACU_HDFS_NAMENODE });
    // Files are named after the offsets they hold: their sum is the row count, without reading them.
    await eventually(
      "the whole lake written",
      async () => {
        const files = await lake.list("reports/");
        return (
          files.reduce((n, f) => {
            const p = parseLakePath(f.path)!;
            return n + p.lastOffset - p.firstOffset + 1;
          }, 0) >= COUNT
        );
      },
      600_000,
      2000,
    );
    console.log(
      `cross-check: ${COUNT} reports ingested and sunk to HDFS in ${((performance.now() - t0) / 1000).toFixed(0)} s (${sent.achievedRate.toFixed(0)}/s)`,
    );
    await writer.stop();

    const analyze = (env: Record<string, string>) => {
      const p = Bun.spawnSync({
        cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "analyze"],
        env: { ...process.env, ...env, ACU_DATA_DIR: join(dir, "a") },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(p.exitCode, p.stderr.toString().slice(-2000)).toBe(0);
      const line = p.stdout.toString().trim().split("\n").pop()!;
      return JSON.parse(line) as { engine: string; rows: number; files: number; durationMs: number };
    };
    const embedded = analyze({ ...a.env, ...hdfs, ACU_SPARK_MASTER: "" });
    const onSpark = analyze({ ...b.env, ...hdfs, ...sparkEnv });
    expect([embedded.engine, embedded.rows]).toEqual(["embedded", COUNT]);
    expect([onSpark.engine, onSpark.rows]).toEqual(["spark", COUNT]);
    console.log(`cross-check: ${embedded.files} files, ${COUNT} rows — embedded run ${embedded.durationMs} ms, Spark run ${onSpark.durationMs} ms`);

    const dbA = postgres(a.env.ACU_DATABASE_URL!, { max: 1 });
    const dbB = postgres(b.env.ACU_DATABASE_URL!, { max: 1 });
    try {
      for (const [table, keys, sums] of [
        ["exercise_totals", "exercise_id", ["reports::float8", "score_sum"]],
        ["cell_histogram", "exercise_id, cell_y, cell_x, bucket", ["reports::float8"]],
        ["region_histogram", "exercise_id, region, bucket", ["reports::float8", "score_sum"]],
        ["trend_histogram", "exercise_id, region, period_start, bucket", ["reports::float8", "score_sum"]],
        ["cell_trend_histogram", "exercise_id, period_start, cell_y, cell_x, bucket", ["reports::float8"]],
      ] as const) {
        const q = `SELECT ${keys}, ${sums.join(", ")} FROM ${table} ORDER BY ${keys}`;
        const [ra, rb] = [await dbA.unsafe(q), await dbB.unsafe(q)];
        expect(rb.length).toBe(ra.length);
        let worst = 0;
        for (let i = 0; i < ra.length; i++) {
          const x = ra[i]!,
            y = rb[i]!;
          for (const k of keys.split(", ")) expect(String(y[k])).toBe(String(x[k]));
          expect(Number(y.reports)).toBe(Number(x.reports));
          if ("score_sum" in x) worst = Math.max(worst, Math.abs(Number(x.score_sum) - Number(y.score_sum)) / Math.max(1, Math.abs(Number(x.score_sum))));
        }
        expect(worst).toBeLessThan(1e-9);
        console.log(`cross-check: ${table}: ${ra.length} rows identical (worst score_sum relative difference ${worst.toExponential(1)})`);
      }
    } finally {
      await dbA.end();
      await dbB.end();
    }
  });
});
