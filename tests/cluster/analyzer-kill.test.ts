import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { runSignal } from "../../modules/signal/index.ts";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import { parseLakePath } from "../../src/domain/lake-layout.ts";
import { cleanup, eventually, ROOT, startAcu, tempDir, TOKENS } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";

setDefaultTimeout(900_000);
const cluster = clusterEnv();
const spark = process.env.ACU_HDFS_URL && process.env.ACU_SPARK_MASTER ? process.env : null;

/**
 * Exactly-once under kills: kill -9 the analyzer in the middle of a Spark run, and separately the Spark
 * driver; run again: the tables equal a clean run's.
 */
describe.skipIf(!cluster || !spark)("analyzer runs killed mid-way count each file once", () => {
  const dir = tempDir("kill");
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    Bun.spawnSync({ cmd: ["pkill", "-9", "-f", `${dir}`] });
    for (const d of drops) await d();
    cleanup(dir);
  });

  test("kill -9 of the analyzer, then of the Spark driver: the rerun equals a clean run", async () => {
    const COUNT = Number(process.env.ACU_KILL_COUNT ?? 50_000);
    const runs = [await isolatedRun(cluster!, "killref"), await isolatedRun(cluster!, "killacu"), await isolatedRun(cluster!, "killdrv")];
    drops.push(...runs.map((r) => r.drop));
    const [ref, killAcu, killDriver] = runs;
    const root = `/acu-test/kill-${Date.now().toString(36)}`;
    const hdfs = { ACU_HDFS_URL: spark!.ACU_HDFS_URL!, ACU_HDFS_NAMENODE: spark!.ACU_HDFS_NAMENODE!, ACU_HDFS_ROOT: root };
    const sparkEnv = {
      ACU_SPARK_MASTER: spark!.ACU_SPARK_MASTER!,
      ACU_SPARK_HOME: spark!.ACU_SPARK_HOME!,
      ACU_SPARK_PYTHON: spark!.ACU_SPARK_PYTHON!,
      ACU_SPARK_JDBC_JAR: spark!.ACU_SPARK_JDBC_JAR!,
    };

    const writer = await startAcu({
      dataDir: join(dir, "w"),
      env: { ...ref!.env, ...hdfs, ACU_SINK_FLUSH_MS: "1000", ACU_SINK_FLUSH_RECORDS: "5000" },
      args: ["--role=ingest,sink"],
    });
    expect((await runSignal({ target: writer.url, rate: 20_000, count: COUNT, seed: 5, token: TOKENS.ingest }, () => {})).rejected).toBe(0);
    const lake = await WebHdfsLake.open({ url: hdfs.ACU_HDFS_URL, root, namenode: hdfs.ACU_HDFS_NAMENODE });
    await eventually(
      "the lake written",
      async () =>
        (await lake.list("reports/")).reduce((n, f) => {
          const p = parseLakePath(f.path)!;
          return n + p.lastOffset - p.firstOffset + 1;
        }, 0) >= COUNT,
      300_000,
      1000,
    );
    await writer.stop();

    // The analyzer as its own process, with a marker in its environment so its Spark driver can be found.
    const analyze = (env: Record<string, string>, marker: string) =>
      Bun.spawn({
        cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "analyze"],
        env: { ...process.env, ...env, ACU_DATA_DIR: join(dir, marker) },
        stdout: "pipe",
        stderr: "pipe",
      });
    const summary = async (p: ReturnType<typeof analyze>) => {
      const [code, out] = [await p.exited, await new Response(p.stdout).text()];
      return { code, run: JSON.parse(out.trim().split("\n").pop() || "{}") as { outcome?: string; rows?: number } };
    };
    const driverPids = () =>
      Bun.spawnSync({ cmd: ["pgrep", "-f", "analyze_partials.py"] })
        .stdout.toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);

    const clean = await summary(analyze({ ...ref!.env, ...hdfs, ...sparkEnv }, "ref"));
    expect([clean.code, clean.run.rows]).toEqual([0, COUNT]);

    // 1. kill -9 the analyzer while Spark works; its driver may outlive it and still write partials.
    const before = new Set(driverPids());
    const a = analyze({ ...killAcu!.env, ...hdfs, ...sparkEnv }, "acu");
    await eventually("a Spark driver for the run", async () => driverPids().some((p) => !before.has(p)), 120_000, 200);
    await Bun.sleep(3000);
    a.kill(9);
    await a.exited;
    const again = await summary(analyze({ ...killAcu!.env, ...hdfs, ...sparkEnv }, "acu"));
    expect([again.code, again.run.outcome, again.run.rows]).toEqual([0, "succeeded", COUNT]);

    // 2. kill -9 the Spark driver: the run fails cleanly, the next one is exact.
    const before2 = new Set(driverPids());
    const b = analyze({ ...killDriver!.env, ...hdfs, ...sparkEnv }, "drv");
    const driver = await eventually("a Spark driver for the run", async () => driverPids().find((p) => !before2.has(p)), 120_000, 200);
    await Bun.sleep(3000);
    process.kill(driver, 9);
    const failed = await summary(b);
    expect(failed.run.outcome).toBe("failed");
    const rerun = await summary(analyze({ ...killDriver!.env, ...hdfs, ...sparkEnv }, "drv"));
    expect([rerun.code, rerun.run.outcome, rerun.run.rows]).toEqual([0, "succeeded", COUNT]);

    const tables = async (url: string) => {
      const db = postgres(url, { max: 1 });
      try {
        const t = await db.unsafe(`SELECT
          (SELECT json_agg(t ORDER BY exercise_id) FROM exercise_totals t)::text AS ex,
          (SELECT count(*) || ':' || sum(reports) FROM cell_histogram) AS cells,
          (SELECT json_agg(r ORDER BY exercise_id, region, bucket) FROM region_histogram r)::text AS regions,
          (SELECT count(*) FROM lake_files_counted) AS files`);
        return t[0]!;
      } finally {
        await db.end();
      }
    };
    const want = await tables(ref!.env.ACU_DATABASE_URL!);
    const roundSums = (s: unknown) => String(s).replace(/"score_sum":([0-9.e+-]+)/g, (_, n) => `"score_sum":${Number(n).toPrecision(12)}`);
    for (const got of [await tables(killAcu!.env.ACU_DATABASE_URL!), await tables(killDriver!.env.ACU_DATABASE_URL!)]) {
      expect(roundSums(got.ex)).toBe(roundSums(want.ex));
      expect(got.cells).toBe(want.cells);
      expect(roundSums(got.regions)).toBe(roundSums(want.regions));
      expect(got.files).toBe(want.files);
    }
    console.log(
      `analyzer kill: ${COUNT} reports in ${want.files} files; after kill -9 of the analyzer and of the Spark driver, both reruns equal the clean run`,
    );
  });
});
