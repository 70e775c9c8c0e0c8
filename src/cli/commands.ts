/**
 * The command line: each command with its usage, its own flags and whether it takes the configuration
 * flags. Parsed strictly: an unknown command, flag or argument is a usage error (exit 2) before
 * anything starts. `acu --help` and docs/configuration.md are written from this table.
 */
import { MAX_SIMULATED_PATROLS, SIMULATOR_DEFAULTS } from "../../modules/patrols/simulator.ts";
import { parseArgs } from "node:util";
import { CONFIG_FLAGS, ConfigError } from "../config/index.ts";
import type { FlagValues } from "../config/setting.ts";
import { nearest, editDistance } from "../config/variables.ts";

export interface CommandFlag {
  flag: `--${string}`;
  type: "string" | "boolean";
  default?: string;
  help: string;
}

export interface Command {
  name: CommandName;
  /** How it is called, after `acu`. */
  usage: string;
  summary: string;
  flags: CommandFlag[];
  /** Takes the configuration flags too (`--data-dir`, `--log-format`, …). */
  config: boolean;
  /** Arguments after the command name it takes at most (a sub-command, an id). */
  positionals: number;
}

export type CommandName = "run" | "signal" | "analyze" | "export" | "config" | "token" | "healthcheck" | "patrols" | "lake";

