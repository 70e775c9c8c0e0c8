"""Counts the rows of a Parquet folder the plain way any Spark user would: spark.read.parquet."""
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("acu-lake-count").getOrCreate()
print("ROWS", spark.read.parquet(sys.argv[1]).count())
spark.stop()
