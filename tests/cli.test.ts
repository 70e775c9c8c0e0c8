import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, ENGINE_VARS, eventually, freePort, postReports, ROOT, startAcu, tempDir, TOKEN_ENV, type AcuProcess } from "./support/acu.ts";

/**
 * The command line as a user meets it, on real `bun run src/main.ts` processes: wrong usage exits 2 with
 * the usage line before anything starts; failures at run time exit 1; an unknown ACU_* variable is
 * refused; a port in use fails the start at once; a refused token stops `acu signal`; `acu config` and a
 * start say where settings (and tokens) came from, `.env` included. Every process is bounded.
 */
setDefaultTimeout(120_000);
const dir = tempDir("cli");
afterAll(() => cleanup(dir));

interface Ran {
  code: number;
  out: string;
  err: string;
  /** Killed at the bound instead of exiting by itself. */
  killed: boolean;
  ms: number;
}

/** Runs acu to its end, or kills it at `boundMs`. Engine endpoints of the test run are left out. */
async function acu(args: string[], o: { env?: Record<string, string>; cwd?: string; boundMs?: number } = {}): Promise<Ran> {
  const env: Record<string, string | undefined> = { ...process.env, ...o.env };
  for (const k of [...ENGINE_VARS, ...Object.keys(TOKEN_ENV)]) if (!o.env?.[k]) delete env[k];
  const t0 = performance.now();
  const p = Bun.spawn({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), ...args], cwd: o.cwd ?? dir, env, stdout: "pipe", stderr: "pipe" });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    p.kill(9);
  }, o.boundMs ?? 20_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out, err, killed, ms: Math.round(performance.now() - t0) };
}

test("an unknown flag or command, or a bad flag of a command, exits 2 with the usage line and starts nothing", async () => {
  const cases: Array<[string[], string]> = [
    [["--no-such-flag"], 'acu: unknown flag "--no-such-flag"'],
    [["-V"], 'acu: unknown flag "-V"'],
    [["frobnicate"], 'acu: unknown command "frobnicate"'],
    [["--port", "9000", "config"], 'acu: unexpected argument "config"'],
    [["token", "--no-such-flag"], 'acu token: unknown flag "--no-such-flag"'],
    [["token", "frobnicate"], 'acu token: unknown token command "frobnicate"; create, list or revoke'],
    [["signal", "--rat", "5"], 'acu signal: unknown flag "--rat"; did you mean --rate?'],
    [["analyze", "--rebuild=yes"], "acu analyze: --rebuild takes no value"],
    [["config", "--jsn"], 'acu config: unknown flag "--jsn"; did you mean --json?'],
  ];
  for (const [args, message] of cases) {
    const data = join(dir, `usage-${args.join("_").replace(/\W/g, "")}`);
    const port = freePort();
    const r = await acu(args, { env: { ACU_DATA_DIR: data, ACU_HTTP_PORT: String(port) }, boundMs: 10_000 });
    console.log(`acu ${args.join(" ")}: exit ${r.code} in ${r.ms} ms`);
    expect({ args, code: r.code, killed: r.killed, first: r.err.split("\n")[0], usage: /^usage: acu /m.test(r.err), out: r.out }).toEqual({
      args,
      code: 2,
      killed: false,
      first: message,
      usage: true,
      out: "",
    });
    // Nothing started: no data dir made, no port held.
    expect({ args, dataDir: existsSync(data) }).toEqual({ args, dataDir: false });
  }
});

test("an unknown ACU_* variable is refused, naming the nearest known one", async () => {
  const r = await acu(["config"], { env: { ACU_KAFKA_BROKER: "x:9092" }, boundMs: 10_000 });
  expect([r.code, r.killed, r.out]).toEqual([2, false, ""]);
  expect(r.err).toContain("ACU_KAFKA_BROKER is not a variable acu reads; did you mean ACU_KAFKA_BROKERS?");
  // Refused for every command, and before the run starts.
  const run = await acu([], { env: { ACU_SINK_FLUSH_MSS: "100", ACU_DATA_DIR: join(dir, "unknown-var") }, boundMs: 10_000 });
  expect([run.code, run.killed, existsSync(join(dir, "unknown-var"))]).toEqual([2, false, false]);
  expect(run.err).toContain("did you mean ACU_SINK_FLUSH_MS?");
});

