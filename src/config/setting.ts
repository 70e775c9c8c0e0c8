/**
 * What a setting is (its variable, flag, default and help) and how a section reads its settings: the flag
 * when given, else the variable, else the default. Every section of the configuration is written with
 * these, so `Config`, `acu --help`, `acu config` and docs/configuration.md come from the same list.
 */

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Where a value came from, as `acu config` prints it. */
export type Origin = "flag" | "variable" | ".env" | "default";

export interface Setting {
  /** The `ACU_*` variable, when the setting has one. */
  env?: string;
  /** The flag (`--port`), when the setting has one; it overrides the variable. */
  flag?: `--${string}`;
  /** The default as help and docs show it. */
  default: string;
  /** One line for `acu --help` and docs/configuration.md. */
  help: string;
  /** `acu config` masks it (tokens) or shows it through `mask` (a URL with a password). */
  secret?: boolean;
  mask?: (raw: string) => string;
}

export type Env = Record<string, string | undefined>;
/** Flag values by flag name without dashes (`port`, `data-dir`), as node:util parseArgs gives them. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** The raw values of the settings for one run, and where each came from. */
export class SettingValues {
  constructor(
    private readonly flags: FlagValues,
    private readonly env: Env,
    /** Variables whose value came from a `.env` file (see dotenv.ts). */
    private readonly fromDotenv: ReadonlySet<string> = new Set(),
  ) {}

  /** The flag's value when given, else the variable's; undefined or "" = unset. */
  raw(s: Setting): string | undefined {
    const f = s.flag ? this.flags[s.flag.slice(2)] : undefined;
    if (typeof f === "string") return f;
    return s.env ? this.env[s.env] : undefined;
  }

  /** A variable's value, whichever setting reads it (for checks that span sections). */
  variable(name: string): string | undefined {
    return this.env[name];
  }

  origin(s: Setting): Origin {
    if (s.flag && typeof this.flags[s.flag.slice(2)] === "string") return "flag";
    if (!s.env || this.env[s.env] === undefined || this.env[s.env] === "") return "default";
    return this.fromDotenv.has(s.env) ? ".env" : "variable";
  }
}

/** The name a message gives a setting: its variable, else its flag. */
export function settingName(s: Setting): string {
  return s.env ?? s.flag ?? "?";
}

export function num(name: string, raw: string | undefined, def: number, check: (n: number) => boolean, what: string): number {
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(`${name}=${raw}: ${what}`);
  return n;
}

export const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n < 65536;

/** A memory bound in bytes: a whole number from 1 MiB to `maxGiB` GiB (the bounds on buffers and queues). */
export function bytes(name: string, raw: string | undefined, def: number, maxGiB: number): number {
  return num(name, raw, def, (n) => Number.isInteger(n) && n >= 1024 * 1024 && n <= maxGiB * 1024 ** 3, `must be a whole number of bytes, 1 MiB–${maxGiB} GiB`);
}

export function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], def: T): T {
  if (raw === undefined || raw === "") return def;
  const v = allowed.find((a) => a === raw.toLowerCase());
  if (!v) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, not "${raw}"`);
  return v;
}

export function list(name: string, raw: string | undefined, item: RegExp, shape: string): string[] | null {
  if (raw === undefined || raw.trim() === "") return null;
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items) if (!item.test(i)) throw new ConfigError(`${name}: "${i}" is not ${shape}`);
  return items;
}

/** A string setting: unset or "" gives the default. */
export function text(raw: string | undefined, def: string): string {
  return raw === undefined || raw === "" ? def : raw;
}

/** Names as code in help and docs: `a`, `b`, `c`. */
export function codes(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(", ");
}

/** A user name and its password for an engine (etcd, Kafka). */
export interface Credentials {
  username: string;
  password: string;
}

/**
 * The user and password of an engine, given together or not at all, and only with the engine's own
 * variable (credentials for an engine that is not configured are a mistake, not a default).
 */
export function credentials(
  user: { name: string; raw: string | undefined },
  password: { name: string; raw: string | undefined },
  engine: { name: string; configured: boolean },
): Credentials | null {
  const u = user.raw ?? "";
  const p = password.raw ?? "";
  if (u === "" && p === "") return null;
  if (u === "") throw new ConfigError(`${password.name} is set without ${user.name}`);
  if (p === "") throw new ConfigError(`${user.name} is set without ${password.name}`);
  if (!engine.configured) throw new ConfigError(`${user.name} is set but ${engine.name} is not: credentials of an engine acu does not use`);
  if (u.length > 256 || /[\s\0]/.test(u)) throw new ConfigError(`${user.name} must be 1–256 characters without spaces`);
  if (p.length > 1024) throw new ConfigError(`${password.name} must be at most 1024 characters`);
  return { username: u, password: p };
}
