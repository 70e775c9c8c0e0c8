import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");

/**
 * The bench's own cluster: its own runtime folder and ports shifted from the test suite's (19092,
 * 12379, 15432, 19000/19870/19864, 17077…), so a bench run never meets `npm test`'s cluster or anyone
 * else's. One Kafka broker: the honest layout on one machine.
 */
export const BENCH_CLUSTER_ENV: Record<string, string> = {
  ACU_CLUSTER_DIR: join(ROOT, ".acu/bench-cluster"),
  ACU_KAFKA_PORT_BASE: "31092",
  ACU_ETCD_PORT_BASE: "30379",
  ACU_PG_PORT: "31432",
  ACU_HDFS_RPC_PORT: "31000",
  ACU_HDFS_HTTP_PORT: "31870",
  ACU_HDFS_DN_PORT_BASE: "31864",
  ACU_SPARK_MASTER_PORT: "31077",
  ACU_SPARK_MASTER_UI_PORT: "31080",
  ACU_SPARK_WORKER_PORT: "31078",
  ACU_SPARK_WORKER_UI_PORT: "31081",
};

export interface ClusterEndpoints {
  ACU_KAFKA_BROKERS: string;
  ACU_ETCD_ENDPOINTS: string;
  ACU_DATABASE_URL: string;
  ACU_HDFS_URL?: string;
  ACU_HDFS_NAMENODE?: string;
  ACU_SPARK_MASTER?: string;
  ACU_SPARK_HOME?: string;
  ACU_SPARK_PYTHON?: string;
  ACU_SPARK_JDBC_JAR?: string;
  [k: string]: string | undefined;
}

function script(args: string[], extra: Record<string, string> = {}, quiet = false): { code: number; out: string; err: string } {
  const p = Bun.spawnSync({
    cmd: [join(ROOT, "scripts/cluster"), ...args],
    cwd: ROOT,
    env: { ...process.env, ...BENCH_CLUSTER_ENV, ...extra },
    stdout: "pipe",
    stderr: quiet ? "pipe" : "inherit",
  });
  return { code: p.exitCode ?? 1, out: p.stdout.toString(), err: p.stderr?.toString() ?? "" };
}

export const COMPONENTS_ALL = ["etcd", "postgres", "kafka", "hdfs", "spark"];

/** `scripts/cluster up` for the given components on the bench ports; returns their endpoints. */
export function clusterUp(components: string[], opts: { sparkCores?: number; sparkMemory?: string } = {}): ClusterEndpoints {
  const only = ["--only", components.join(",")];
  const size = components.includes("spark") ? ["--spark-worker-cores", String(opts.sparkCores ?? 2), "--spark-worker-memory", opts.sparkMemory ?? "2g"] : [];
  let up = script(["up", ...only, ...size]);
  if (up.code !== 0 && size.length > 0) {
    // A worker left running with another size is refused: restart Spark with ours.
    script(["down", "--only", "spark"]);
    up = script(["up", ...only, ...size]);
  }
  if (up.code !== 0) throw new Error(`bench cluster: scripts/cluster up ${only[1]} failed (exit ${up.code})`);
  return clusterEnvOf(components);
}

export function clusterEnvOf(components: string[]): ClusterEndpoints {
  const env = script(["env", "--only", components.join(",")], {}, true).out;
  const out: Record<string, string> = {};
  for (const m of env.matchAll(/^export (\w+)=(.*)$/gm)) out[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, "");
  return out as ClusterEndpoints;
}

export function clusterAlive(components: string[]): boolean {
  return script(["status", "--only", components.join(",")], {}, true).code === 0;
}

export function clusterDown(components: string[] = COMPONENTS_ALL): void {
  script(["down", "--only", components.join(",")]);
}

/** Runs a Kafka tool class (`scripts/cluster kafka-perf …` / `kafka-class …`) and returns its output. */
export async function kafkaTool(args: string[], heap = "-Xmx512m"): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn({
    cmd: [join(ROOT, "scripts/cluster"), ...args],
    cwd: ROOT,
    env: { ...process.env, ...BENCH_CLUSTER_ENV, KAFKA_HEAP_OPTS: heap },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}