export const COMMANDS: readonly Command[] = [
  {
    name: "run",
    usage: "[--role=all|ROLE[,ROLE…]] [--port N] [--host ADDR] [--data-dir DIR] [--ops-port N] [--log-format json|text]",
    summary: "Run roles in this process (default: all).",
    flags: [],
    config: true,
    positionals: 0,
  },
  {
    name: "signal",
    usage: "signal [--rate N] [--count N] [--target URL] [--batch N] [--seed N] [--token T] [--kafka TOPIC [--format acu|original]]",
    summary:
      "Send realistic reports to a running acu; stops at once when the token is refused (401/403). With --kafka, write them to a raw topic instead (ACU_KAFKA_BROKERS), as an external producer.",
    flags: [
      { flag: "--rate", type: "string", default: "1000", help: "reports per second" },
      { flag: "--count", type: "string", default: "0", help: "reports to send; 0 = until Ctrl-C" },
      { flag: "--target", type: "string", default: "http://127.0.0.1:$ACU_HTTP_PORT", help: "the acu to send to" },
      { flag: "--batch", type: "string", default: "500", help: "reports per request, at most" },
      { flag: "--seed", type: "string", default: "(the time)", help: "seed of the report generator, to replay a run" },
      { flag: "--token", type: "string", default: "$ACU_INGEST_TOKEN", help: "ingest token sent as Bearer" },
      {
        flag: "--kafka",
        type: "string",
        default: "(HTTP)",
        help: "write to this Kafka topic (its literal name, one of ACU_KAFKA_RAW_TOPICS) on ACU_KAFKA_BROKERS instead of POSTing",
      },
      {
        flag: "--format",
        type: "string",
        default: "acu",
        help: "with --kafka: `acu` (laptop shape, keyed by student) or `original` (login, exercise 1–22, seconds; keyed by a constant)",
      },
    ],
    config: false,
    positionals: 0,
  },
  {
    name: "analyze",
    usage: "analyze [--rebuild]",
    summary: "Run the analyzer once on the configured engines; exit 1 when the run fails.",
    flags: [{ flag: "--rebuild", type: "boolean", help: "recompute from the whole lake (after changing ACU_CELL_SIZE_DEG)" }],
    config: true,
    positionals: 0,
  },
  {
    name: "export",
    usage: "export --table exercises|regions|hotspots|trends|response-times [--format csv|parquet] [--out FILE] [--exercise ID] [--bucket hour|day]",
    summary:
      "Write a whole analytics table from the warehouse to a file, judged with the current thresholds (the API's CSV columns); `--out -` writes CSV to stdout.",
    flags: [
      {
        flag: "--table",
        type: "string",
        help: "exercises, regions (per region and exercise), hotspots (every cell with a failure, of every exercise), trends (every hour or day with reports, per exercise) or response-times",
      },
      { flag: "--format", type: "string", default: "csv", help: "csv or parquet" },
      { flag: "--out", type: "string", default: "acu-<table>.<format>", help: "the file to write (replaced); `-`: stdout (csv only)" },
      { flag: "--exercise", type: "string", default: "(every exercise)", help: "regions, hotspots and trends: only this exercise" },
      { flag: "--bucket", type: "string", default: "hour", help: "trends: hour or day (UTC days)" },
    ],
    config: true,
    positionals: 0,
  },
  {
    name: "config",
    usage: "config [--json]",
    summary: "Print each setting with where it came from (flag, variable, .env, default), and the engines; secrets masked.",
    flags: [{ flag: "--json", type: "boolean", help: "the resolved configuration as JSON" }],
    config: true,
    positionals: 0,
  },
  {
    name: "token",
    usage: "token create --scope ingest|operator|viewer|patrol [--patrol ID] [--label L] | acu token list | acu token revoke ID",
    summary: "Create (printed once), list (never the secret) or revoke API tokens in the token store.",
    flags: [
      { flag: "--scope", type: "string", help: "scope of the token to create" },
      { flag: "--label", type: "string", default: "(empty)", help: "what the token is for, shown by list" },
      { flag: "--patrol", type: "string", help: "the patrol a `patrol` token acts for (required for it, refused for other scopes)" },
    ],
    config: true,
    positionals: 2,
  },
  {
    name: "lake",
    usage: "lake status | acu lake adopt-bus",
    summary:
      "Which bus the lake's files came from (status), or make the configured bus the lake's after replacing it on purpose (adopt-bus: its offsets go on after the lake's; nothing is moved or removed).",
    flags: [],
    config: true,
    positionals: 1,
  },
  {
    name: "healthcheck",
    usage: "healthcheck",
    summary: "Exit 0 when this machine's acu answers GET /readyz with 200 (its ops port, else its http port); for container health checks.",
    flags: [],
    config: true,
    positionals: 0,
  },
  {
    name: "patrols",
    usage:
      "patrols simulate [--count N] [--speed-kmh N] [--target URL] [--token T] [--seed N] [--ignore-rate R] [--ack-after-s S] [--resolve-after-s S] [--prefix P] [--duration-s S]",
    summary: "Simulated patrols registered on a running acu and driven through its API and their streams: acknowledge (some ignore), drive, arrive, resolve.",
    flags: [
      { flag: "--count", type: "string", default: "20", help: `patrols to register and drive (1–${MAX_SIMULATED_PATROLS})` },
      { flag: "--speed-kmh", type: "string", default: String(SIMULATOR_DEFAULTS.speedKmh), help: "driving speed; a few thousand makes a quick demo" },
      { flag: "--target", type: "string", default: "http://127.0.0.1:$ACU_HTTP_PORT", help: "the acu serving the API" },
      { flag: "--token", type: "string", default: "$ACU_OPERATOR_TOKEN", help: "operator token: registers the patrols and acts for them" },
      { flag: "--seed", type: "string", default: "(the time)", help: "seed of the placement and the crews' choices, to replay a run" },
      {
        flag: "--ignore-rate",
        type: "string",
        default: String(SIMULATOR_DEFAULTS.ignoreRate),
        help: "share of assignments left unanswered (the acknowledgement time-out shows)",
      },
      { flag: "--ack-after-s", type: "string", default: String(SIMULATOR_DEFAULTS.ackAfterMs / 1000), help: "about how long a crew takes to acknowledge" },
      { flag: "--resolve-after-s", type: "string", default: String(SIMULATOR_DEFAULTS.resolveAfterMs / 1000), help: "about how long a crew stays on site" },
      { flag: "--prefix", type: "string", default: SIMULATOR_DEFAULTS.prefix, help: "patrol ids are this and a number" },
      { flag: "--duration-s", type: "string", default: "0", help: "stop after this long; 0 = until Ctrl-C" },
    ],
    config: false,
    positionals: 1,
  },
];

