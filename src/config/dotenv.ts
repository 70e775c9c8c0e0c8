/**
 * Which variables came from a `.env` file. Bun loads `.env` (and `.env.<NODE_ENV>`, `.env.local`) from
 * the working directory before acu runs, so the environment alone cannot tell a `.env` left there for
 * compose from a variable set on purpose. acu reads the same files itself: a variable whose value is the
 * one a file gives came from that file (Bun never overrides a variable the process was started with).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "./setting.ts";

export interface DotenvFiles {
  /** The files found, lowest precedence first. */
  files: string[];
  /** Variables whose value is the one these files give. */
  variables: Set<string>;
}

/** The files Bun reads, lowest precedence first (Bun skips `.env.local` under NODE_ENV=test). */
export function dotenvFileNames(nodeEnv: string | undefined): string[] {
  const mode = nodeEnv || "development";
  return [".env", `.env.${mode}`, ...(mode === "test" ? [] : [".env.local"])];
}

export function dotenvVariables(cwd: string, env: Env): DotenvFiles {
  const files = dotenvFileNames(env.NODE_ENV)
    .map((f) => join(cwd, f))
    .filter((f) => existsSync(f));
  const given = new Map<string, string>();
  for (const f of files) for (const [k, v] of parseDotenv(readFileSync(f, "utf8"))) given.set(k, v);
  const variables = new Set<string>();
  for (const [k, v] of given) if (env[k] !== undefined && env[k] === expand(v, env)) variables.add(k);
  return { files, variables };
}

// The dotenv grammar: KEY=value, `export` allowed, values quoted with ' " or `, comments after #.
const LINE = /^\s*(?:export\s+)?([\w.-]+)\s*=[ \t]*('(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^#\r\n]*)?[ \t]*(?:#.*)?$/gm;

export function parseDotenv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.replace(/\r\n?/g, "\n").matchAll(LINE)) {
    let v = (m[2] ?? "").trim();
    const q = v[0];
    if ((q === '"' || q === "'" || q === "`") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    }
    out.set(m[1]!, v);
  }
  return out;
}

/** `$NAME` and `${NAME}` replaced by the variable's value, as Bun expands unquoted and double-quoted values. */
function expand(v: string, env: Env): string {
  return v.replace(/\\?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, name: string) => (all.startsWith("\\") ? all.slice(1) : (env[name] ?? "")));
}
