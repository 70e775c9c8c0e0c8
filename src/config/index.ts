/**
 * The configuration, from one list of sections: each holds its settings (variable, flag, default, help)
 * and reads them; the engine sections also say which engine is selected and how it is described.
 * `Config`, `acu --help`, `acu config` and docs/configuration.md are all produced from `SECTIONS`.
 * Flags override `ACU_*` variables, which override defaults.
 */
import { parseArgs } from "node:util";
import { analyticsSection, type AnalyticsConfig } from "./analytics.ts";
import { busSection, type BusConfig } from "./bus.ts";
import {
  analyzerSection,
  dedupeSection,
  dispatchSection,
  httpSection,
  ingestSection,
  logSection,
  runSection,
  sinkSection,
  type AnalyzerConfig,
  type DedupeConfig,
  type DispatchConfig,
  type HttpConfig,
  type IngestConfig,
  type LogConfig,
  type RunConfig,
  type SinkConfig,
} from "./general.ts";
import { lakeSection, type LakeConfig } from "./lake.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { ConfigError, SettingValues, type Env, type FlagValues, type Origin, type Setting } from "./setting.ts";
import { staticTokensSection, type StaticTokensConfig } from "./static-tokens.ts";
import { thresholdsSection, type ThresholdsConfig } from "./thresholds.ts";
import { checkVariables } from "./variables.ts";
import { warehouseSection, type WarehouseConfig } from "./warehouse.ts";

export type Config = RunConfig &
  HttpConfig &
  LogConfig &
  StaticTokensConfig &
  IngestConfig &
  SinkConfig &
  DedupeConfig &
  AnalyzerConfig &
  DispatchConfig &
  BusConfig &
  ThresholdsConfig &
  LakeConfig &
  WarehouseConfig &
  AnalyticsConfig;

export const SECTIONS: readonly Section<Partial<Config>>[] = [
  runSection,
  httpSection,
  logSection,
  staticTokensSection,
  ingestSection,
  sinkSection,
  dedupeSection,
  analyzerSection,
  dispatchSection,
  busSection,
  thresholdsSection,
  lakeSection,
  warehouseSection,
  analyticsSection,
];

export const SETTINGS: readonly Setting[] = SECTIONS.flatMap((s) => Object.values(s.settings));
export const ENGINES: readonly EngineDescriptor[] = SECTIONS.flatMap((s) => s.engines ?? []);

/** Every variable acu reads, for `acu --help` and the compose check: name, flag, default, help. */
export const ENV_VARS: Array<{ name: string; flag?: string; default: string; help: string }> = SETTINGS.filter((s) => s.env).map((s) => ({
  name: s.env!,
  flag: s.flag,
  default: s.default,
  help: s.help,
}));

/** One line per engine: which adapter is selected and where it keeps its data. */
export function describeEngines(c: Config): Record<string, string> {
  return Object.fromEntries(ENGINES.map((e) => [e.name, e.describe(c)]));
}

/** Options of node:util parseArgs for the flags the configuration takes (`--port`, `--role`, …). */
export const CONFIG_FLAGS: Record<string, { type: "string" }> = Object.fromEntries(
  SETTINGS.filter((s) => s.flag).map((s) => [s.flag!.slice(2), { type: "string" as const }]),
);

/** Refuses an `ACU_*` variable acu does not read, naming the nearest one it does. */
export function checkEnvironment(env: Env): void {
  checkVariables(env, SETTINGS);
}

export interface SettingOrigin {
  setting: Setting;
  origin: Origin;
  /** As given (masked when secret); undefined when the default applies. */
  shown: string | undefined;
}

export interface Resolved {
  config: Config;
  origins: SettingOrigin[];
}

/**
 * The configuration from parsed flags and the environment; `fromDotenv` names the variables a `.env`
 * file set. Unknown `ACU_*` variables are refused before anything is read.
 */
export function resolveConfig(flags: FlagValues, env: Env, fromDotenv: ReadonlySet<string> = new Set()): Resolved {
  checkEnvironment(env);
  const values = new SettingValues(flags, env, fromDotenv);
  const config = Object.assign({}, ...SECTIONS.map((s) => s.read(values))) as Config;
  checkOpsPort(config);
  const origins = SETTINGS.map((setting) => ({ setting, origin: values.origin(setting), shown: shown(setting, values.raw(setting)) }));
  return { config, origins };
}

/** The ops port: any port but the http one of a process that listens there (which serves the same paths). */
function checkOpsPort(c: Config): void {
  const listens = c.roles.includes("http") || c.roles.includes("ingest");
  if (c.opsPort !== null && c.opsPort !== 0 && c.opsPort === c.port && listens)
    throw new ConfigError(
      `--ops-port ${c.opsPort} is the http port of this process, which serves /healthz, /readyz and /metrics already; choose another or leave it unset`,
    );
}

function shown(s: Setting, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (s.secret) return "****";
  return s.mask ? s.mask(raw) : raw;
}

/** The configuration of a run: `argv` holds only configuration flags (strictly parsed). */
export function loadConfig(argv: string[], env: Env): Config {
  let values: FlagValues;
  try {
    ({ values } = parseArgs({ args: argv, options: CONFIG_FLAGS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return resolveConfig(values, env).config;
}

export { ConfigError, type Origin, type Setting } from "./setting.ts";
export { parseRoles, ROLES, type Role } from "./general.ts";
export { KAFKA_CLIENT_LOG_LEVELS, type KafkaClientLog } from "./bus.ts";
export type { StaticToken } from "./static-tokens.ts";
export type { EngineDescriptor, EngineName, Section } from "./section.ts";
export { describeConfig } from "./describe.ts";
