import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cluster.ts";

export const STREAMS_DIR = join(ROOT, "bench/peers/kafka-streams");
export const STREAMS_JAR = join(STREAMS_DIR, "target/alert-streams.jar");

/** The newest modification time of the peer's sources (its pom and Java files), ms. */
function sourcesChangedAt(): number {
  const walk = (dir: string): number[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [statSync(join(dir, e.name)).mtimeMs]));
  return Math.max(statSync(join(STREAMS_DIR, "pom.xml")).mtimeMs, ...walk(join(STREAMS_DIR, "src")));
}

/**
 * Builds the Kafka Streams peer with Maven when its jar is missing or older than its sources (first run:
 * downloads kafka-streams into ~/.m2). `commitIntervalMs`: its commit.interval.ms (default: Kafka Streams'
 * own, 100 ms under exactly-once).
 */
export function ensureStreamsPeer(log: (l: string) => void, o: { commitIntervalMs?: number } = {}): string[] {
  if (!existsSync(STREAMS_JAR) || !existsSync(join(STREAMS_DIR, "target/lib")) || statSync(STREAMS_JAR).mtimeMs < sourcesChangedAt()) {
    log("building the Kafka Streams peer (mvn package, first time only)");
    const t0 = performance.now();
    const p = Bun.spawnSync({ cmd: ["mvn", "-q", "-B", "package", "-DskipTests"], cwd: STREAMS_DIR, stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0)
      throw new Error(`mvn package of bench/peers/kafka-streams failed:\n${p.stdout.toString().slice(-3000)}${p.stderr.toString().slice(-2000)}`);
    log(`Kafka Streams peer built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const interval = o.commitIntervalMs === undefined ? [] : [`-Dacu.commitIntervalMs=${o.commitIntervalMs}`];
  return ["java", "-Xmx512m", "-XX:+UseG1GC", ...interval, "-cp", `${STREAMS_JAR}:${join(STREAMS_DIR, "target/lib")}/*`, "acu.bench.AlertStreams"];
}
