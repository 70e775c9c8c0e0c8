/**
 * `acu patrols simulate`: simulated patrols registered on a running acu and driven through its API and
 * their streams (modules/patrols), until Ctrl-C or --duration-s.
 */
import { HttpDispatchClient, MAX_SIMULATED_PATROLS, runPatrolSimulator, SIMULATOR_DEFAULTS, type PatrolSimulatorOptions } from "../../modules/patrols/index.ts";
import type { Env } from "../config/setting.ts";
import type { Logger } from "../log.ts";
import { command, UsageError, type CommandLine } from "./commands.ts";

const patrols = command("patrols");

export interface PatrolsCommand {
  options: Omit<PatrolSimulatorOptions, "client">;
  target: string;
  token: string;
  durationMs: number;
}

type Flag = "count" | "speed-kmh" | "target" | "token" | "seed" | "ignore-rate" | "ack-after-s" | "resolve-after-s" | "prefix" | "duration-s";

/** What to run, from the parsed command line (and ACU_HTTP_PORT, ACU_OPERATOR_TOKEN), checked before anything is sent. */
export function parsePatrolsCommand(line: CommandLine, env: Env): PatrolsCommand {
  const [action] = line.positionals;
  if (action !== "simulate")
    throw new UsageError(
      action === undefined ? "simulate what? the only sub-command is simulate" : `unknown patrols command "${action}"; the only one is simulate`,
      patrols,
    );
  const v = line.flags as Partial<Record<Flag, string>>;
  const num = (name: Flag, fallback: number, ok: (x: number) => boolean, what: string) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const x = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(x) || !ok(x)) throw new UsageError(`--${name} must be ${what} (got "${raw}")`, patrols);
    return x;
  };
  const token = v.token ?? env.ACU_OPERATOR_TOKEN;
  if (!token) throw new UsageError("an operator token is needed to register patrols: --token or ACU_OPERATOR_TOKEN", patrols);
  const prefix = v.prefix ?? SIMULATOR_DEFAULTS.prefix;
  if (!/^[a-z0-9-]{0,24}$/.test(prefix)) throw new UsageError(`--prefix must be at most 24 characters among a-z, 0-9 and '-' (got "${prefix}")`, patrols);
  const seconds = (name: Flag, fallback: number) => num(name, fallback, (x) => x >= 0, "a non-negative number of seconds") * 1000;
  return {
    target: v.target ?? `http://127.0.0.1:${env.ACU_HTTP_PORT || 8080}`,
    token,
    durationMs: seconds("duration-s", 0),
    options: {
      count: num("count", 20, (x) => Number.isInteger(x) && x >= 1 && x <= MAX_SIMULATED_PATROLS, `a whole number from 1 to ${MAX_SIMULATED_PATROLS}`),
      speedKmh: num("speed-kmh", SIMULATOR_DEFAULTS.speedKmh, (x) => x > 0, "a positive number"),
      seed: v.seed === undefined ? undefined : num("seed", 0, Number.isInteger, "a whole number"),
      ignoreRate: num("ignore-rate", SIMULATOR_DEFAULTS.ignoreRate, (x) => x >= 0 && x < 1, "at least 0 and less than 1"),
      ackAfterMs: seconds("ack-after-s", SIMULATOR_DEFAULTS.ackAfterMs / 1000),
      resolveAfterMs: seconds("resolve-after-s", SIMULATOR_DEFAULTS.resolveAfterMs / 1000),
      prefix,
    },
  };
}

/**
 * Runs until SIGINT/SIGTERM or --duration-s; progress goes to the log, the totals are printed as one JSON
 * line. A patrol the API refuses to register fails the command (exit 1).
 */
export async function runPatrolsCommand(cmd: PatrolsCommand, log: Logger, print: (line: string) => void): Promise<void> {
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.on("SIGINT", abort);
  process.on("SIGTERM", abort);
  const timer = cmd.durationMs > 0 ? setTimeout(abort, cmd.durationMs) : null;
  try {
    const client = new HttpDispatchClient({ target: cmd.target, token: cmd.token, log });
    const totals = await runPatrolSimulator({ ...cmd.options, client, signal: ac.signal }, log.child({ component: "patrols" }));
    print(JSON.stringify(totals));
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
}
