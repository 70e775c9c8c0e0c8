import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENV_VARS, loadConfig, parseRoles } from "../src/config.ts";
import { ROOT, TOKEN_ENV } from "./support/acu.ts";

/**
 * compose.yaml cannot run here (no Docker engine), so check what can be checked: it parses, and every
 * acu service's command, variables and ports are ones the binary accepts; no secret is written in it.
 */
type Service = { build?: { target?: string }; image?: string; command?: string[]; environment?: Record<string, unknown>; ports?: string[]; env_file?: string[] };
const compose = Bun.YAML.parse(readFileSync(join(ROOT, "compose.yaml"), "utf8")) as { services: Record<string, Service> };
const acuServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith("acu"));
const help = Bun.spawnSync({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "--help"] }).stdout.toString();

test("compose.yaml parses and has one acu service per role", () => {
  expect(acuServices.map(([n]) => n).sort()).toEqual(["alert", "analyzer", "http", "ingest", "sink"]);
  for (const [name, s] of acuServices) {
    const role = s.command?.find((a) => a.startsWith("--role="))?.slice(7);
    expect(parseRoles(role)).toEqual([name as never]);
  }
});

test("every flag and variable an acu service uses is one the binary documents", () => {
  const known = new Set(ENV_VARS.map((v) => v.name));
  for (const [name, s] of acuServices) {
    for (const a of s.command ?? []) if (a.startsWith("--")) expect({ service: name, flag: a.split("=")[0], inHelp: help.includes(a.split("=")[0]!) }).toEqual({ service: name, flag: a.split("=")[0], inHelp: true });
    for (const k of Object.keys(s.environment ?? {})) expect({ service: name, variable: k, known: known.has(k) }).toEqual({ service: name, variable: k, known: true });
    expect(s.env_file).toEqual([".env"]);
  }
});

test("each acu service's command and environment load as a valid configuration", () => {
  for (const [name, s] of acuServices) {
    // Compose fills ${VAR:?…} from .env; any value does here.
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, "secret")]));
    // Tokens come from .env, one per scope.
    const cfg = loadConfig(s.command ?? [], { ...env, ...TOKEN_ENV });
    expect(cfg.staticTokens.map((t) => t.scope).sort()).toEqual(["ingest", "operator", "viewer"]);
    expect({ service: name, roles: cfg.roles, kafka: cfg.kafkaBrokers?.length, etcd: cfg.etcdEndpoints?.length, db: cfg.databaseUrl !== null, hdfs: cfg.hdfsUrl !== null }).toEqual({
      service: name, roles: [name as never], kafka: 3, etcd: 3, db: true, hdfs: true,
    });
    if (name === "analyzer") expect(cfg.spark?.master).toBe("spark://spark-master:7077");
  }
});

test("published ports point at the port the service listens on", () => {
  for (const [name, s] of acuServices) {
    const cmd = s.command ?? [];
    const i = cmd.indexOf("--port");
    const port = i >= 0 ? cmd[i + 1] : "8080";
    for (const p of s.ports ?? []) expect({ service: name, container: p.split(":").pop() }).toEqual({ service: name, container: port });
  }
});

test("no secret is written in the file", () => {
  const text = readFileSync(join(ROOT, "compose.yaml"), "utf8");
  for (const v of ["ACU_ADMIN_TOKEN", "ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) expect(text).not.toMatch(new RegExp(`${v}\\s*:`));
  for (const m of text.matchAll(/postgres:\/\/[^:]+:([^@]+)@/g)) expect(m[1]).toMatch(/^\$\{POSTGRES_PASSWORD/);
  expect(text).toMatch(/POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD/);
});

test(".env.example names every token variable with a placeholder, each known to the binary; .env is never committed", () => {
  const example = readFileSync(join(ROOT, ".env.example"), "utf8");
  const vars = Object.fromEntries([...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const known = new Set(ENV_VARS.map((v) => v.name));
  for (const v of ["ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) {
    expect({ v, known: known.has(v), placeholder: vars[v]?.startsWith("change-me") }).toEqual({ v, known: true, placeholder: true });
    expect(vars[v]!.length).toBeGreaterThanOrEqual(16);
  }
  expect(vars.POSTGRES_PASSWORD).toStartWith("change-me");
  expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
});
