import { join } from "node:path";
import { ROOT } from "./acu.ts";
import { isolatedRun } from "./cluster.ts";

/**
 * The fault tests' own cluster: scripts/cluster with a runtime folder and ports of its own, so stopping
 * and killing its engines never touches the shared cluster other tests use at the same time.
 * 3 Kafka brokers (topics replicated 3 times, min.insync.replicas 2), 3 etcd members, PostgreSQL, and
 * HDFS with one DataNode. No Spark: the analyzer uses the embedded engine with the PostgreSQL warehouse.
 */
export const FAULT_CLUSTER_ENV: Record<string, string> = {
  ACU_CLUSTER_DIR: join(ROOT, ".acu/faults-cluster"),
  ACU_KAFKA_PORT_BASE: "29092",
  ACU_ETCD_PORT_BASE: "22379",
  ACU_PG_PORT: "25432",
  ACU_HDFS_RPC_PORT: "29000",
  ACU_HDFS_HTTP_PORT: "29870",
  ACU_HDFS_DN_PORT_BASE: "29864",
};
const COMPONENTS = "etcd,postgres,kafka,hdfs";

export interface FaultCluster {
  kafka: string;
  etcd: string;
  database: string;
  hdfsUrl: string;
  hdfsNamenode: string;
}

/** How to run scripts/cluster against the fault cluster. */
function clusterSpawn(args: string[]) {
  const inherited = { ...process.env };
  // The shared cluster's endpoints may be exported: they mean nothing here.
  for (const k of Object.keys(inherited)) if (k.startsWith("ACU_")) delete inherited[k];
  return {
    cmd: [join(ROOT, "scripts/cluster"), ...args],
    cwd: ROOT,
    env: { ...inherited, ...FAULT_CLUSTER_ENV },
    stdout: "pipe" as const,
    stderr: "pipe" as const,
  };
}

/** Runs scripts/cluster against the fault cluster; returns its exit code and output. */
export function clusterCmd(args: string[], timeoutMs = 300_000): { code: number; out: string } {
  const p = Bun.spawnSync({ ...clusterSpawn(args), timeout: timeoutMs });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

const log = (line: string) => console.log(`faults: ${line}`);
/** Development: ACU_FAULT_CLUSTER_REUSE=1 keeps the fault cluster between runs (no purge, no down). */
const reuse = process.env.ACU_FAULT_CLUSTER_REUSE === "1";

/**
 * Installs the engines (skip, logged, only when that is impossible here), then brings the fault cluster
 * up; a cluster that is installed but does not come up is an error, not a skip.
 */
export function upFaultCluster(): FaultCluster | null {
  const t0 = Date.now();
  const install = clusterCmd(["install", "--only", COMPONENTS], 900_000);
  if (install.code !== 0) {
    log(`the engines cannot be installed on this machine; skipping the fault suite:\n${install.out.slice(-2000)}`);
    return null;
  }
  if (reuse && clusterCmd(["status", "--only", COMPONENTS]).code === 0) {
    log("ACU_FAULT_CLUSTER_REUSE=1: using the fault cluster that is up, and leaving it up");
  } else {
    // Leftovers of an interrupted run (stale pids, data) go first: every suite starts from a fresh cluster.
    clusterCmd(["down", "--purge", "--only", COMPONENTS]);
    const up = clusterCmd(["up", "--only", COMPONENTS, "--kafka-brokers", "3", "--etcd-members", "3", "--hdfs-datanodes", "1"]);
    if (up.code !== 0) throw new Error(`the fault cluster did not come up:\n${up.out.slice(-4000)}`);
  }
  const env = clusterCmd(["env", "--only", COMPONENTS]).out;
  const get = (name: string) => {
    const m = new RegExp(`export ${name}=(\\S+)`).exec(env);
    if (!m) throw new Error(`scripts/cluster env printed no ${name}:\n${env}`);
    return m[1]!;
  };
  log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s (3 Kafka brokers, 3 etcd members, PostgreSQL, HDFS with 1 DataNode)`);
  return {
    kafka: get("ACU_KAFKA_BROKERS"),
    etcd: get("ACU_ETCD_ENDPOINTS"),
    database: get("ACU_DATABASE_URL"),
    hdfsUrl: get("ACU_HDFS_URL"),
    hdfsNamenode: get("ACU_HDFS_NAMENODE"),
  };
}

export function downFaultCluster(): void {
  if (reuse) return;
  const t0 = Date.now();
  const r = clusterCmd(["down", "--purge", "--only", COMPONENTS]);
  log(`cluster down (exit ${r.code}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export type NodeKind = "kafka" | "etcd" | "hdfs-datanode" | "postgres";

/**
 * scripts/cluster node ACTION KIND INDEX, without blocking this process (the load and the recorders
 * keep running meanwhile); throws with the script's output when it fails.
 */
export async function node(action: "stop" | "kill" | "start", kind: NodeKind, index = 0): Promise<void> {
  const t0 = Date.now();
  const p = Bun.spawn(clusterSpawn(["node", action, kind, String(index)]));
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`scripts/cluster node ${action} ${kind} ${index} failed:\n${out}${err}`);
  log(`node ${action} ${kind}${kind === "postgres" ? "" : ` ${index}`} (${Date.now() - t0} ms)`);
}

/** Environment of one fault scenario: its own Kafka namespace, etcd prefix and database on the fault cluster. */
export async function faultRun(c: FaultCluster, name: string): Promise<Record<string, string>> {
  // No drop: the whole fault cluster goes away after the suite.
  const { env } = await isolatedRun(c, name);
  return { ...env, ACU_INGEST_RATE_LIMIT: "0", ACU_INGEST_STUDENT_RATE_LIMIT: "0" };
}
