/**
 * `acu patrols simulate`: simulated patrols registered on a running acu and driven through its API and
 * their streams (modules/patrols), until Ctrl-C or --duration-s.
 */
import { parseArgs } from "node:util";
import { HttpDispatchClient, MAX_SIMULATED_PATROLS, runPatrolSimulator, SIMULATOR_DEFAULTS, type PatrolSimulatorOptions } from "../../modules/patrols/index.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";

/** The command's flags, in the shape of the other commands' tables (for help and docs). */
export const PATROLS_FLAGS = [
  { flag: "--count", type: "string", default: "20", help: `patrols to register and drive (1–${MAX_SIMULATED_PATROLS})` },
  { flag: "--speed-kmh", type: "string", default: String(SIMULATOR_DEFAULTS.speedKmh), help: "driving speed; a few thousand makes a quick demo" },
  { flag: "--target", type: "string", default: "http://127.0.0.1:$ACU_HTTP_PORT", help: "the acu serving the API" },
  { flag: "--token", type: "string", default: "$ACU_OPERATOR_TOKEN", help: "operator token: registers the patrols and acts for them" },
  { flag: "--seed", type: "string", default: "(the time)", help: "seed of the placement and the crews' choices, to replay a run" },
  { flag: "--ignore-rate", type: "string", default: String(SIMULATOR_DEFAULTS.ignoreRate), help: "share of assignments left unanswered (the acknowledgement time-out shows)" },
  { flag: "--ack-after-s", type: "string", default: String(SIMULATOR_DEFAULTS.ackAfterMs / 1000), help: "about how long a crew takes to acknowledge" },
  { flag: "--resolve-after-s", type: "string", default: String(SIMULATOR_DEFAULTS.resolveAfterMs / 1000), help: "about how long a crew stays on site" },
  { flag: "--prefix", type: "string", default: SIMULATOR_DEFAULTS.prefix, help: "patrol ids are this and a number" },
  { flag: "--duration-s", type: "string", default: "0", help: "stop after this long; 0 = until Ctrl-C" },
] as const;

export const PATROLS_USAGE = `usage: acu patrols simulate [--count N] [--speed-kmh N] [--target URL] [--token T] [--seed N] [--ignore-rate R] [--ack-after-s S] [--resolve-after-s S] [--prefix P] [--duration-s S]`;

type FlagName = (typeof PATROLS_FLAGS)[number]["flag"] extends `--${infer N}` ? N : never;

export interface PatrolsCommand {
  options: Omit<PatrolSimulatorOptions, "client">;
  target: string;
  token: string;
  durationMs: number;
}

/** A command line `acu patrols …` cannot run: exit 2, nothing started. */
export class PatrolsUsageError extends ConfigError {
  override name = "PatrolsUsageError";
  constructor(message: string) {
    super(`acu patrols: ${message}\n${PATROLS_USAGE}`);
  }
}

/** The arguments after `patrols`, checked before anything is sent; null for --help. */
export function parsePatrolsCommand(argv: string[], env: Record<string, string | undefined>): PatrolsCommand | null {
  const options = Object.fromEntries([...PATROLS_FLAGS.map((f) => [f.flag.slice(2), { type: "string" as const }]), ["help", { type: "boolean" as const, short: "h" }]]);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new PatrolsUsageError(flagProblem(e as Error & { code?: string }));
  }
  if (parsed.values.help) return null;
  const [action, extra] = parsed.positionals;
  if (action !== "simulate") throw new PatrolsUsageError(action === undefined ? "simulate what? the only sub-command is simulate" : `unknown patrols command "${action}"; the only one is simulate`);
  if (extra !== undefined) throw new PatrolsUsageError(`unexpected argument "${extra}"`);
  const v = parsed.values as Partial<Record<FlagName, string>>;
  const num = (name: FlagName, fallback: number, ok: (x: number) => boolean, what: string) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const x = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(x) || !ok(x)) throw new PatrolsUsageError(`--${name} must be ${what} (got "${raw}")`);
    return x;
  };
  const token = v.token ?? env.ACU_OPERATOR_TOKEN;
  if (!token) throw new PatrolsUsageError("an operator token is needed to register patrols: --token or ACU_OPERATOR_TOKEN");
  const prefix = v.prefix ?? SIMULATOR_DEFAULTS.prefix;
  if (!/^[a-z0-9-]{0,24}$/.test(prefix)) throw new PatrolsUsageError(`--prefix must be at most 24 characters among a-z, 0-9 and '-' (got "${prefix}")`);
  return {
    target: v.target ?? `http://127.0.0.1:${env.ACU_HTTP_PORT || 8080}`,
    token,
    durationMs: num("duration-s", 0, (x) => x >= 0, "a non-negative number of seconds") * 1000,
    options: {
      count: num("count", 20, (x) => Number.isInteger(x) && x >= 1 && x <= MAX_SIMULATED_PATROLS, `a whole number from 1 to ${MAX_SIMULATED_PATROLS}`),
      speedKmh: num("speed-kmh", SIMULATOR_DEFAULTS.speedKmh, (x) => x > 0, "a positive number"),
      seed: v.seed === undefined ? undefined : num("seed", 0, Number.isInteger, "a whole number"),
      ignoreRate: num("ignore-rate", SIMULATOR_DEFAULTS.ignoreRate, (x) => x >= 0 && x < 1, "at least 0 and less than 1"),
      ackAfterMs: num("ack-after-s", SIMULATOR_DEFAULTS.ackAfterMs / 1000, (x) => x >= 0, "a non-negative number of seconds") * 1000,
      resolveAfterMs: num("resolve-after-s", SIMULATOR_DEFAULTS.resolveAfterMs / 1000, (x) => x >= 0, "a non-negative number of seconds") * 1000,
      prefix,
    },
  };
}

/** node:util's messages, said shorter. */
function flagProblem(e: Error & { code?: string }): string {
  const flag = /'(?:-\w, )?([^' ]+)/.exec(e.message)?.[1] ?? "";
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown flag "${flag}"`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take/.test(e.message)) return `${flag} takes no value`;
    if (/ambiguous/.test(e.message)) return `${flag} needs a value; one starting with "-" is written ${flag}=-…`;
    return `${flag} needs a value`;
  }
  return e.message;
}

/**
 * Runs `acu patrols …` until SIGINT/SIGTERM or --duration-s; progress goes to the log, the totals are
 * printed as one JSON line. A patrol the API refuses to register fails the command.
 */
export async function runPatrolsCommand(argv: string[], log: Logger, env: Record<string, string | undefined> = process.env, print: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): Promise<void> {
  const cmd = parsePatrolsCommand(argv, env);
  if (!cmd) return print(`${PATROLS_USAGE}\n\n${PATROLS_FLAGS.map((f) => `  ${f.flag.padEnd(18)}${f.help} [${f.default}]`).join("\n")}`);
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
