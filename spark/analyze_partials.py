"""acu analyzer on Spark: the partial aggregates of a list of lake files, appended over JDBC.

Computes exactly what the embedded engine (src/adapters/embedded/arrow-engine.ts) writes for one run,
and appends it to the warehouse's partial_* tables tagged with the run id:

  partial_exercise_totals   (run_id, exercise_id, reports, score_sum)
  partial_cell_histogram    (run_id, exercise_id, cell_y, cell_x, bucket, reports)
  partial_region_histogram  (run_id, exercise_id, region, bucket, reports, score_sum)
  partial_trend_histogram       (run_id, exercise_id, region, period_start, bucket, reports, score_sum)
  partial_cell_trend_histogram  (run_id, exercise_id, cell_y, cell_x, period_start, bucket, reports)

  bucket = floor(score) clamped to 0..100
  cell_y = floor(latitude / cell), cell_x = floor(longitude / cell)
  period_start = floor(timestamp in ms / (period * 1000)) * period, in epoch seconds (UTC; integer
                 arithmetic, floor: a time before 1970 goes to the period before, as Math.floor does)

with period the --trend-period in seconds (src/domain/trend-period.ts: whole minutes dividing an hour;
default 900). Rows with a null or non-finite exerciseId/region/score/latitude/longitude, or a null
timestamp, are left out, as the embedded engine does (the ingest never writes such rows). The analyzer
merges the partials afterwards and checks that each partial table holds exactly the number of reports
this job reports in --result.

With --incident-files-from (incidents/ files), also the response times of the finished incidents, from
their terminal events only (type resolved or cancelled; src/domain/response-times.ts):

  partial_incident_totals     (run_id, region, outcome, incidents)
  partial_response_histogram  (run_id, region, step, seconds, incidents)

  seconds = max(0, floor((step time - openedAt) in ms / 1000)), for each step the incident reached:
  acknowledge (acknowledgedAt), onSite (onSiteAt), resolve (resolvedAt)

and --result then also holds {"incidents": {"incidents": finished incidents, "responses": response times}}.

  spark-submit --master spark://127.0.0.1:17077 --jars postgresql.jar spark/analyze_partials.py \\
      --run-id RUN --files-from files.txt --cell-size 0.01 --trend-period 900 \\
      --jdbc-url jdbc:postgresql://127.0.0.1:15432/acu --jdbc-user acu --result result.json

The password comes from --jdbc-password or, to keep it out of the process list, ACU_SPARK_JDBC_PASSWORD.
"""

import argparse
import json
import math
import os
import sys
import traceback

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType

PASSWORD_ENV = "ACU_SPARK_JDBC_PASSWORD"
DEFAULT_TREND_PERIOD_SECONDS = 900
TREND_PERIOD_RULE = "must be whole minutes in seconds that divide an hour (60, 120, …, 900, 1200, 1800, 3600)"

# The columns of a lake report file this job reads (src/formats/parquet.ts has them all). Given, not
# inferred: inferring would cost a Spark job that reads the footers first.
LAKE_COLUMNS = StructType(
    [
        StructField("exerciseId", StringType()),
        StructField("region", StringType()),
        StructField("score", DoubleType()),
        StructField("latitude", DoubleType()),
        StructField("longitude", DoubleType()),
        StructField("timestamp", TimestampType()),
    ]
)

# The columns of a lake incidents file this job reads: every time is a timestamp[ms, UTC] column.
INCIDENT_COLUMNS = StructType(
    [
        StructField("type", StringType()),
        StructField("region", StringType()),
        StructField("openedAt", TimestampType()),
        StructField("acknowledgedAt", TimestampType()),
        StructField("onSiteAt", TimestampType()),
        StructField("resolvedAt", TimestampType()),
    ]
)
OUTCOMES = ["resolved", "cancelled"]
STEPS = [("acknowledge", "acknowledgedAt"), ("onSite", "onSiteAt"), ("resolve", "resolvedAt")]


def is_trend_period(seconds):
    """isTrendPeriod of src/domain/trend-period.ts."""
    return 60 <= seconds <= 3600 and seconds % 60 == 0 and 3600 % seconds == 0


