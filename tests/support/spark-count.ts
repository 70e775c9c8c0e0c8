import { join } from "node:path";

/**
 * Rows of a Parquet folder as any Spark user counts them, `spark.read.parquet(folder).count()`
 * (count_parquet.py), on the Spark of ACU_SPARK_MASTER / ACU_SPARK_HOME / ACU_SPARK_PYTHON.
 */
export function sparkParquetCount(folder: string, env: Record<string, string | undefined> = process.env): number {
  const run = Bun.spawnSync({
    cmd: [
      `${env.ACU_SPARK_HOME}/bin/spark-submit`,
      "--master",
      env.ACU_SPARK_MASTER!,
      "--driver-memory",
      "512m",
      "--conf",
      "spark.executor.memory=512m",
      "--conf",
      "spark.ui.enabled=false",
      join(import.meta.dir, "count_parquet.py"),
      folder,
    ],
    env: { ...process.env, PYSPARK_PYTHON: env.ACU_SPARK_PYTHON, PYSPARK_DRIVER_PYTHON: env.ACU_SPARK_PYTHON },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (run.exitCode !== 0) throw new Error(`spark-submit count_parquet.py ${folder} exited ${run.exitCode}: ${run.stderr.toString().slice(-2000)}`);
  const rows = /ROWS (\d+)/.exec(run.stdout.toString())?.[1];
  if (rows === undefined) throw new Error(`spark-submit count_parquet.py ${folder} printed no ROWS line: ${run.stdout.toString().slice(-500)}`);
  return Number(rows);
}