/** The line printed with every usage error. */
export const USAGE = `usage: acu [--role=…] [--port N] [--data-dir DIR] … | acu ${COMMANDS.filter((c) => c.name !== "run")
  .map((c) => c.name)
  .join("|")} … | acu --help | acu --version`;

/** A command line that cannot be run as given: exit 2 with the usage line, nothing started. */
export class UsageError extends ConfigError {
  override name = "UsageError";
  /** The usage line printed after the message: the command's, or acu's. */
  readonly usage: string;
  constructor(
    message: string,
    /** The command it is about, named before the message (`acu token: …`). */
    readonly command?: Command,
  ) {
    super(message);
    this.usage = command ? usageOf(command) : USAGE;
  }

  /** The message as printed: `acu token: unknown flag "--x"`. */
  get headline(): string {
    return `acu${this.command && this.command.name !== "run" ? ` ${this.command.name}` : ""}: ${this.message}`;
  }
}

export interface CommandLine {
  command: Command;
  /** Configuration flags and the command's own, by name without dashes. */
  flags: FlagValues;
  positionals: string[];
  help: boolean;
  version: boolean;
}

/** A sub-command comes first: `acu signal --rate 10`, `acu --port 9000`. */
export function parseCommandLine(argv: string[]): CommandLine {
  const first = argv[0];
  const named = first !== undefined && !first.startsWith("-");
  if (named && (first === "help" || first === "version"))
    return { command: COMMANDS[0]!, flags: {}, positionals: [], help: first === "help", version: first === "version" };
  const command = named ? COMMANDS.find((c) => c.name === first && c.name !== "run") : COMMANDS[0];
  if (!command)
    throw new UsageError(
      `unknown command "${first}"${suggest(
        first!,
        COMMANDS.map((c) => c.name).filter((n) => n !== "run"),
      )}`,
    );
  const { values, positionals } = strictParse(command, named ? argv.slice(1) : argv);
  const help = values.help === true;
  const version = values.version === true;
  delete values.help;
  delete values.version;
  if (!help && positionals.length > command.positionals) throw new UsageError(`unexpected argument "${positionals[command.positionals]}"`, command);
  return { command, flags: values, positionals, help, version };
}

function strictParse(command: Command, args: string[]): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  if (command.name === "run") options.version = { type: "boolean" };
  if (command.config) Object.assign(options, CONFIG_FLAGS);
  for (const f of command.flags) options[f.flag.slice(2)] = { type: f.type };
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: { ...values } as FlagValues, positionals };
  } catch (e) {
    throw new UsageError(flagProblem(e as Error & { code?: string }, Object.keys(options)), command);
  }
}

/** node:util's messages, said shorter and with the nearest known flag. */
function flagProblem(e: Error & { code?: string }, known: string[]): string {
  const flag = /'([^' ]+)/.exec(e.message)?.[1] ?? "";
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
    return `unknown flag "${flag}"${suggest(
      flag,
      known.map((k) => `--${k}`),
    )}`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take/.test(e.message)) return `${flag} takes no value`;
    if (/ambiguous/.test(e.message)) return `${flag} needs a value; one starting with "-" is written ${flag}=-…`;
    return `${flag} needs a value`;
  }
  return e.message;
}

function suggest(given: string, known: string[]): string {
  const best = nearest(given, known);
  return best && editDistance(given, best) <= Math.max(1, Math.floor(given.length / 5)) ? `; did you mean ${best}?` : "";
}

export function command(name: CommandName): Command {
  return COMMANDS.find((c) => c.name === name)!;
}

export function usageOf(c: Command): string {
  return `usage: acu ${c.usage}`;
}