def parse_args(argv):
    p = argparse.ArgumentParser(description="Partial aggregates of acu lake files into the warehouse's partial_* tables.")
    p.add_argument("--run-id", required=True)
    p.add_argument("--files-from", required=True, help="text file with one lake URI (file://… or hdfs://…) per line")
    p.add_argument("--incident-files-from", default=None, help="text file with one lake URI of an incidents file per line")
    p.add_argument("--cell-size", required=True, type=float, help="grid cell size in degrees")
    p.add_argument(
        "--trend-period",
        type=int,
        default=DEFAULT_TREND_PERIOD_SECONDS,
        help=f"trend period in seconds: whole minutes dividing an hour (default {DEFAULT_TREND_PERIOD_SECONDS})",
    )
    p.add_argument("--jdbc-url", required=True, help="jdbc:postgresql://host:port/db")
    p.add_argument("--jdbc-user", required=True)
    p.add_argument("--jdbc-password", default=None, help=f"default: ${PASSWORD_ENV}")
    p.add_argument("--result", required=True, help="where to write {\"rows\": N} once the partials are written")
    p.add_argument("--batch-size", type=int, default=10000, help="rows per JDBC batch")
    p.add_argument("--write-partitions", type=int, default=2, help="at most this many JDBC connections per table")
    args = p.parse_args(argv)
    if not (math.isfinite(args.cell_size) and args.cell_size > 0):
        p.error(f"--cell-size must be a positive number of degrees, got {args.cell_size}")
    if not is_trend_period(args.trend_period):
        p.error(f"--trend-period {TREND_PERIOD_RULE}, got {args.trend_period}")
    return args


