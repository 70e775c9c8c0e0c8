/** `acu signal`: realistic reports sent to a running acu until the count is reached or Ctrl-C. */
import { inShape, runSignal, type GeneratedReport, type SignalFormat, type SignalOptions } from "../../modules/signal/index.ts";
import type { Env } from "../config/setting.ts";
import { command, UsageError, type CommandLine } from "./commands.ts";

const signal = command("signal");

/** `--kafka TOPIC`: where and in which shape the reports are written instead of POSTed. */
export interface SignalKafka {
  topic: string;
  format: SignalFormat;
}

export type SignalCommand = Omit<SignalOptions, "signal" | "send"> & { kafka: SignalKafka | null };

/** The run's options from its flags (and ACU_HTTP_PORT, ACU_INGEST_TOKEN), checked before anything is sent. */
export function signalOptions(line: CommandLine, env: Env): SignalCommand {
  const f = line.flags as Record<string, string | undefined>;
  const n = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const x = Number(v);
    if (v === "" || !Number.isFinite(x) || x < 0) throw new UsageError(`--${name} must be a non-negative number`, signal);
    return x;
  };
  return {
    target: f.target ?? `http://127.0.0.1:${env.ACU_HTTP_PORT || 8080}`,
    rate: n(f.rate, 1000, "rate"),
    count: n(f.count, 0, "count"),
    batchSize: n(f.batch, 500, "batch"),
    seed: f.seed === undefined ? undefined : n(f.seed, 0, "seed"),
    token: f.token ?? env.ACU_INGEST_TOKEN,
    kafka: signalKafka(f.kafka, f.format),
  };
}

function signalKafka(topic: string | undefined, format: string | undefined): SignalKafka | null {
  if (topic === undefined) {
    if (format !== undefined) throw new UsageError("--format goes with --kafka (POST /api/reports takes acu's shape)", signal);
    return null;
  }
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new UsageError(`--kafka "${topic}" is not a Kafka topic name`, signal);
  if (format !== undefined && format !== "acu" && format !== "original") throw new UsageError(`--format must be acu or original, not "${format}"`, signal);
  return { topic, format: format ?? "acu" };
}

/** The Kafka messages of a batch in the chosen shape: acu's keyed by student, the original's by a constant string (as the original system does). */
export function kafkaMessages(reports: GeneratedReport[], format: SignalFormat): Array<{ key: string; value: string }> {
  return reports.map((r) => ({ key: format === "acu" ? r.studentId : "acu-signal", value: JSON.stringify(inShape(r, format)) }));
}

/**
 * Runs until done or SIGINT/SIGTERM; a refused token fails the command (exit 1) with the server's message.
 * `send`: the Kafka producer of `--kafka` (made by the caller, which owns the adapters).
 */
export async function runSignalCommand(
  command: SignalCommand,
  print: (line: string) => void,
  send?: (messages: Array<{ key: string; value: string }>) => Promise<void>,
): Promise<void> {
  const { kafka, ...options } = command;
  const ac = new AbortController();
  process.on("SIGINT", () => ac.abort());
  process.on("SIGTERM", () => ac.abort());
  const toKafka = kafka && send ? (reports: GeneratedReport[]) => send(kafkaMessages(reports, kafka.format)) : undefined;
  const result = await runSignal({ ...options, signal: ac.signal, send: toKafka }, print);
  print(JSON.stringify(result));
  if (result.refused) throw new Error(`${options.target} refused the token (HTTP ${result.refused.status}): ${result.refused.message}`);
}
