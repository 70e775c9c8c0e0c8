import { cpus, freemem, loadavg, platform, release, totalmem } from "node:os";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, type Admin } from "kafkajs";
import type { Subprocess } from "bun";
import { ROOT } from "./cluster.ts";
import { TOKEN_ENV } from "../../tests/support/acu.ts";
import { EXERCISES } from "../../modules/signal/exercises.ts";
import { encodeReport, type Report } from "../../src/domain/report.ts";
import { regionOf } from "../../src/domain/region-index.ts";

export { ROOT };

// kafkajs arms timers with deadlines already past; Bun warns about each (as src/adapters/kafka does, only that one is silenced).
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (w.name !== "TimeoutNegativeWarning") console.warn(`${w.name}: ${w.message}`);
});

export type Mode = "smoke" | "quick" | "full";

export interface BenchContext {
  mode: Mode;
  /** Where results/<name>.json go. */
  outDir: string;
  /** Cluster endpoints (scripts/cluster env of the bench cluster). */
  env: Record<string, string>;
  /** Peer/acu pairs (A B A B …). */
  pairs: number;
  log: (line: string) => void;
}

export interface Run {
  /** "peer" or "acu" (or a peer's name). */
  who: string;
  /** Order in the A B A B sequence. */
  seq: number;
  value: number;
  [extra: string]: unknown;
}

export interface Comparison {
  /** What is compared, e.g. "reports/s". */
  metric: string;
  /** true: higher is better (throughput); false: lower is better (time). */
  higherIsBetter: boolean;
  peer: string;
  peerMedian: number | null;
  acuMedian: number;
  /** acu/peer in the direction "higher is better" (for times: peer time / acu time). */
  ratio: number | null;
  goal: string;
  met: boolean | null;
  /** comparePairs only: each measured pair's ratio (in pair order), and their extremes; `ratio` is then their median. */
  pairRatios?: number[];
  ratioMin?: number;
  ratioMax?: number;
}

export interface BenchResult {
  name: string;
  mode: Mode;
  startedAt: string;
  durationS: number;
  params: Record<string, unknown>;
  runs: Run[];
  comparisons: Comparison[];
  notes: string[];
  machine: MachineInfo;
  [extra: string]: unknown;
}

export interface MachineInfo {
  /** The broker's warm-up before the first benchmark of the run (lib/warmup.ts), null when none. */
  brokerWarmup?: { seconds: number; produced: number; transactions: number; failures: number } | null;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  os: string;
  loadAverage: { start: number[]; end?: number[] };
  versions: { bun: string; kafka: string; java: string; spark: string; hadoop: string; kafkajs: string };
}

let javaVersion: string | null = null;
export function machineInfo(): MachineInfo {
  if (javaVersion === null) {
    const j = Bun.spawnSync({ cmd: ["java", "-version"], stdout: "pipe", stderr: "pipe" });
    javaVersion = /version "([^"]+)"/.exec(j.stderr.toString())?.[1] ?? "unknown";
  }
  const kafkajs = JSON.parse(readFileSync(join(ROOT, "node_modules/kafkajs/package.json"), "utf8")).version as string;
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    loadAverage: { start: loadavg().map((l) => Math.round(l * 100) / 100) },
    versions: {
      bun: Bun.version,
      kafka: process.env.ACU_KAFKA_VERSION ?? "4.1.1",
      java: javaVersion,
      spark: process.env.ACU_SPARK_VERSION ?? "4.3.0",
      hadoop: process.env.ACU_HDFS_VERSION ?? "3.4.2",
      kafkajs,
    },
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Compare acu's runs with one peer's runs; ratio oriented so that > 1 means acu is better. */
export function compare(runs: Run[], o: { peer: string; metric: string; higherIsBetter: boolean; goalRatio: number; goal: string }): Comparison {
  const acu = median(runs.filter((r) => r.who === "acu").map((r) => r.value));
  const peerRuns = runs.filter((r) => r.who === o.peer).map((r) => r.value);
  const peer = peerRuns.length ? median(peerRuns) : null;
  const ratio = peer === null || !(peer > 0) || !(acu > 0) ? null : o.higherIsBetter ? acu / peer : peer / acu;
  return {
    metric: o.metric,
    higherIsBetter: o.higherIsBetter,
    peer: o.peer,
    peerMedian: peer === null ? null : round(peer),
    acuMedian: round(acu),
    ratio: ratio === null ? null : round(ratio, 3),
    goal: o.goal,
    met: ratio === null ? null : ratio >= o.goalRatio,
  };
}