def read_uris(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def finite(name):
    c = F.col(name)
    return c.isNotNull() & ~F.isnan(c) & (F.abs(c) != float("inf"))


def fine_aggregates(spark, uris, cell, period):
    """One pass over the files: reports and score sum per exercise × region × cell × period × bucket."""
    reports = (
        spark.read.schema(LAKE_COLUMNS)
        .parquet(*uris)
        .where(F.col("exerciseId").isNotNull() & F.col("region").isNotNull() & F.col("timestamp").isNotNull())
        .where(finite("score") & finite("latitude") & finite("longitude"))
    )
    # Clamping before floor is the same as clamping after it, and cannot overflow a long.
    bucket = F.floor(F.least(F.greatest(F.col("score"), F.lit(0.0)), F.lit(100.0))).cast("short")
    # Integer arithmetic on the epoch milliseconds (longs): pmod is never negative, so ms - pmod(ms, p)
    # is the multiple of p at or below ms (Math.floor's, before 1970 too), and `div` of that multiple by
    # 1000 is exact (it truncates, which only matters for a remainder there is none of).
    period_start = F.expr(f"(unix_millis(timestamp) - pmod(unix_millis(timestamp), {int(period) * 1000}L)) div 1000L")
    return (
        reports.select(
            F.col("exerciseId").alias("exercise_id"),
            F.col("region"),
            F.floor(F.col("latitude") / F.lit(cell)).cast("int").alias("cell_y"),
            F.floor(F.col("longitude") / F.lit(cell)).cast("int").alias("cell_x"),
            period_start.alias("period_start"),
            bucket.alias("bucket"),
            F.col("score"),
        )
        .groupBy("exercise_id", "region", "cell_y", "cell_x", "period_start", "bucket")
        .agg(F.count(F.lit(1)).alias("reports"), F.sum("score").alias("score_sum"))
    )


def partials(fine, run_id):
    """The five partial tables, each with the columns of its warehouse table, in order."""
    run = F.lit(run_id).alias("run_id")
    reports = F.sum("reports").alias("reports")
    score_sum = F.sum("score_sum").alias("score_sum")
    exercises = fine.groupBy("exercise_id").agg(reports, score_sum)
    cells = fine.groupBy("exercise_id", "cell_y", "cell_x", "bucket").agg(reports)
    regions = fine.groupBy("exercise_id", "region", "bucket").agg(reports, score_sum)
    trends = fine.groupBy("exercise_id", "region", "period_start", "bucket").agg(reports, score_sum)
    cell_trends = fine.groupBy("exercise_id", "cell_y", "cell_x", "period_start", "bucket").agg(reports)
    return {
        "partial_exercise_totals": exercises.select(run, "exercise_id", "reports", "score_sum"),
        "partial_cell_histogram": cells.select(run, "exercise_id", "cell_y", "cell_x", "bucket", "reports"),
        "partial_region_histogram": regions.select(run, "exercise_id", "region", "bucket", "reports", "score_sum"),
        "partial_trend_histogram": trends.select(run, "exercise_id", "region", "period_start", "bucket", "reports", "score_sum"),
        "partial_cell_trend_histogram": cell_trends.select(run, "exercise_id", "cell_y", "cell_x", "period_start", "bucket", "reports"),
    }


def incident_partials(spark, uris, run_id):
    """The two incident partial tables of the terminal events, and the counts they must add up to."""
    finished = (
        spark.read.schema(INCIDENT_COLUMNS)
        .parquet(*uris)
        .where(F.col("type").isNotNull() & F.col("region").isNotNull() & F.col("openedAt").isNotNull())
        .where(F.col("type").isin(OUTCOMES))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    opened = F.unix_millis(F.col("openedAt"))
    steps = None
    for step, column in STEPS:
        seconds = F.greatest(F.lit(0), F.floor((F.unix_millis(F.col(column)) - opened) / F.lit(1000))).cast("long")
        reached = finished.where(F.col(column).isNotNull()).select("region", F.lit(step).alias("step"), seconds.alias("seconds"))
        steps = reached if steps is None else steps.unionByName(reached)
    run = F.lit(run_id).alias("run_id")
    totals = finished.groupBy("region", F.col("type").alias("outcome")).agg(F.count(F.lit(1)).alias("incidents"))
    histogram = steps.groupBy("region", "step", "seconds").agg(F.count(F.lit(1)).alias("incidents"))
    counts = {"incidents": finished.count(), "responses": steps.count()}
    tables = {
        "partial_incident_totals": totals.select(run, "region", "outcome", "incidents"),
        "partial_response_histogram": histogram.select(run, "region", "step", "seconds", "incidents"),
    }
    return tables, counts, finished


def write_jdbc(args, password, table, df):
    (
        df.write.format("jdbc")
        .option("url", args.jdbc_url)
        .option("driver", "org.postgresql.Driver")
        .option("user", args.jdbc_user)
        .option("password", password)
        .option("dbtable", table)
        .option("batchsize", args.batch_size)
        .option("numPartitions", args.write_partitions)
        .option("reWriteBatchedInserts", "true")
        .mode("append")
        .save()
    )


def write_result(path, result):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, path)


def main(argv):
    args = parse_args(argv)
    password = args.jdbc_password if args.jdbc_password is not None else os.environ.get(PASSWORD_ENV, "")
    uris = read_uris(args.files_from)
    incident_uris = read_uris(args.incident_files_from) if args.incident_files_from else []

    spark = SparkSession.builder.appName(f"acu-analyzer {args.run_id}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        result = {"rows": 0}
        if uris:
            fine = fine_aggregates(spark, uris, args.cell_size, args.trend_period).persist(StorageLevel.MEMORY_AND_DISK)
            result["rows"] = int(fine.agg(F.coalesce(F.sum("reports"), F.lit(0))).first()[0])
            for table, df in partials(fine, args.run_id).items():
                write_jdbc(args, password, table, df)
            fine.unpersist()
        if incident_uris:
            tables, counts, finished = incident_partials(spark, incident_uris, args.run_id)
            for table, df in tables.items():
                write_jdbc(args, password, table, df)
            finished.unpersist()
            result["incidents"] = counts
        write_result(args.result, result)
        print(f"acu-analyzer {args.run_id}: {len(uris) + len(incident_uris)} file(s), {result['rows']} report(s), {result.get('incidents', {}).get('incidents', 0)} finished incident(s)", file=sys.stderr)
    finally:
        spark.stop()


def summary(e):
    """One line for the caller: the exception without Java stack frames."""
    lines = (line.strip() for line in str(e).splitlines())
    return f"{type(e).__name__}: {' '.join(line for line in lines if line and not line.startswith('at '))}"[:2000]


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # the whole traceback for the log, then the line the engine reports
        traceback.print_exc()
        print(f"acu-analyzer failed: {summary(e)}", file=sys.stderr)
        sys.exit(1)
