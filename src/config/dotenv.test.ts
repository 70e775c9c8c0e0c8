import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dotenvFileNames, dotenvVariables, parseDotenv } from "./dotenv.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-dotenv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DOTENV = [
  "# left for docker compose",
  "ACU_INGEST_TOKEN=change-me-ingest-token",
  "export ACU_VIEWER_TOKEN = 'change-me-viewer-token'",
  'ACU_OPERATOR_TOKEN="change-me-operator-token" # a comment',
  "ACU_HTTP_HOST=0.0.0.0",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a .env line, where ${HOME} is the file's own syntax
  "ACU_DATA_DIR=${HOME}/acu-data",
  "POSTGRES_PASSWORD=change-me",
].join("\n");

/** What Bun itself loaded into a process started in `dir` with `shell` as its environment. */
function bunLoaded(shell: Record<string, string>): Record<string, string> {
  writeFileSync(join(dir, "print.ts"), "console.log(JSON.stringify(process.env));");
  const p = Bun.spawnSync({ cmd: [process.execPath, "run", "print.ts"], cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: "/home/x", ...shell } });
  return JSON.parse(p.stdout.toString()) as Record<string, string>;
}

test("the variables acu says came from .env are exactly those Bun loaded from it; a variable set at start wins and is not one", () => {
  writeFileSync(join(dir, ".env"), DOTENV);
  const env = bunLoaded({ ACU_HTTP_HOST: "127.0.0.1" });
  const fromFile = dotenvVariables(dir, env);
  expect(fromFile.files).toEqual([join(dir, ".env")]);
  expect([...fromFile.variables].sort()).toEqual(["ACU_DATA_DIR", "ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN", "POSTGRES_PASSWORD"]);
  // Same values as Bun's, quotes and comments removed.
  const parsed = parseDotenv(DOTENV);
  for (const k of ["ACU_INGEST_TOKEN", "ACU_VIEWER_TOKEN", "ACU_OPERATOR_TOKEN", "POSTGRES_PASSWORD"])
    expect({ k, v: parsed.get(k) }).toEqual({ k, v: env[k] });
  expect(env.ACU_DATA_DIR).toBe("/home/x/acu-data");
});

test("no .env: nothing came from one", () => {
  rmSync(join(dir, ".env"));
  expect(dotenvVariables(dir, { ACU_INGEST_TOKEN: "x".repeat(20) })).toEqual({ files: [], variables: new Set() });
});

test("the files Bun reads: .env, .env.<mode>, .env.local except under test", () => {
  expect(dotenvFileNames(undefined)).toEqual([".env", ".env.development", ".env.local"]);
  expect(dotenvFileNames("test")).toEqual([".env", ".env.test"]);
});
