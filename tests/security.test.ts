import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SCOPES, type Scope } from "../src/domain/token.ts";
import { cleanup, ENGINE_VARS, eventually, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

/**
 * Scoped tokens against a real acu process: every endpoint × {no token, unknown token, wrong scope, right
 * scope}; tokens created and revoked with the CLI beside the running server; the ingest rate limit; the
 * alert-stream cap; demo mode; no secret in the logs.
 */
const RATE = 200; // reports/s per token → burst 400
const WS_CAP = 3;
let dir: string;
let acu: AcuProcess;

beforeAll(async () => {
  dir = tempDir("security");
  acu = await startAcu({ dataDir: dir, env: { ACU_INGEST_RATE_LIMIT: String(RATE), ACU_WS_PER_TOKEN: String(WS_CAP) } });
}, 90_000);
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

const report = (i: number) => ({ studentId: `sec-${i}`, exerciseId: "sec.ex", score: 80, latitude: 48.85, longitude: 2.35, timestamp: Date.now() });
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

/** Runs `acu token …` as its own process on the server's data dir (or `engines`), as an operator would. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith({}, ...args);
}
async function cliWith(engines: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env: Record<string, string | undefined> = { ...process.env, ACU_DATA_DIR: dir };
  for (const k of ENGINE_VARS) delete env[k];
  Object.assign(env, engines);
  const p = Bun.spawn({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "token", ...args], env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

interface Endpoint {
  method: string;
  path: string;
  needs: Scope;
  body?: unknown;
}
const ENDPOINTS: Endpoint[] = [
  { method: "POST", path: "/api/reports", needs: "ingest", body: report(0) },
  { method: "GET", path: "/api/thresholds", needs: "viewer" },
  { method: "PUT", path: "/api/thresholds/sec.ex", needs: "operator", body: { threshold: 40 } },
  { method: "DELETE", path: "/api/thresholds/sec.ex", needs: "operator" },
  { method: "PUT", path: "/api/thresholds", needs: "operator", body: { default: 50 } },
  { method: "GET", path: "/api/alerts", needs: "viewer" },
  { method: "GET", path: "/api/analytics/exercises", needs: "viewer" },
  { method: "GET", path: "/api/analytics/hotspots?exerciseId=sec.ex", needs: "viewer" },
  { method: "GET", path: "/api/analytics/regions", needs: "viewer" },
  { method: "GET", path: "/api/analytics/runs", needs: "viewer" },
  { method: "POST", path: "/api/analytics/runs", needs: "operator" },
];
const allowed: Record<Scope, Scope[]> = { ingest: ["ingest"], operator: ["operator"], viewer: ["viewer", "operator"] };

const call = (e: Endpoint, headers: Record<string, string>) =>
  fetch(`${acu.url}${e.path}`, { method: e.method, headers: { "content-type": "application/json", ...headers }, body: e.body === undefined ? undefined : JSON.stringify(e.body) });

test("every endpoint: 401 without a token or with an unknown one, 403 with a wrong scope, 2xx with the right one", async () => {
  for (const e of ENDPOINTS) {
    const name = `${e.method} ${e.path}`;
    for (const [what, headers] of [
      ["none", {}],
      ["unknown", bearer(`acu_${e.needs}_${"x".repeat(43)}`)],
      ["malformed", { authorization: "Basic dXNlcjpwYXNz" }],
    ] as const) {
      const r = await call(e, headers);
      const body = (await r.json()) as { error: string; scope: string };
      expect({ name, what, status: r.status, scope: body.scope, www: r.headers.get("www-authenticate")?.startsWith("Bearer realm=\"acu\"") }).toEqual({ name, what, status: 401, scope: e.needs, www: true });
      expect(body.error).toContain(`${e.needs} token`);
    }
    for (const scope of SCOPES) {
      const r = await call(e, bearer(TOKENS[scope]));
      const ok = allowed[e.needs].includes(scope);
      if (ok) expect({ name, scope, ok: r.status >= 200 && r.status < 300 }).toEqual({ name, scope, ok: true });
      else {
        const body = (await r.json()) as { error: string; scope: string };
        expect({ name, scope, status: r.status, needs: body.scope }).toEqual({ name, scope, status: 403, needs: e.needs });
        expect(body.error).toContain(`has the ${scope} scope`);
      }
    }
  }
}, 60_000);

test("open without a token: health, readiness, metrics, the dashboard's files and the API contract", async () => {
  for (const path of ["/healthz", "/readyz", "/metrics", "/", "/assets/app.js", "/assets/style.css", "/api/openapi.json"]) {
    const r = await fetch(`${acu.url}${path}`);
    expect({ path, status: r.status }).toEqual({ path, status: 200 });
  }
  const doc = (await (await fetch(`${acu.url}/api/openapi.json`)).json()) as { components: { securitySchemes: Record<string, unknown> } };
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["ingest", "operator", "viewer"]);
});

test("alert stream: token by header or by subprotocol (echoed), never by query string; wrong scope 403", async () => {
  const ws = `${acu.url.replace("http", "ws")}/api/alerts/stream`;
  expect((await fetch(`${acu.url}/api/alerts/stream`)).status).toBe(401);
  expect((await fetch(`${acu.url}/api/alerts/stream?token=${TOKENS.viewer}`)).status).toBe(401);
  expect((await fetch(`${acu.url}/api/alerts/stream?access_token=${TOKENS.viewer}`)).status).toBe(401);
  expect((await fetch(`${acu.url}/api/alerts/stream`, { headers: bearer(TOKENS.ingest) })).status).toBe(403);
  expect((await fetch(`${acu.url}/api/alerts/stream`, { headers: { "sec-websocket-protocol": `acu.bearer.${TOKENS.ingest}` } })).status).toBe(403);
  // Authorized, but not a WebSocket request.
  expect((await fetch(`${acu.url}/api/alerts/stream`, { headers: bearer(TOKENS.viewer) })).status).toBe(426);

  const hello = (s: WebSocket) =>
    new Promise<string>((resolve, reject) => {
      s.onmessage = (m) => {
        if (JSON.parse(String(m.data)).type === "hello") resolve("hello");
      };
      s.onerror = () => reject(new Error("socket failed"));
      s.onclose = (c) => reject(new Error(`closed ${c.code}`));
    });
  // Non-browser clients: a header (Bun's WebSocket takes headers).
  const byHeader = new WebSocket(ws, { headers: { authorization: `Bearer ${TOKENS.viewer}` } } as unknown as string[]);
  expect(await hello(byHeader)).toBe("hello");
  byHeader.close();
  // Browsers: the subprotocol, which the server names back (RFC 6455).
  const byProtocol = new WebSocket(ws, [`acu.bearer.${TOKENS.operator}`]);
  expect(await hello(byProtocol)).toBe("hello");
  expect(byProtocol.protocol).toBe(`acu.bearer.${TOKENS.operator}`);
  byProtocol.close();
  const refused = new WebSocket(`${ws}?token=${TOKENS.viewer}`);
  expect(await hello(refused).catch((e: Error) => e.message)).not.toBe("hello");
});

test("a token created with the CLI beside the running server works; revoked, it gets 401 within the bound (1 s)", async () => {
  const bad = await cli("create", "--scope", "root");
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--scope must be one of ingest, operator, viewer");
  const missing = await cli("revoke");
  expect(missing.code).toBe(2);
  expect(missing.err).toContain("needs a token id");

  const created = await cli("create", "--scope", "viewer", "--label", "security test");
  expect(created.code).toBe(0);
  const t = JSON.parse(created.out) as { id: string; scope: string; token: string; label: string };
  expect(t.token).toMatch(/^acu_viewer_[A-Za-z0-9_-]{43}$/);
  expect(t.label).toBe("security test");
  const get = () => fetch(`${acu.url}/api/thresholds`, { headers: bearer(t.token) }).then((r) => r.status);
  await eventually("the new token to be accepted", async () => (await get()) === 200, 2000, 20);
  // Its scope is viewer: no operator calls.
  expect((await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: bearer(t.token), body: JSON.stringify({ default: 50 }) })).status).toBe(403);

  const listed = await cli("list");
  expect(listed.out).toContain(t.id);
  expect(listed.out).not.toContain(t.token);

  const revoked = await cli("revoke", t.id);
  expect(revoked.code).toBe(0);
  const t0 = Date.now();
  await eventually("the revoked token to be refused", async () => (await get()) === 401, 5000, 20);
  const ms = Date.now() - t0;
  console.log(`revocation applied ${ms} ms after acu token revoke returned`);
  expect(ms).toBeLessThanOrEqual(1000);
  expect((await cli("revoke", t.id)).code).toBe(1);
}, 60_000);

test("ingest rate limit: counted in reports per token; over it 429 with Retry-After, other tokens unaffected, then recovers", async () => {
  const created = JSON.parse((await cli("create", "--scope", "ingest", "--label", "rate")).out) as { token: string };
  await eventually("the ingest token to be accepted", async () => (await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(created.token), body: "[]" })).status === 400, 2000, 20);
  const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => report(i)));
  const statuses: number[] = [];
  let limited: Response | null = null;
  // Burst = 2 s worth = 400 reports: four batches of 100 pass at once, the fifth or sixth does not.
  for (let i = 0; i < 6 && !limited; i++) {
    const r = await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(created.token), body: batch(100) });
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  expect(statuses.slice(0, 4)).toEqual([202, 202, 202, 202]);
  expect(limited).not.toBeNull();
  const retry = Number(limited!.headers.get("retry-after"));
  expect(Number.isInteger(retry) && retry >= 1).toBe(true);
  expect(((await limited!.json()) as { error: string }).error).toContain("reports/s");
  // The static ingest token has its own bucket.
  expect((await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(TOKENS.ingest), body: batch(100) })).status).toBe(202);
  // One batch bigger than the burst is taken from a full bucket rather than refused forever.
  await Bun.sleep(retry * 1000);
  expect((await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(created.token), body: batch(100) })).status).toBe(202);
}, 60_000);

test("alert stream cap: ACU_WS_PER_TOKEN sockets per token, then 429 before the upgrade; a closed one frees a place", async () => {
  const created = JSON.parse((await cli("create", "--scope", "viewer", "--label", "ws cap")).out) as { token: string };
  const url = `${acu.url.replace("http", "ws")}/api/alerts/stream`;
  await eventually("the viewer token to be accepted", async () => (await fetch(`${acu.url}/api/alerts`, { headers: bearer(created.token) })).status === 200, 2000, 20);
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(url, [`acu.bearer.${created.token}`]);
      s.onmessage = (m) => JSON.parse(String(m.data)).type === "hello" && resolve(s);
      s.onerror = () => reject(new Error("refused"));
    });
  const sockets: WebSocket[] = [];
  for (let i = 0; i < WS_CAP; i++) sockets.push(await open());
  const over = await fetch(`${acu.url}/api/alerts/stream`, { headers: bearer(created.token) });
  expect(over.status).toBe(429);
  expect(((await over.json()) as { error: string }).error).toContain("ACU_WS_PER_TOKEN");
  expect(await open().then(() => "opened", (e: Error) => e.message)).toBe("refused");
  // Another token is not affected.
  expect((await fetch(`${acu.url}/api/alerts/stream`, { headers: bearer(TOKENS.viewer) })).status).toBe(426);
  sockets.pop()!.close();
  const again = await eventually("a place to free up", () => open().catch(() => null), 5000, 50);
  again.close();
  for (const s of sockets) s.close();
}, 60_000);

test("no secret in the server's output: static tokens and created tokens never appear", async () => {
  const out = acu.output();
  for (const t of Object.values(TOKENS)) expect(out).not.toContain(t);
  expect(out).not.toMatch(/acu_(ingest|operator|viewer)_[A-Za-z0-9_-]{20}/);
});

test("demo mode: with no token configured, one token per scope is printed once, with the dashboard URL, and each works with its scope", async () => {
  const demoDir = tempDir("security-demo");
  const demo = await startAcu({ dataDir: demoDir, env: { ACU_INGEST_TOKEN: "", ACU_OPERATOR_TOKEN: "", ACU_ADMIN_TOKEN: "", ACU_VIEWER_TOKEN: "" } });
  try {
    const out = demo.output();
    const found = Object.fromEntries(SCOPES.map((s) => [s, new RegExp(`^\\s+${s}\\s+(acu_${s}_[A-Za-z0-9_-]{43})\\s`, "m").exec(out)?.[1]])) as Record<Scope, string>;
    for (const s of SCOPES) expect(found[s]).toBeString();
    expect(out).toContain(`dashboard: ${demo.url}/#token=${found.viewer}`);
    // Printed once (the viewer's twice: its line and the dashboard URL), nowhere else.
    const count = (s: string) => out.split(s).length - 1;
    expect([count(found.ingest), count(found.operator), count(found.viewer)]).toEqual([1, 1, 2]);
    expect(out).not.toContain("operator token generated");
    for (const e of ENDPOINTS)
      for (const s of SCOPES) {
        const r = await fetch(`${demo.url}${e.path}`, { method: e.method, headers: bearer(found[s]), body: e.body === undefined ? undefined : JSON.stringify(e.body) });
        expect({ e: `${e.method} ${e.path}`, s, status: allowed[e.needs].includes(s) ? r.status < 300 : r.status }).toEqual({ e: `${e.method} ${e.path}`, s, status: allowed[e.needs].includes(s) ? true : 403 });
      }
    // A restart finds tokens in the store: no new demo tokens.
    expect(await demo.stop()).toBe(0);
    const again = await startAcu({ dataDir: demoDir, env: { ACU_INGEST_TOKEN: "", ACU_OPERATOR_TOKEN: "", ACU_ADMIN_TOKEN: "", ACU_VIEWER_TOKEN: "" } });
    expect(again.output()).not.toContain("demo mode");
    expect(again.output()).not.toMatch(/acu_(ingest|operator|viewer)_/);
    expect((await fetch(`${again.url}/api/thresholds`, { headers: bearer(found.viewer) })).status).toBe(200);
    await again.stop();
  } finally {
    await demo.stop();
    cleanup(demoDir);
  }
}, 120_000);

const ETCD = process.env.ACU_ETCD_ENDPOINTS;
describe.skipIf(!ETCD)("with the token store in etcd (ACU_ETCD_ENDPOINTS)", () => {
  test("a token created and revoked with the CLI applies to a running server within the bound (5 s)", async () => {
    const run = `/acu-test/security-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const engines = { ACU_ETCD_ENDPOINTS: ETCD!, ACU_ETCD_PREFIX: `${run}/thresholds/`, ACU_ETCD_TOKEN_PREFIX: `${run}/tokens/` };
    const etcdDir = tempDir("security-etcd");
    const server = await startAcu({ dataDir: etcdDir, env: engines });
    try {
      const created = await cliWith(engines, "create", "--scope", "operator", "--label", "etcd");
      expect(created.code).toBe(0);
      const t = JSON.parse(created.out) as { id: string; token: string };
      const put = () => fetch(`${server.url}/api/thresholds`, { method: "PUT", headers: bearer(t.token), body: JSON.stringify({ default: 50 }) }).then((r) => r.status);
      await eventually("the etcd token to be accepted", async () => (await put()) === 200, 5000, 20);
      expect((await cliWith(engines, "list")).out).toContain(t.id);
      expect((await cliWith(engines, "revoke", t.id)).code).toBe(0);
      const t0 = Date.now();
      await eventually("the revoked etcd token to be refused", async () => (await put()) === 401, 10_000, 20);
      const ms = Date.now() - t0;
      console.log(`etcd: revocation applied ${ms} ms after acu token revoke returned`);
      expect(ms).toBeLessThanOrEqual(5000);
      for (const v of Object.values(TOKENS)) expect(server.output()).not.toContain(v);
      expect(server.output()).not.toContain(t.token);
    } finally {
      await server.stop();
      cleanup(etcdDir);
      const { Etcd3 } = await import("etcd3");
      const c = new Etcd3({ hosts: ETCD!.split(",") });
      await c.delete().prefix(`${run}/`).catch(() => {});
      c.close();
    }
  }, 120_000);
});