test("a bad value exits 2 naming the setting; a failure at run time exits 1", async () => {
  const bad = await acu(["config"], { env: { ACU_DEFAULT_THRESHOLD: "101" }, boundMs: 10_000 });
  expect([bad.code, bad.err.trim()]).toEqual([2, "acu: ACU_DEFAULT_THRESHOLD=101: must be a whole percent 0–100"]);
  const missing = await acu(["token", "revoke", "tok_nobody"], { env: { ACU_DATA_DIR: join(dir, "revoke") } });
  expect([missing.code, missing.err.trim()]).toEqual([1, "acu: error: no token has the id tok_nobody"]);
});

test("a port already in use fails the start at once with exit 1, naming the port, before any engine opens", async () => {
  const holder = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("mine") });
  try {
    const data = join(dir, "port-in-use");
    const r = await acu([], { env: { ACU_DATA_DIR: data, ACU_HTTP_PORT: String(holder.port), ...TOKEN_ENV }, boundMs: 20_000 });
    console.log(`port in use: exit ${r.code} in ${r.ms} ms`);
    expect([r.code, r.killed]).toEqual([1, false]);
    expect(r.err).toContain(`port ${holder.port} on 127.0.0.1 is already in use (--port, ACU_HTTP_PORT)`);
    // The roles never started: no engine made its files under the data dir.
    expect(existsSync(data)).toBe(false);
    expect(await (await fetch(`http://127.0.0.1:${holder.port}/`)).text()).toBe("mine");
  } finally {
    holder.stop(true);
  }
});

test("acu config: each setting's value and origin (flag, variable, .env, default), secrets masked, engines; --json too", async () => {
  const cwd = join(dir, "config-cwd");
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, ".env"), "ACU_VIEWER_TOKEN=viewer-token-from-dotenv-R5nfe7EfF-PdOgXK45zp04gX3ItFfF4R\nACU_SINK_FLUSH_MS=250\n");
  const env = { ACU_DATA_DIR: join(dir, "config-data"), ACU_DATABASE_URL: "postgres://acu:hunter2@db:5432/acu" };
  const r = await acu(["config", "--port", "9123"], { cwd, env, boundMs: 10_000 });
  expect([r.code, r.err]).toEqual([0, ""]);
  const row = (name: string) =>
    r.out
      .split("\n")
      .find((l) => l.startsWith(`  ${name} `))
      ?.trim()
      .split(/\s{2,}/);
  expect(row("ACU_HTTP_PORT")).toEqual(["ACU_HTTP_PORT", "--port", "flag", "9123"]);
  expect(row("ACU_DATA_DIR")).toEqual(["ACU_DATA_DIR", "--data-dir", "variable", join(dir, "config-data")]);
  expect(row("ACU_VIEWER_TOKEN")).toEqual(["ACU_VIEWER_TOKEN", ".env", "****"]);
  expect(row("ACU_SINK_FLUSH_MS")).toEqual(["ACU_SINK_FLUSH_MS", ".env", "250"]);
  expect(row("ACU_SINK_FLUSH_RECORDS")).toEqual(["ACU_SINK_FLUSH_RECORDS", "default", "50000"]);
  expect(row("ACU_DATABASE_URL")).toEqual(["ACU_DATABASE_URL", "variable", "postgres://acu:***@db:5432/acu"]);
  expect(r.out).toContain(`  bus         embedded log in ${join(dir, "config-data", "bus")}`);
  expect(r.out).toContain(`note: ACU_VIEWER_TOKEN, ACU_SINK_FLUSH_MS come from ${join(cwd, ".env")}`);
  expect(r.out).toContain("static tokens (ACU_VIEWER_TOKEN) from that file turn the demo tokens off");
  expect(r.out).not.toContain("viewer-token-from-dotenv");
  expect(r.out).not.toContain("hunter2");
  const json = await acu(["config", "--json", "--port", "9123"], { cwd, env, boundMs: 10_000 });
  const parsed = JSON.parse(json.out) as { port: number; sinkFlushMs: number; origins: Record<string, string>; engines: Record<string, string> };
  expect([parsed.port, parsed.sinkFlushMs]).toEqual([9123, 250]);
  expect(parsed.origins).toMatchObject({
    ACU_HTTP_PORT: "flag",
    ACU_DATA_DIR: "variable",
    ACU_VIEWER_TOKEN: ".env",
    ACU_SINK_FLUSH_RECORDS: "default",
    "--role": "default",
  });
  expect(json.out).not.toContain("viewer-token-from-dotenv");
});

