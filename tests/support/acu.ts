import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "../..");
/**
 * One static token per scope (ACU_INGEST_TOKEN, ACU_OPERATOR_TOKEN, ACU_VIEWER_TOKEN) for every test
 * process: random ones (32 base64url characters after the prefix), as acu refuses guessable static tokens.
 */
export const TOKENS = {
  ingest: "test-ingest-JALdaZ2UfPa1iTTzoK4Ec0baxSDkXnin",
  operator: "test-operator-FzMEfTDDB4qynW8nvtrM64epFdpqMV4T",
  viewer: "test-viewer-K47OAFTSn6Rv14OSuRcgwp1Td3bsweK_",
} as const;
export const TOKEN = TOKENS.operator;
export const TOKEN_ENV = {
  ACU_ADMIN_TOKEN: TOKENS.operator,
  ACU_OPERATOR_TOKEN: TOKENS.operator,
  ACU_INGEST_TOKEN: TOKENS.ingest,
  ACU_VIEWER_TOKEN: TOKENS.viewer,
};
export const ENGINE_VARS = ["ACU_KAFKA_BROKERS", "ACU_ETCD_ENDPOINTS", "ACU_DATABASE_URL", "ACU_HDFS_URL", "ACU_SPARK_MASTER"];

/** A free loopback port: bind 0, read it, release it. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `acu-${prefix}-`));
}

export interface AcuProcess {
  proc: Subprocess;
  url: string;
  port: number;
  dataDir: string;
  output: () => string;
  /** What the process wrote on stdout alone (its log lines). */
  stdout: () => string;
  stop(signal?: NodeJS.Signals | number): Promise<number>;
}

/** Starts acu as a real OS process (bun run src/main.ts, or a given command) and waits for /readyz. */
export async function startAcu(opts: {
  dataDir: string;
  env?: Record<string, string>;
  args?: string[];
  cmd?: string[];
  cwd?: string;
  port?: number;
  unset?: string[];
}): Promise<AcuProcess> {
  const port = opts.port ?? freePort();
  let out = "";
  // Engine endpoints exported for the contract suites must not leak into a process meant to run embedded.
  const inherited = { ...process.env };
  for (const k of ENGINE_VARS) delete inherited[k];
  const env: Record<string, string | undefined> = {
    ...inherited,
    ACU_HTTP_PORT: String(port),
    ACU_DATA_DIR: opts.dataDir,
    ...TOKEN_ENV,
    ACU_ANALYZER_SCHEDULE: "off",
    // The tests send exercises of their own, many reports of one student as fast as they can: the
    // catalogue's and the limits' own tests (tests/catalogue.test.ts) and the demo's (e2e-demo) run the defaults.
    ACU_EXERCISES: "open",
    ACU_INGEST_STUDENT_RATE_LIMIT: "0",
    ...opts.env,
  };
  // Absent, not empty: a .env file in the working directory fills only variables that are absent.
  for (const k of opts.unset ?? []) delete env[k];
  const proc = Bun.spawn({
    cmd: [...(opts.cmd ?? [process.execPath, "run", join(ROOT, "src/main.ts")]), ...(opts.args ?? [])],
    cwd: opts.cwd ?? ROOT,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  let stdout = "";
  const pump = async (s: ReadableStream<Uint8Array>, also?: (text: string) => void) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      const text = dec.decode(chunk, { stream: true });
      out += text;
      also?.(text);
    }
  };
  const pumped = Promise.all([pump(proc.stdout as ReadableStream<Uint8Array>, (t) => (stdout += t)), pump(proc.stderr as ReadableStream<Uint8Array>)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  // A process without an HTTP role is ready once it says it runs its roles.
  const role = (opts.args ?? []).find((a) => a.startsWith("--role="))?.slice(7);
  const listens = !role || role === "all" || /\b(http|ingest)\b/.test(role);
  for (;;) {
    if (proc.exitCode !== null) {
      // Its last words may still be in the pipes when the exit is seen.
      await pumped;
      throw new Error(`acu exited with ${proc.exitCode} before it was ready:\n${out}`);
    }
    if (!listens && out.includes("running roles")) break;
    try {
      if (listens && (await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill(9);
      throw new Error(`acu was not ready within 60 s:\n${out}`);
    }
    await Bun.sleep(100);
  }
  return {
    proc,
    url,
    port,
    dataDir: opts.dataDir,
    output: () => out,
    stdout: () => stdout,
    async stop(signal: NodeJS.Signals | number = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const operator = { authorization: `Bearer ${TOKENS.operator}`, "content-type": "application/json" };
export const ingest = { authorization: `Bearer ${TOKENS.ingest}`, "content-type": "application/json" };
export const viewer = { authorization: `Bearer ${TOKENS.viewer}` };

export async function postReports(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/reports`, { method: "POST", headers: ingest, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Waits until `check` returns a truthy value or the time runs out (then throws with `what`). */
export async function eventually<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await Bun.sleep(everyMs);
  }
}

/**
 * A WebSocket sending `Authorization: Bearer <token>` (viewer by default). Bun's WebSocket takes headers,
 * which the DOM typings do not know; browsers send the token as the `acu.bearer.<token>` subprotocol instead.
 */
export function authedWebSocket(url: string, token: string = TOKENS.viewer): WebSocket {
  return new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as unknown as string[]);
}