/**
 * Compare acu with one peer pair by pair: each run carries its `pair`, the ratio is taken within each
 * pair (both sides measured back to back, so a load change between pairs does not tilt it), and the
 * result's ratio is the median of those, with their min and max. A pair missing a side is an error.
 */
export function comparePairs(runs: Run[], o: { peer: string; metric: string; higherIsBetter: boolean; goalRatio: number; goal: string }): Comparison {
  const base = compare(runs, o);
  const pairs = [...new Set(runs.map((r) => r.pair as number))].sort((a, b) => a - b);
  const ratios = pairs.map((p) => {
    const acu = runs.find((r) => r.pair === p && r.who === "acu")?.value;
    const peer = runs.find((r) => r.pair === p && r.who === o.peer)?.value;
    if (!(acu! > 0) || !(peer! > 0)) throw new Error(`pair ${p}: no measured ${acu! > 0 ? o.peer : "acu"} run`);
    return round(o.higherIsBetter ? acu! / peer! : peer! / acu!, 3);
  });
  const ratio = median(ratios);
  return {
    ...base,
    ratio: ratios.length ? round(ratio, 3) : null,
    met: ratios.length ? ratio >= o.goalRatio : null,
    pairRatios: ratios,
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
  };
}

/** When a benchmark started (t0: its performance.now() at start) and how long it took, for its result. */
export function timing(ctx: BenchContext, t0: number): { mode: Mode; startedAt: string; durationS: number } {
  return { mode: ctx.mode, startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(), durationS: round((performance.now() - t0) / 1000, 1) };
}