let server: AcuProcess;
beforeAll(async () => {
  server = await startAcu({ dataDir: join(dir, "live") });
});
afterAll(async () => {
  await server?.stop();
});

test("acu signal with a wrong token stops at once with the server's message and a non-zero exit", async () => {
  const r = await acu(["signal", "--token", "wrong-token-0123456789", "--target", server.url, "--count", "0", "--rate", "500"], { boundMs: 5_000 });
  console.log(`acu signal --token wrong: exit ${r.code} in ${r.ms} ms`);
  expect({ killed: r.killed, failed: r.code !== 0 }).toEqual({ killed: false, failed: true });
  expect(r.code).toBe(1);
  expect(r.err).toContain(`acu: error: ${server.url} refused the token (HTTP 401): `);
  expect(r.err).toContain("ingest token");
  expect(JSON.parse(r.out.trim().split("\n").pop()!)).toMatchObject({ sent: 0, refused: { status: 401 } });
});

const NO_TOKENS = Object.keys(TOKEN_ENV);

test("a demo start that finds tokens already made says so, and how to list them or make one", async () => {
  const data = join(dir, "demo-again");
  const first = await startAcu({ dataDir: data, unset: NO_TOKENS });
  await eventually("the demo banner", async () => first.output().includes("demo mode"), 10_000);
  expect(await first.stop()).toBe(0);
  const again = await startAcu({ dataDir: data, unset: NO_TOKENS });
  try {
    await eventually("the tokens notice", async () => again.output().includes("acu token create --scope viewer"), 10_000);
    const out = again.output();
    expect(out).toContain("tokens: none is configured; the token store holds 3 made earlier");
    expect(out).toContain("acu token list");
    expect(out).not.toContain("demo mode");
    expect(out).not.toMatch(/acu_(ingest|operator|viewer)_/);
  } finally {
    await again.stop();
  }
});

test("a start whose tokens come from a .env file says so (a .env left for compose turns the demo tokens off)", async () => {
  const cwd = join(dir, "dotenv-start");
  mkdirSync(cwd, { recursive: true });
  writeFileSync(
    join(cwd, ".env"),
    "ACU_INGEST_TOKEN=ingest-token-from-dotenv-RiJHwZCvl6BGxVwUMkpkuRJLWvUwIlw7\nACU_VIEWER_TOKEN=viewer-token-from-dotenv-N1OW6dDNCRhK-YK5_xFtQjOq3wYQVB7l\n",
  );
  const p = await startAcu({ dataDir: join(dir, "dotenv-data"), cwd, unset: NO_TOKENS });
  try {
    await eventually("the .env notice", async () => p.output().includes("no demo tokens were made"), 10_000);
    expect(p.output()).toContain(`tokens: ACU_INGEST_TOKEN, ACU_VIEWER_TOKEN come from ${join(cwd, ".env")}`);
    expect(p.output()).not.toContain("demo mode");
    expect(p.output()).not.toContain("token-from-dotenv");
    // And they are the tokens the API takes.
    expect(
      (await fetch(`${p.url}/api/thresholds`, { headers: { authorization: "Bearer viewer-token-from-dotenv-N1OW6dDNCRhK-YK5_xFtQjOq3wYQVB7l" } })).status,
    ).toBe(200);
  } finally {
    await p.stop();
  }
});

