/**
 * An `ACU_*` variable acu does not read is refused, naming the nearest one it does: a mistyped
 * `ACU_KAFKA_BROKER` must not silently leave the bus embedded. The scripts and tests of this repository
 * have `ACU_*` knobs of their own; those are listed here so a process started beside them runs.
 */
import { ConfigError, type Env, type Setting } from "./setting.ts";

/** Variables read by scripts/cluster, the tests, the benchmarks or the Spark application, never by acu. */
export const NOT_ACU_VARIABLES: Record<string, string[]> = {
  "scripts/cluster (docs/cluster.md)": [
    "ACU_CLUSTER_DIR",
    "ACU_CLUSTER_TIMEOUT",
    "ACU_CLUSTER_STOP_TIMEOUT",
    "ACU_CLUSTER_PORT_OFFSET",
    "ACU_KAFKA_VERSION",
    "ACU_KAFKA_LOG4J_VERSION",
    "ACU_KAFKA_HEAP",
    "ACU_KAFKA_PORT_BASE",
    "ACU_ETCD_PORT_BASE",
    "ACU_PG_PORT",
    "ACU_HDFS_VERSION",
    "ACU_HDFS_HEAP",
    "ACU_HDFS_RPC_PORT",
    "ACU_HDFS_HTTP_PORT",
    "ACU_HDFS_DN_PORT_BASE",
    "ACU_SPARK_VERSION",
    "ACU_SPARK_PGJDBC_VERSION",
    "ACU_SPARK_DAEMON_MEMORY",
    "ACU_SPARK_MASTER_PORT",
    "ACU_SPARK_MASTER_UI_PORT",
    "ACU_SPARK_WORKER_PORT",
    "ACU_SPARK_WORKER_UI_PORT",
  ],
  "the tests and benchmarks": [
    "ACU_BENCH",
    "ACU_CROSS_CHECK_COUNT",
    "ACU_DISPATCH_CLUSTER_REPORTS",
    "ACU_DISPATCH_E2E_SECONDS",
    "ACU_E2E_RATE",
    "ACU_E2E_SECONDS",
    "ACU_FAULTS",
    "ACU_FAULT_CLUSTER_REUSE",
    "ACU_FAULT_SEED",
    "ACU_FUZZ_INPUTS",
    "ACU_KILL_COUNT",
    "ACU_ROLES_COUNT",
    "ACU_ROLES_HDFS_COUNT",
    "ACU_SECURE_CLUSTER_DIR",
    "ACU_SINKSCALE_COUNT",
    "ACU_SCHEMATHESIS_EXAMPLES",
    "ACU_SCHEMATHESIS_SEED",
    "ACU_SKIP_BENCH_SMOKE",
    "ACU_THRESHOLD_TRIALS",
  ],
  "spark/analyze_partials.py (acu sets it for spark-submit)": ["ACU_SPARK_JDBC_PASSWORD"],
};

const NOT_ACU = new Set(Object.values(NOT_ACU_VARIABLES).flat());

/** Refuses the first `ACU_*` variable that is neither a setting nor a known script variable. */
export function checkVariables(env: Env, settings: readonly Setting[]): void {
  const known = settings.flatMap((s) => (s.env ? [s.env] : []));
  const knownSet = new Set(known);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("ACU_") || knownSet.has(name) || NOT_ACU.has(name)) continue;
    throw new ConfigError(`${name} is not a variable acu reads; did you mean ${nearest(name, known)}? (acu --help lists them)`);
  }
}

/** The known name at the least edit distance (ties: the first in the list). */
export function nearest(name: string, known: readonly string[]): string {
  let best = known[0] ?? "";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      rows[i]![j] = d;
    }
  return at(a.length, b.length);
}