export function writeResult(ctx: BenchContext, r: BenchResult): string {
  r.machine.loadAverage.end = loadavg().map((l) => Math.round(l * 100) / 100);
  mkdirSync(ctx.outDir, { recursive: true });
  const file = join(ctx.outDir, `${r.name}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}

export function readResult(outDir: string, name: string): BenchResult | null {
  const f = join(outDir, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as BenchResult) : null;
}

// ---------------------------------------------------------------- acu processes

export interface Proc {
  proc: Subprocess;
  pid: number;
  output: () => string;
  /** Peak resident set (VmHWM) in MiB, read from /proc while it runs. */
  peakRssMiB: () => number | null;
  /** CPU time (user + system) it has used so far, seconds; the last value read once it has exited. */
  cpuSeconds: () => number | null;
  stop: () => Promise<number>;
}

/** CPU time (user + system) of a running process, seconds, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields from the closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return round((Number(f[11]) + Number(f[12])) / 100, 2);
  } catch {
    return null;
  }
}

/** Peak resident set of a running process (Linux VmHWM), MiB. */
export function vmHwmMiB(pid: number): number | null {
  return procStatusMiB(pid, "VmHWM");
}

/** A size field of a running process's /proc/<pid>/status (VmHWM: peak resident set, VmRSS: current), MiB. */
export function procStatusMiB(pid: number, field: "VmHWM" | "VmRSS"): number | null {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/** Spawns a command; output is kept (last 200 kB) for error messages; `ready` is polled until it says so. */
export async function spawnProc(
  cmd: string[],
  env: Record<string, string | undefined>,
  ready?: (out: string) => boolean | Promise<boolean>,
  { timeoutMs = 90_000, cwd = ROOT }: { timeoutMs?: number; cwd?: string } = {},
): Promise<Proc> {
  let out = "";
  const proc = Bun.spawn({ cmd, cwd, env: env as Record<string, string>, stdout: "pipe", stderr: "pipe" });
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      out += dec.decode(chunk);
      if (out.length > 400_000) out = out.slice(-200_000);
    }
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  let peak: number | null = null;
  let cpu: number | null = null;
  const sample = () => {
    const v = vmHwmMiB(proc.pid);
    if (v !== null) peak = Math.max(peak ?? 0, v);
    cpu = cpuSecondsOf(proc.pid) ?? cpu;
  };
  const sampler = setInterval(sample, 250);
  const p: Proc = {
    proc,
    pid: proc.pid,
    output: () => out,
    peakRssMiB: () => {
      sample();
      return peak;
    },
    cpuSeconds: () => {
      sample();
      return cpu;
    },
    async stop() {
      p.peakRssMiB();
      clearInterval(sampler);
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.exitCode === null && proc.kill(9), 20_000);
      const code = await proc.exited;
      clearTimeout(t);
      return code;
    },
  };
  if (ready) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) {
        clearInterval(sampler);
        throw new Error(`${cmd.slice(0, 4).join(" ")} exited with ${proc.exitCode} before it was ready:\n${out.slice(-4000)}`);
      }
      try {
        if (await ready(out)) break;
      } catch {}
      if (Date.now() > deadline) {
        await p.stop();
        throw new Error(`${cmd.slice(0, 4).join(" ")} was not ready within ${timeoutMs / 1000} s:\n${out.slice(-4000)}`);
      }
      await Bun.sleep(50);
    }
  }
  return p;
}

const ENGINE_VARS = [
  "ACU_KAFKA_BROKERS",
  "ACU_ETCD_ENDPOINTS",
  "ACU_DATABASE_URL",
  "ACU_HDFS_URL",
  "ACU_HDFS_NAMENODE",
  "ACU_SPARK_MASTER",
  "ACU_SPARK_HOME",
  "ACU_SPARK_PYTHON",
  "ACU_SPARK_JDBC_JAR",
];

/** What a process started from an allowlist gets of the harness's environment (the rest is what the benchmark sets). */
export const ALLOWED_ENV = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"];

export function allowlistedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ALLOWED_ENV) if (process.env[k] !== undefined) out[k] = process.env[k]!;
  return out;
}

/** One acu process (`bun run src/main.ts --role=…`) against the bench cluster; resolves once it serves. */
export async function startAcuRole(o: {
  roles: string;
  env: Record<string, string>;
  port?: number;
  dataDir: string;
  args?: string[];
  extraBunArgs?: string[];
  /**
   * Only ALLOWED_ENV of the harness's environment (and then `env`), not all of it but the engine
   * variables; and `cwd` (default: the repository) is where Bun looks for a `.env` to load.
   */
  allowlist?: boolean;
  cwd?: string;
}): Promise<Proc & { url: string }> {
  const inherited: Record<string, string | undefined> = o.allowlist ? allowlistedEnv() : { ...process.env };
  for (const k of ENGINE_VARS) delete inherited[k];
  const port = o.port ?? freePort();
  const listens = o.roles === "all" || /\b(http|ingest)\b/.test(o.roles);
  const url = `http://127.0.0.1:${port}`;
  const p = await spawnProc(
    [process.execPath, ...(o.extraBunArgs ?? []), ...cpuProfileArgs(o.roles), "run", join(ROOT, "src/main.ts"), `--role=${o.roles}`, ...(o.args ?? [])],
    {
      ...inherited,
      ACU_HTTP_PORT: String(port),
      ACU_HTTP_HOST: "127.0.0.1",
      ACU_DATA_DIR: o.dataDir,
      ...TOKEN_ENV,
      ACU_INGEST_RATE_LIMIT: "0",
      ACU_INGEST_STUDENT_RATE_LIMIT: "0",
      // The benchmarks' shared engines start with no threshold entries: the catalogue would refuse every report.
      ACU_EXERCISES: "open",
      ACU_ANALYZER_SCHEDULE: "off",
      ...o.env,
    },
    async (out) => (listens ? (await fetch(`${url}/readyz`)).status === 200 : out.includes("running roles")),
    { cwd: o.cwd },
  );
  return Object.assign(p, { url });
}

/**
 * BENCH_CPU_PROF=<dir>: each role process writes a CPU profile there when it stops (Bun's --cpu-prof, with its
 * markdown summary), named by its roles: where a benchmark's CPU goes, without changing the benchmark.
 */
function cpuProfileArgs(roles: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return [];
  return ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${roles.replaceAll(",", "+")}-${process.hrtime.bigint()}`];
}

export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

// ---------------------------------------------------------------- Kafka helpers

export function kafkaClient(brokers: string, clientId = "acu-bench"): Kafka {
  return new Kafka({ clientId, brokers: brokers.split(","), logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 } });
}

export async function withAdmin<T>(brokers: string, f: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: "min.insync.replicas", value: "1" }] }],
      });
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (e) {
      if (i >= 10) throw e;
      await Bun.sleep(200 * (i + 1));
    }
  }
}

export async function deleteTopics(admin: Admin, topics: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const gone = topics.filter((t) => existing.has(t));
  if (gone.length === 0) return;
  await admin.deleteTopics({ topics: gone, timeout: 30_000 }).catch(() => {});
  for (let i = 0; i < 100; i++) {
    const now = new Set(await admin.listTopics());
    if (gone.every((t) => !now.has(t))) return;
    await Bun.sleep(200);
  }
}

export async function deleteGroup(admin: Admin, group: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await admin.deleteGroups([group]);
      return;
    } catch (e) {
      const msg = String((e as Error & { groups?: Array<{ errorCode: number }> }).message);
      if (/does not exist|GROUP_ID_NOT_FOUND|not found/i.test(msg)) return;
      const groups = (e as { groups?: Array<{ error?: { type?: string } }> }).groups;
      if (groups?.every((g) => g.error?.type === "GROUP_ID_NOT_FOUND")) return;
      await Bun.sleep(300);
    }
  }
}

export async function endOffsets(admin: Admin, topic: string): Promise<number[]> {
  const o = await admin.fetchTopicOffsets(topic);
  const out: number[] = [];
  for (const p of o) out[p.partition] = Number(p.high);
  return out;
}

/**
 * Polls a group's committed offsets on `topic` until they reach `end` on every partition. Returns the
 * time of the first commit seen, the records it covered, and the time all were committed, all from
 * performance.now(), plus the steady rate between the two.
 */
export async function waitGroupCaughtUp(
  admin: Admin,
  group: string,
  topic: string,
  end: number[],
  t0: number,
  timeoutMs: number,
  everyMs = 50,
): Promise<{ firstMs: number; firstCommitted: number; doneMs: number; steadyRate: number; wallMs: number }> {
  const total = end.reduce((a, b) => a + b, 0);
  let firstMs = -1,
    firstCommitted = 0;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let committed = 0;
    try {
      const r = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const p of r[0]?.partitions ?? []) committed += Math.max(0, Number(p.offset));
    } catch {}
    const now = performance.now();
    if (committed > 0 && firstMs < 0) {
      firstMs = now;
      firstCommitted = committed;
    }
    if (committed >= total) {
      const steady = now > firstMs && total > firstCommitted ? ((total - firstCommitted) / (now - firstMs)) * 1000 : (total / (now - t0)) * 1000;
      return { firstMs: firstMs - t0, firstCommitted, doneMs: now - t0, steadyRate: steady, wallMs: now - t0 };
    }
    if (now > deadline) throw new Error(`group ${group} committed ${committed} of ${total} on ${topic} within ${timeoutMs / 1000} s`);
    await Bun.sleep(everyMs);
  }
}

// ---------------------------------------------------------------- reports

/** Thresholds of the alert benchmarks: default 20 plus a few exercises of their own; ~20 % of uniform scores fail. */
export const BENCH_THRESHOLDS = {
  default: 20,
  exercises: { bsq: 30, rush02: 25, "c00.ex00.my_putchar": 10, "c04.ex05.ft_atoi_base": 15 } as Record<string, number>,
};

export function thresholdOf(ex: string): number {
  return BENCH_THRESHOLDS.exercises[ex] ?? BENCH_THRESHOLDS.default;
}

const CITIES = [
  [48.85, 2.35],
  [43.3, 5.37],
  [45.76, 4.83],
  [47.22, -1.55],
  [50.63, 3.06],
  [43.6, 1.44],
  [48.11, -1.68],
  [44.84, -0.58],
] as const;

/** A seeded report as acu's ingest would put it on the bus (full JSON, region included). */
export function benchReport(i: number, seed: number, now = Date.UTC(2026, 10, 27, 9)): Report {
  let s = (Math.imul(i + 1, 2654435761) ^ seed) >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const [lat, lon] = CITIES[Math.floor(r() * CITIES.length)]!;
  const latitude = Math.round((lat + (r() - 0.5) * 0.5) * 1e5) / 1e5;
  const longitude = Math.round((lon + (r() - 0.5) * 0.5) * 1e5) / 1e5;
  const studentId = `student-${String(Math.floor(r() * 20000)).padStart(5, "0")}`;
  const exerciseId = EXERCISES[Math.floor(r() * EXERCISES.length)]!.id;
  return {
    reportId: `b${seed.toString(36)}-${i.toString(36)}`.padEnd(32, "0"),
    studentId,
    exerciseId,
    score: Math.round(r() * 10000) / 100,
    latitude,
    longitude,
    timestamp: now + i,
    region: regionOf(latitude, longitude),
  };
}

/**
 * Request bodies as laptops send them: bench reports `first`, `first + 1`, … (seed), `batch` to a body,
 * without reportId and region (ingest derives both). `each` sees every report (as it goes on the bus).
 */
export function laptopBodies(o: { bodies: number; batch: number; seed: number; first?: number; each?: (r: Report) => void }): string[] {
  const out: string[] = [];
  for (let b = 0; b < o.bodies; b++) {
    const batch = [];
    for (let i = 0; i < o.batch; i++) {
      const r = benchReport((o.first ?? 0) + b * o.batch + i, o.seed);
      o.each?.(r);
      batch.push({ studentId: r.studentId, exerciseId: r.exerciseId, score: r.score, latitude: r.latitude, longitude: r.longitude, timestamp: r.timestamp });
    }
    out.push(JSON.stringify(batch));
  }
  return out;
}

/**
 * The ingest benchmarks' client (closed loop): `requests` POSTs of `body(k)` (k = 0, 1, …) to `url` with
 * the ingest token, `senders` at a time, each sender sending its next as soon as its last is answered.
 * `accepted` sums the 202 answers' `accepted` fields; any other answer is counted in `refused`.
 */
export async function postBatches(o: {
  url: string;
  token: string;
  requests: number;
  body: (k: number) => string;
  senders: number;
}): Promise<{ accepted: number; refused: number; seconds: number; firstRefusal: string | null }> {
  const headers = { authorization: `Bearer ${o.token}`, "content-type": "application/json" };
  let next = 0,
    accepted = 0,
    refused = 0,
    firstRefusal: string | null = null;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: o.senders }, async () => {
      while (next < o.requests) {
        const res = await fetch(o.url, { method: "POST", headers, body: o.body(next++) });
        const text = await res.text();
        if (res.status === 202) accepted += (JSON.parse(text) as { accepted: number }).accepted;
        else {
          refused++;
          firstRefusal ??= `${res.status} ${text.slice(0, 500)}`;
        }
      }
    }),
  );
  return { accepted, refused, seconds: (performance.now() - start) / 1000, firstRefusal };
}

/** Writes `count` reports to `topic` as acu's ingest does (key: studentId, value: JSON); returns the expected number of alerts. */
export async function preloadReports(
  brokers: string,
  topic: string,
  count: number,
  seed: number,
  log: (l: string) => void,
): Promise<{ failures: number; bytes: number }> {
  const producer = kafkaClient(brokers, "acu-bench-preload").producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let failures = 0,
    bytes = 0;
  const t0 = performance.now();
  const CHUNK = 5000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += CHUNK) {
    const messages: Array<{ key: string; value: string }> = [];
    for (let j = i; j < Math.min(count, i + CHUNK); j++) {
      const r = benchReport(j, seed);
      if (r.score < thresholdOf(r.exerciseId)) failures++;
      const value = encodeReport(r);
      bytes += value.length;
      messages.push({ key: r.studentId, value });
    }
    inflight.push(producer.send({ topic, acks: -1, messages }));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
  log(`preloaded ${count} reports into ${topic} in ${((performance.now() - t0) / 1000).toFixed(1)} s (${failures} below threshold)`);
  return { failures, bytes };
}

/** Writes the bench thresholds to etcd under `prefix` (acu's layout: <prefix>default, <prefix>exercises/<id>). */
export async function writeThresholds(
  endpoints: string,
  prefix: string,
  thresholds: { default: number; exercises: Record<string, number> } = BENCH_THRESHOLDS,
): Promise<void> {
  const { Etcd3 } = await import("etcd3");
  const c = new Etcd3({ hosts: endpoints.split(",") });
  try {
    await c.put(`${prefix}default`).value(String(thresholds.default));
    for (const [ex, t] of Object.entries(thresholds.exercises)) await c.put(`${prefix}exercises/${ex}`).value(String(t));
  } finally {
    c.close();
  }
}

export function runId(name: string): string {
  return `bench_${name.replace(/[^a-z0-9]/gi, "")}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}
