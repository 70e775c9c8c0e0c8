import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cluster.ts";

export const STREAMS_DIR = join(ROOT, "bench/peers/kafka-streams");
export const STREAMS_JAR = join(STREAMS_DIR, "target/alert-streams.jar");

/** Builds the Kafka Streams peer with Maven when its jar is missing (first run: downloads kafka-streams into ~/.m2). */
export function ensureStreamsPeer(log: (l: string) => void): string[] {
  if (!existsSync(STREAMS_JAR) || !existsSync(join(STREAMS_DIR, "target/lib"))) {
    log("building the Kafka Streams peer (mvn package, first time only)");
    const t0 = performance.now();
    const p = Bun.spawnSync({ cmd: ["mvn", "-q", "-B", "package", "-DskipTests"], cwd: STREAMS_DIR, stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0)
      throw new Error(`mvn package of bench/peers/kafka-streams failed:\n${p.stdout.toString().slice(-3000)}${p.stderr.toString().slice(-2000)}`);
    log(`Kafka Streams peer built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  return ["java", "-Xmx512m", "-XX:+UseG1GC", "-cp", `${STREAMS_JAR}:${join(STREAMS_DIR, "target/lib")}/*`, "acu.bench.AlertStreams"];
}
