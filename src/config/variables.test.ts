import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { SETTINGS } from "./index.ts";
import { checkVariables, editDistance, nearest, NOT_ACU_VARIABLES } from "./variables.ts";

const ROOT = join(import.meta.dir, "../..");

test("an unknown ACU_* variable is refused naming the nearest known one; other variables are not acu's business", () => {
  expect(() => checkVariables({ ACU_KAFKA_BROKER: "x" }, SETTINGS)).toThrow("ACU_KAFKA_BROKER is not a variable acu reads; did you mean ACU_KAFKA_BROKERS?");
  expect(() => checkVariables({ ACU_DATABSE_URL: "x" }, SETTINGS)).toThrow("did you mean ACU_DATABASE_URL?");
  expect(() => checkVariables({ ACU_PORT: "1" }, SETTINGS)).toThrow("did you mean ACU_OPS_PORT?");
  expect(() => checkVariables({ ACU_KAFKA_BROKERS: "h:1", PATH: "/bin", ACUX: "1", POSTGRES_PASSWORD: "p" }, SETTINGS)).not.toThrow();
  // The scripts' and tests' own knobs pass.
  expect(() => checkVariables({ ACU_CLUSTER_DIR: "x", ACU_FAULT_SEED: "1" }, SETTINGS)).not.toThrow();
});

test("edit distance counts insertions, deletions, substitutions and swaps", () => {
  expect(editDistance("ACU_KAFKA_BROKER", "ACU_KAFKA_BROKERS")).toBe(1);
  expect(editDistance("ACU_KAFAK_BROKERS", "ACU_KAFKA_BROKERS")).toBe(1);
  expect(editDistance("abc", "abc")).toBe(0);
  expect(editDistance("", "abc")).toBe(3);
  expect(nearest("ACU_LOG_LEVLE", ["ACU_LOG_FORMAT", "ACU_LOG_LEVEL"])).toBe("ACU_LOG_LEVEL");
});

/** Files of the repository that may name ACU_* variables (not node_modules, data or build output). */
function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (["node_modules", ".git", "data", "dist", ".acu", "results", "target"].includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|md|sh|py|yaml|toml|json)$|^(cluster|test|run|Dockerfile|\.env\.example)$/.test(name)) yield path;
  }
}

// Names written wrong on purpose, to show they are refused.
const MISSPELT = new Set(["ACU_KAFKA_BROKER", "ACU_DATABSE_URL", "ACU_PORT", "ACU_KAFAK_BROKERS", "ACU_LOG_LEVLE", "ACU_SINK_FLUSH_MSS"]);

test("every ACU_* name in the repository is a setting or one of the scripts' variables: acu refuses no variable its own tools set", () => {
  const known = new Set([...SETTINGS.flatMap((s) => (s.env ? [s.env] : [])), ...Object.values(NOT_ACU_VARIABLES).flat(), ...MISSPELT]);
  const unknown: string[] = [];
  for (const file of sourceFiles(ROOT))
    for (const m of readFileSync(file, "utf8").matchAll(/\bACU_[A-Z0-9_]*[A-Z0-9]\b/g)) if (!known.has(m[0])) unknown.push(`${relative(ROOT, file)}: ${m[0]}`);
  expect(unknown).toEqual([]);
});
