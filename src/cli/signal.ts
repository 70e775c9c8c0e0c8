/** `acu signal`: realistic reports sent to a running acu until the count is reached or Ctrl-C. */
import { runSignal, type SignalOptions } from "../../modules/signal/index.ts";
import type { Env } from "../config/setting.ts";
import { command, UsageError, type CommandLine } from "./commands.ts";

const signal = command("signal");

/** The run's options from its flags (and ACU_HTTP_PORT, ACU_INGEST_TOKEN), checked before anything is sent. */
export function signalOptions(line: CommandLine, env: Env): Omit<SignalOptions, "signal"> {
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
  };
}

/** Runs until done or SIGINT/SIGTERM; a refused token fails the command (exit 1) with the server's message. */
export async function runSignalCommand(options: Omit<SignalOptions, "signal">, print: (line: string) => void): Promise<void> {
  const ac = new AbortController();
  process.on("SIGINT", () => ac.abort());
  process.on("SIGTERM", () => ac.abort());
  const result = await runSignal({ ...options, signal: ac.signal }, print);
  print(JSON.stringify(result));
  if (result.refused) throw new Error(`${options.target} refused the token (HTTP ${result.refused.status}): ${result.refused.message}`);
}