test("demo mode is refused off a laptop: on --host 0.0.0.0, or beside a shared engine; exit 2 naming why and what to set, no token made", async () => {
  // A shared engine needs no running server here: the refusal comes before any role opens it.
  const cases: Array<[string, string[], Record<string, string>, string]> = [
    ["host 0.0.0.0", ["--host", "0.0.0.0"], {}, "not on host 0.0.0.0"],
    ["host ::", ["--host", "::"], {}, "not on host ::"],
    ["shared bus", [], { ACU_KAFKA_BROKERS: `127.0.0.1:${freePort()}` }, "not with shared engines (bus)"],
    ["both", ["--host", "0.0.0.0"], { ACU_KAFKA_BROKERS: `127.0.0.1:${freePort()}` }, "not on host 0.0.0.0 and with shared engines (bus)"],
  ];
  for (const [name, args, env, why] of cases) {
    const data = join(dir, `demo-refused-${name.replace(/\W/g, "")}`);
    const r = await acu(args, { env: { ACU_DATA_DIR: data, ACU_HTTP_PORT: String(freePort()), ...env }, boundMs: 15_000 });
    console.log(`demo ${name}: exit ${r.code} in ${r.ms} ms`);
    expect({ name, code: r.code, killed: r.killed }).toEqual({ name, code: 2, killed: false });
    expect(r.err).toContain("demo mode (tokens made and printed in the log) runs only with the embedded engines on a loopback host");
    expect(r.err).toContain(why);
    expect(r.err).toContain("Set ACU_INGEST_TOKEN, ACU_OPERATOR_TOKEN and ACU_VIEWER_TOKEN");
    expect(r.err).toContain("ACU_DEMO=1");
    expect(`${r.out}${r.err}`).not.toMatch(/acu_(ingest|operator|viewer)_/);
    expect(existsSync(join(data, "tokens.json"))).toBe(false);
  }
});

test("ACU_DEMO=1 on --host 0.0.0.0: demo tokens are made, with a loud warning on stderr and in the log", async () => {
  const p = await startAcu({ dataDir: join(dir, "demo-loud"), unset: NO_TOKENS, args: ["--host", "0.0.0.0"], env: { ACU_DEMO: "1" } });
  try {
    await eventually("the demo banner", async () => p.output().includes("demo mode"), 10_000);
    const out = p.output();
    expect(out).toContain("WARNING: demo mode on host 0.0.0.0 (ACU_DEMO=1): the tokens below open this API to whoever reads this output");
    expect(out).toMatch(/^\s+viewer\s+acu_viewer_[A-Za-z0-9_-]{43}\s/m);
    const warned = p
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string | number; msg: string })
      .find((l) => l.msg.startsWith("WARNING: demo mode"));
    expect(warned?.level).toBe("warn");
  } finally {
    await p.stop();
  }
});

test("a fresh embedded log beside an old lake: the sink refuses to start (exit 1, naming both), acu lake status says why, acu lake adopt-bus lets it go on", async () => {
  const data = join(dir, "rebound");
  const first = await startAcu({ dataDir: data, args: ["--role=ingest,sink"], env: { ACU_SINK_FLUSH_MS: "100" } });
  const reports = Array.from({ length: 40 }, (_, i) => ({
    reportId: `rebound-${i}`,
    studentId: `s${i}`,
    exerciseId: "ex1",
    score: 50,
    latitude: 48.85,
    longitude: 2.35,
    timestamp: Date.UTC(2026, 11, 2, 9) + i,
  }));
  expect((await postReports(first.url, reports)).status).toBe(202);
  await eventually("the lake's first file", async () => existsSync(join(data, "lake", "reports")));
  expect(await first.stop()).toBe(0);
  // The log is gone (a fresh data dir's, a restored disk...), the lake stays.
  rmSync(join(data, "bus"), { recursive: true, force: true });
  const env = { ACU_DATA_DIR: data, ...TOKEN_ENV };
  const refused = await acu(["--role=sink"], { env, boundMs: 30_000 });
  expect(refused.killed).toBe(false);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/the lake was written from embedded [0-9a-f-]{36} .*this sink reads embedded [0-9a-f-]{36}.*acu lake adopt-bus/);
  const status = await acu(["lake", "status"], { env });
  expect(status.code).toBe(0);
  const s = JSON.parse(status.out) as { sinkWouldStart: boolean; problems: string[]; epochs: unknown[] };
  expect(s.sinkWouldStart).toBe(false);
  expect(s.epochs.length).toBe(1);
  const adopted = await acu(["lake", "adopt-bus"], { env });
  expect(adopted.code).toBe(0);
  expect(adopted.out).toContain("the lake now continues from embedded");
  expect(JSON.parse((await acu(["lake", "status"], { env })).out).sinkWouldStart).toBe(true);
  // Adopting again: nothing to adopt, a failure (exit 1).
  const again = await acu(["lake", "adopt-bus"], { env });
  expect(again.code).toBe(1);
  expect(again.err).toContain("nothing to adopt");
  const second = await startAcu({ dataDir: data, args: ["--role=ingest,sink"], env: { ACU_SINK_FLUSH_MS: "100" } });
  expect(await second.stop()).toBe(0);
});
