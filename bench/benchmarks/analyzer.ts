import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { WebHdfsLake } from "../../src/adapters/hdfs/webhdfs-lake.ts";
import { lakePath } from "../../src/domain/lake-layout.ts";
import { encodeReports } from "../../src/formats/parquet.ts";
import { clusteredReports } from "../../tests/support/lake-fixture.ts";
import { ROOT } from "../lib/cluster.ts";
import { machineInfo, timing, median, round, runId, type BenchContext, type BenchResult, type Comparison, type Run } from "../lib/common.ts";

const PER_FILE = 100_000;
const PARTITIONS = 6;

/**
 * Analyzer: a lake of N reports on HDFS (seeded with tests/support/lake-fixture.ts, 100,000 per file);
 * `acu analyze` on a fresh warehouse with Spark, then with the embedded engine (A B, ≥ 3 pairs); then +inc
 * reports in new files and an incremental run of each on its warehouse (the new files are removed after
 * the pair, so every full run sees N). Times are the analyzer's own durationMs (whole run: list, engine,
 * merge); the process's wall time is kept too.
 */
export async function benchAnalyzer(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const sizes = { smoke: [20_000], quick: [300_000], full: [1_000_000, 10_000_000] }[ctx.mode];
  const incFor = (n: number) => ({ smoke: 2_000, quick: 30_000, full: 100_000 })[ctx.mode] ?? Math.round(n / 10);
  const e = ctx.env;
  const hdfs = { ACU_HDFS_URL: e.ACU_HDFS_URL!, ACU_HDFS_NAMENODE: e.ACU_HDFS_NAMENODE! };
  const spark = {
    ACU_SPARK_MASTER: e.ACU_SPARK_MASTER!,
    ACU_SPARK_HOME: e.ACU_SPARK_HOME!,
    ACU_SPARK_PYTHON: e.ACU_SPARK_PYTHON!,
    ACU_SPARK_JDBC_JAR: e.ACU_SPARK_JDBC_JAR!,
  };
  const ns = runId("analyzer");
  const sparkIncrementalMode = ctx.mode === "full";
  const runs: Run[] = [];
  const comparisons: Comparison[] = [];
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-analyzer-"));
  const admin = postgres(e.ACU_DATABASE_URL!, { max: 1, onnotice: () => {} });
  const dbs: string[] = [];
  const newDb = async (tag: string) => {
    const name = `${ns}_${tag}`.toLowerCase();
    await admin.unsafe(`CREATE DATABASE ${name}`);
    dbs.push(name);
    const u = new URL(e.ACU_DATABASE_URL!);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const analyze = async (engine: "spark" | "embedded", db: string, root: string) => {
    const ts = performance.now();
    const env = {
      ...process.env,
      ...hdfs,
      ACU_HDFS_ROOT: root,
      ACU_DATABASE_URL: db,
      ACU_DATA_DIR: join(dir, "data"),
      ACU_ETCD_ENDPOINTS: "",
      ACU_KAFKA_BROKERS: "",
      ...(engine === "spark" ? spark : { ACU_SPARK_MASTER: "" }),
    };
    const p = Bun.spawn({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "analyze"], cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`acu analyze (${engine}) failed (${code}):\n${out.slice(-2000)}\n${err.slice(-3000)}`);
    const s = JSON.parse(out.trim().split("\n").pop()!) as { engine: string; rows: number; files: number; durationMs: number };
    if (s.engine !== engine) throw new Error(`acu analyze ran on ${s.engine}, expected ${engine}`);
    return { ...s, wallMs: performance.now() - ts };
  };
  let seq = 0;
  try {
    for (const n of sizes) {
      const inc = incFor(n);
      // Spark's incremental run is mostly its JVMs' start: measured on the first size only (the full suite stays under an hour).
      const sparkIncremental = sparkIncrementalMode && n === sizes[0];
      const root = `/acu-bench/${ns}/lake-${n}`;
      const lake = await WebHdfsLake.open({ url: hdfs.ACU_HDFS_URL, root, namenode: hdfs.ACU_HDFS_NAMENODE });
      const next = new Array<number>(PARTITIONS).fill(0);
      let fileNo = 0;
      const seed = async (count: number, tag: number): Promise<string[]> => {
        const paths: string[] = [];
        for (let i = 0; i < count; i += PER_FILE) {
          const k = Math.min(PER_FILE, count - i);
          const p = fileNo++ % PARTITIONS;
          const rows = clusteredReports(k, tag * 1000 + fileNo).map((r, j) => ({ ...r, partition: p, offset: next[p]! + j }));
          const path = lakePath(
            { dataset: "reports", topic: "student-reports", partition: p, firstOffset: next[p]!, lastOffset: next[p]! + k - 1 },
            Date.UTC(2026, 10, 27, 9),
          );
          next[p]! += k;
          await lake.write(path, encodeReports(rows));
          paths.push(path);
        }
        return paths;
      };
      const ts = performance.now();
      await seed(n, 1);
      ctx.log(`seeded ${n} reports in ${Math.ceil(n / PER_FILE)} file(s) on HDFS in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
      for (let pair = 0; pair < ctx.pairs; pair++) {
        const dbSpark = await newDb(`s${n}_${pair}`);
        const dbEmb = await newDb(`e${n}_${pair}`);
        const s = await analyze("spark", dbSpark, root);
        runs.push({ who: "spark", seq: seq++, value: s.durationMs, reports: n, kind: "full", rows: s.rows, files: s.files, wallMs: Math.round(s.wallMs) });
        const m = await analyze("embedded", dbEmb, root);
        runs.push({ who: "acu", seq: seq++, value: m.durationMs, reports: n, kind: "full", rows: m.rows, files: m.files, wallMs: Math.round(m.wallMs) });
        if (s.rows !== n || m.rows !== n) throw new Error(`full runs counted ${s.rows} (Spark) and ${m.rows} (embedded) of ${n}`);
        ctx.log(`${n}: full Spark ${s.durationMs} ms, full embedded ${m.durationMs} ms`);
        const added = await seed(inc, 2 + pair);
        // Spark's incremental run (mostly its JVMs' start) only in the full suite: --quick stays under 10 minutes.
        if (sparkIncremental) {
          const si = await analyze("spark", dbSpark, root);
          runs.push({
            who: "spark",
            seq: seq++,
            value: si.durationMs,
            reports: n,
            kind: "incremental",
            added: inc,
            rows: si.rows,
            files: si.files,
            wallMs: Math.round(si.wallMs),
          });
          if (si.rows !== inc) throw new Error(`Spark's incremental run counted ${si.rows} of ${inc}`);
          ctx.log(`${n}+${inc}: incremental Spark ${si.durationMs} ms`);
        }
        const mi = await analyze("embedded", dbEmb, root);
        runs.push({
          who: "acu",
          seq: seq++,
          value: mi.durationMs,
          reports: n,
          kind: "incremental",
          added: inc,
          rows: mi.rows,
          files: mi.files,
          wallMs: Math.round(mi.wallMs),
        });
        if (mi.rows !== inc) throw new Error(`the embedded incremental run counted ${mi.rows} of ${inc}`);
        ctx.log(`${n}+${inc}: incremental embedded ${mi.durationMs} ms`);
        // The next pair's full runs see N again: remove the added files, rewind the offsets.
        for (const p of added) await fetch(`${hdfs.ACU_HDFS_URL}/webhdfs/v1${root}/${p}?op=DELETE&user.name=acu`, { method: "DELETE" });
        next.splice(0, PARTITIONS, ...recount(n, PARTITIONS));
        fileNo = Math.ceil(n / PER_FILE);
      }
      const pick = (who: string, kind: string) => median(runs.filter((r) => r.who === who && r.kind === kind && r.reports === n).map((r) => r.value));
      const [sf, ef, si, ei] = [pick("spark", "full"), pick("acu", "full"), pick("spark", "incremental"), pick("acu", "incremental")];
      const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
      comparisons.push(
        {
          metric: `full run ms, ${label} reports (embedded vs Spark)`,
          higherIsBetter: false,
          peer: "spark",
          peerMedian: sf,
          acuMedian: ef,
          ratio: round(sf / ef, 3),
          goal: "embedded ≤ Spark (≥ 1.0×)",
          met: ef <= sf,
        },
        {
          metric: `incremental ms, ${label} + ${inc / 1e3}k, embedded (vs its full run)`,
          higherIsBetter: false,
          peer: "embedded full",
          peerMedian: ef,
          acuMedian: ei,
          ratio: round(ef / ei, 3),
          goal: "< 10 % of full (≥ 10×)",
          met: ei < 0.1 * ef,
        },
      );
      if (sparkIncremental)
        comparisons.push({
          metric: `incremental ms, ${label} + ${inc / 1e3}k, Spark (vs its full run)`,
          higherIsBetter: false,
          peer: "spark full",
          peerMedian: sf,
          acuMedian: si,
          ratio: round(sf / si, 3),
          goal: "< 10 % of full (≥ 10×)",
          met: si < 0.1 * sf,
        });
      await fetch(`${hdfs.ACU_HDFS_URL}/webhdfs/v1${root}?op=DELETE&recursive=true&user.name=acu`, { method: "DELETE" }).catch(() => {});
    }
  } finally {
    for (const d of dbs) await admin.unsafe(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`).catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: "analyzer",
    ...timing(ctx, t0),
    params: {
      sizes,
      incremental: sizes.map(incFor),
      reportsPerFile: PER_FILE,
      sparkWorker: "2 cores, 2g",
      warehouse: "PostgreSQL (bench cluster), a fresh database per engine and pair",
      pairs: ctx.pairs,
    },
    runs,
    comparisons,
    notes: [
      "Spark: `acu analyze` with ACU_SPARK_MASTER (spark-submit of spark/analyze_partials.py to the bench cluster's standalone master, 1 worker, 2 cores); the time includes the driver's and executor's JVM start.",
      "embedded: `acu analyze` with the Arrow engine inside the Bun process. Both write to PostgreSQL.",
      "Spark's incremental run is measured in the full suite only, on the first size. Times are the analyzer's own durationMs of the run (listing, engine, merge into the cumulative tables).",
    ],
    machine: machineInfo(),
  };
}

/** Next offset per partition after seeding n reports in files of PER_FILE, round-robin over partitions. */
function recount(n: number, partitions: number): number[] {
  const next = new Array<number>(partitions).fill(0);
  let f = 0;
  for (let i = 0; i < n; i += PER_FILE) next[f++ % partitions]! += Math.min(PER_FILE, n - i);
  return next;
}
