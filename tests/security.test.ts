import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SCOPES, UNBOUND_SCOPES, type Scope } from "../src/domain/token.ts";
import { cleanup, ENGINE_VARS, eventually, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

/**
 * Scoped tokens against a real acu process: every endpoint × {no token, unknown token, wrong scope, right
 * scope}; a patrol token acting for its own patrol only; tokens created and revoked with the CLI beside the
 * running server; the ingest rate limit; the stream cap; demo mode; no secret in the logs.
 */
const RATE = 200; // reports/s per token → burst 400
const WS_CAP = 3;
let dir: string;
let acu: AcuProcess;

/** The patrol token of the matrix (sec-p1's), created with the CLI once the server runs. */
let patrolToken = "";
const P1 = "sec-p1";
const P2 = "sec-p2";
const tokenOf = (scope: Scope) => (scope === "patrol" ? patrolToken : TOKENS[scope]);

beforeAll(async () => {
  dir = tempDir("security");
  acu = await startAcu({ dataDir: dir, env: { ACU_INGEST_RATE_LIMIT: String(RATE), ACU_WS_PER_TOKEN: String(WS_CAP) } });
  const created = await cli("create", "--scope", "patrol", "--patrol", P1, "--label", "security matrix");
  expect(created.code).toBe(0);
  patrolToken = (JSON.parse(created.out) as { token: string }).token;
  // P1 takes every incident of the matrix; P2 exists (its routes are refused to P1's token) but is off duty.
  for (const [id, lat] of [
    [P1, 48.85],
    [P2, 43.3],
  ] as const)
    expect(
      (
        await fetch(`${acu.url}/api/patrols/${id}`, {
          method: "PUT",
          headers: bearer(TOKENS.operator),
          body: JSON.stringify({ name: id, latitude: lat, longitude: 2.35 }),
        })
      ).status,
    ).toBe(200);
  expect((await fetch(`${acu.url}/api/patrols/${P2}`, { method: "DELETE", headers: bearer(TOKENS.operator) })).status).toBe(200);
  await eventually(
    "the patrol token to be accepted",
    async () =>
      (await fetch(`${acu.url}/api/patrols/${P1}/position`, { method: "POST", headers: bearer(patrolToken), body: '{"latitude": 48.85, "longitude": 2.35}' }))
        .status === 200,
    2000,
    20,
  );
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
  /** Puts the state the call needs in place before each allowed call, and gives its path. */
  fresh?: () => Promise<string>;
}

/** The operator's call, answering its JSON (status checked). */
async function asOperator<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
  const r = await fetch(`${acu.url}${path}`, { method, headers: bearer(TOKENS.operator), body: body === undefined ? undefined : JSON.stringify(body) });
  expect({ method, path, status: r.status }).toEqual({ method, path, status });
  return (await r.json()) as T;
}

let student = 0;
/**
 * An incident held by `patrolId` in the given state: what it held and the incidents left open are
 * cancelled, a failing report raises a new one (the assigner gives it to the only available patrol), and
 * the operator walks it to the state.
 */
async function incidentHeld(patrolId: string, state: "assigned" | "acknowledged" | "en-route" | "on-site"): Promise<string> {
  type Inc = { incidentId: string; studentId: string; patrolId: string | null; state: string };
  const { incidents } = await asOperator<{ incidents: Inc[] }>("GET", "/api/incidents?state=open,assigned,acknowledged,en-route,on-site");
  for (const i of incidents)
    if (i.state === "open" || i.patrolId === patrolId) await asOperator("POST", `/api/incidents/${i.incidentId}/cancel`, { note: "security test" });
  const studentId = `sec-inc-${student++}`;
  const report = { studentId, exerciseId: "sec.dispatch", score: 10, latitude: 48.85, longitude: 2.35, timestamp: Date.now() };
  expect((await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(TOKENS.ingest), body: JSON.stringify(report) })).status).toBe(202);
  const inc = await eventually(
    `${studentId}'s incident held by ${patrolId}`,
    async () => {
      const { incidents } = await asOperator<{ incidents: Inc[] }>("GET", "/api/incidents?state=assigned");
      return incidents.find((i) => i.studentId === studentId && i.patrolId === patrolId);
    },
    10_000,
    20,
  );
  const steps = ["acknowledge", "en-route", "arrive"];
  for (const step of steps.slice(0, ["assigned", "acknowledged", "en-route", "on-site"].indexOf(state)))
    await asOperator("POST", `/api/incidents/${inc.incidentId}/${step}`);
  return inc.incidentId;
}
const anyIncident = { id: "" };
const incidentStep = (step: string, from: Parameters<typeof incidentHeld>[1], body?: unknown): Endpoint => ({
  method: "POST",
  path: `/api/incidents/inc-x/${step}`,
  needs: "patrol",
  body,
  fresh: async () => `/api/incidents/${await incidentHeld(P1, from)}/${step}`,
});
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
  { method: "PUT", path: "/api/patrols/sec-p3", needs: "operator", body: { name: "Three", latitude: 44.8, longitude: -0.58 } },
  { method: "GET", path: "/api/patrols", needs: "viewer" },
  { method: "POST", path: `/api/patrols/${P1}/position`, needs: "patrol", body: { latitude: 48.86, longitude: 2.34 } },
  { method: "DELETE", path: "/api/patrols/sec-p3", needs: "operator" },
  { method: "GET", path: "/api/incidents?state=open&limit=5", needs: "viewer" },
  {
    method: "GET",
    path: "/api/incidents/inc-x",
    needs: "viewer",
    fresh: async () => `/api/incidents/${(anyIncident.id ||= await incidentHeld(P1, "assigned"))}`,
  },
  incidentStep("acknowledge", "assigned"),
  incidentStep("en-route", "acknowledged"),
  incidentStep("arrive", "en-route"),
  incidentStep("resolve", "on-site", { note: "done" }),
  {
    method: "POST",
    path: "/api/incidents/inc-x/reassign",
    needs: "operator",
    body: {},
    fresh: async () => `/api/incidents/${await incidentHeld(P1, "assigned")}/reassign`,
  },
  {
    method: "POST",
    path: "/api/incidents/inc-x/cancel",
    needs: "operator",
    body: { note: "x" },
    fresh: async () => `/api/incidents/${await incidentHeld(P1, "acknowledged")}/cancel`,
  },
];
const allowed: Record<Scope, Scope[]> = { ingest: ["ingest"], operator: ["operator"], viewer: ["viewer", "operator"], patrol: ["patrol", "operator"] };

const call = (e: Endpoint, headers: Record<string, string>, path = e.path) =>
  fetch(`${acu.url}${path}`, {
    method: e.method,
    headers: { "content-type": "application/json", ...headers },
    body: e.body === undefined ? undefined : JSON.stringify(e.body),
  });

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
      expect({ name, what, status: r.status, scope: body.scope, www: r.headers.get("www-authenticate")?.startsWith('Bearer realm="acu"') }).toEqual({
        name,
        what,
        status: 401,
        scope: e.needs,
        www: true,
      });
      expect(body.error).toContain(`${e.needs} token`);
    }
    for (const scope of SCOPES) {
      const ok = allowed[e.needs].includes(scope);
      const r = await call(e, bearer(tokenOf(scope)), ok && e.fresh ? await e.fresh() : e.path);
      if (ok) expect({ name, scope, ok: r.status >= 200 && r.status < 300 }).toEqual({ name, scope, ok: true });
      else {
        const body = (await r.json()) as { error: string; scope: string };
        expect({ name, scope, status: r.status, needs: body.scope }).toEqual({ name, scope, status: 403, needs: e.needs });
        expect(body.error).toContain(`has the ${scope} scope`);
      }
    }
  }
}, 120_000);

test("a patrol token acts for its own patrol only: on another patrol's position, stream and incident 403; the operator acts for any", async () => {
  // P2 on duty takes the next incident (P1 holds one).
  await incidentHeld(P1, "assigned");
  await asOperator("PUT", `/api/patrols/${P2}`, { name: P2, latitude: 43.3, longitude: 5.37 });
  const studentId = `sec-p2-${Date.now()}`;
  await fetch(`${acu.url}/api/reports`, {
    method: "POST",
    headers: bearer(TOKENS.ingest),
    body: JSON.stringify({ studentId, exerciseId: "sec.dispatch", score: 5, latitude: 43.3, longitude: 5.37, timestamp: Date.now() }),
  });
  const theirs = await eventually(
    "P2's incident",
    async () =>
      (
        await asOperator<{ incidents: Array<{ incidentId: string; studentId: string; patrolId: string }> }>("GET", "/api/incidents?state=assigned")
      ).incidents.find((i) => i.studentId === studentId && i.patrolId === P2),
    10_000,
    20,
  );
  const refusals: Array<[string, string]> = [
    ["POST", `/api/patrols/${P2}/position`],
    ["GET", `/api/patrols/${P2}/stream`],
    ["POST", `/api/incidents/${theirs.incidentId}/acknowledge`],
    ["POST", `/api/incidents/${theirs.incidentId}/en-route`],
    ["PUT", `/api/patrols/${P1}`],
    ["POST", `/api/incidents/${theirs.incidentId}/cancel`],
    ["GET", "/api/incidents"],
    ["GET", "/api/alerts/stream"],
  ];
  for (const [method, path] of refusals) {
    const r = await fetch(`${acu.url}${path}`, {
      method,
      headers: bearer(patrolToken),
      body: method === "GET" ? undefined : '{"latitude": 1, "longitude": 1, "name": "x"}',
    });
    expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
  }
  const ack = await fetch(`${acu.url}/api/incidents/${theirs.incidentId}/acknowledge`, { method: "POST", headers: bearer(TOKENS.operator) });
  expect(ack.status).toBe(200);
  expect(
    (await fetch(`${acu.url}/api/patrols/${P2}/position`, { method: "POST", headers: bearer(TOKENS.operator), body: '{"latitude": 43.31, "longitude": 5.37}' }))
      .status,
  ).toBe(200);
  // While it holds one, off duty is refused with its status.
  const off = await fetch(`${acu.url}/api/patrols/${P2}`, { method: "DELETE", headers: bearer(TOKENS.operator) });
  expect([off.status, ((await off.json()) as { state: string }).state]).toEqual([409, "assigned"]);
  await asOperator("POST", `/api/incidents/${theirs.incidentId}/cancel`, { note: "security test" });
  await asOperator("DELETE", `/api/patrols/${P2}`);
}, 60_000);

test("open without a token: health, readiness, metrics, the dashboard's files and the API contract", async () => {
  for (const path of ["/healthz", "/readyz", "/metrics", "/", "/assets/app.js", "/assets/style.css", "/api/openapi.json"]) {
    const r = await fetch(`${acu.url}${path}`);
    expect({ path, status: r.status }).toEqual({ path, status: 200 });
  }
  const doc = (await (await fetch(`${acu.url}/api/openapi.json`)).json()) as { components: { securitySchemes: Record<string, unknown> } };
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["ingest", "operator", "patrol", "viewer"]);
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

test("dispatch streams: the token by header or by subprotocol (echoed), never by query string; the incident stream is the viewers', a patrol's stream its own or the operator's", async () => {
  const ws = acu.url.replace("http", "ws");
  const incidents = `${acu.url}/api/incidents/stream`;
  const mine = `${acu.url}/api/patrols/${P1}/stream`;
  for (const [url, headers, status] of [
    [incidents, {}, 401],
    [`${incidents}?token=${TOKENS.viewer}`, {}, 401],
    [`${mine}?access_token=${patrolToken}`, {}, 401],
    [incidents, bearer(TOKENS.ingest), 403],
    [incidents, bearer(patrolToken), 403],
    [mine, bearer(TOKENS.viewer), 403],
    [`${acu.url}/api/patrols/${P2}/stream`, { "sec-websocket-protocol": `acu.bearer.${patrolToken}` }, 403],
    [incidents, bearer(TOKENS.viewer), 426],
    [mine, bearer(patrolToken), 426],
  ] as const) {
    const r = await fetch(url, { headers });
    expect({ url: url.replace(acu.url, ""), status: r.status }).toEqual({ url: url.replace(acu.url, ""), status });
  }
  const first = (s: WebSocket, type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      s.onmessage = (m) => {
        const f = JSON.parse(String(m.data));
        if (f.type === type) resolve(f);
      };
      s.onerror = () => reject(new Error("socket failed"));
      s.onclose = (c) => reject(new Error(`closed ${c.code}`));
    });
  const board = new WebSocket(`${ws}/api/incidents/stream`, [`acu.bearer.${TOKENS.viewer}`]);
  expect((await first(board, "hello")).cursor).toBeString();
  expect(board.protocol).toBe(`acu.bearer.${TOKENS.viewer}`);
  board.close();
  const phone = new WebSocket(`${ws}/api/patrols/${P1}/stream`, [`acu.bearer.${patrolToken}`]);
  expect(((await first(phone, "assignment")).patrol as { patrolId: string }).patrolId).toBe(P1);
  phone.close();
  const desk = new WebSocket(`${ws}/api/patrols/${P1}/stream`, { headers: { authorization: `Bearer ${TOKENS.operator}` } } as unknown as string[]);
  expect(((await first(desk, "assignment")).patrol as { patrolId: string }).patrolId).toBe(P1);
  desk.close();
  const refused = new WebSocket(`${ws}/api/patrols/${P1}/stream?token=${patrolToken}`);
  expect(
    await first(refused, "assignment").then(
      () => "opened",
      (e: Error) => e.message,
    ),
  ).not.toBe("opened");
});

test("a token created with the CLI beside the running server works; revoked, it gets 401 within the bound (1 s)", async () => {
  const bad = await cli("create", "--scope", "root");
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--scope must be one of ingest, operator, viewer");
  // A patrol token names its patrol (a patrol id), and only a patrol token does.
  for (const [args, error] of [
    [["--scope", "patrol"], "--patrol: a patrol token needs the patrol it acts for"],
    [["--scope", "patrol", "--patrol", "P1"], '--patrol: "P1" is not a patrol id'],
    [["--scope", "viewer", "--patrol", "p1"], "--patrol: only a patrol token is bound to a patrol"],
  ] as const) {
    const r = await cli("create", ...args);
    expect({ args, code: r.code, err: r.err.includes(error) }).toEqual({ args, code: 2, err: true });
  }
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
  expect(
    listed.out
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { scope: string; patrolId?: string })
      .filter((x) => x.scope === "patrol")
      .map((x) => x.patrolId),
  ).toContain(P1);

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
  await eventually(
    "the ingest token to be accepted",
    async () => (await fetch(`${acu.url}/api/reports`, { method: "POST", headers: bearer(created.token), body: "[]" })).status === 400,
    2000,
    20,
  );
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
  await eventually(
    "the viewer token to be accepted",
    async () => (await fetch(`${acu.url}/api/alerts`, { headers: bearer(created.token) })).status === 200,
    2000,
    20,
  );
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
  expect(
    await open().then(
      () => "opened",
      (e: Error) => e.message,
    ),
  ).toBe("refused");
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
  expect(out).not.toMatch(/acu_(ingest|operator|viewer|patrol)_[A-Za-z0-9_-]{20}/);
  expect(out).not.toContain(patrolToken);
});

test("demo mode: with no token configured, one token per scope is printed once, with the dashboard URL, and each works with its scope", async () => {
  const demoDir = tempDir("security-demo");
  const demo = await startAcu({ dataDir: demoDir, env: { ACU_INGEST_TOKEN: "", ACU_OPERATOR_TOKEN: "", ACU_ADMIN_TOKEN: "", ACU_VIEWER_TOKEN: "" } });
  try {
    const out = demo.output();
    // Demo mode makes a token of each scope but patrol's (bound to a patrol, made with the CLI).
    const found = Object.fromEntries(UNBOUND_SCOPES.map((s) => [s, new RegExp(`^\\s+${s}\\s+(acu_${s}_[A-Za-z0-9_-]{43})\\s`, "m").exec(out)?.[1]])) as Record<
      Scope,
      string
    >;
    for (const s of UNBOUND_SCOPES) expect(found[s]).toBeString();
    expect(out).not.toMatch(/acu_patrol_/);
    expect(out).toContain(`dashboard: ${demo.url}/#token=${found.viewer}`);
    // Printed once (the viewer's twice: its line and the dashboard URL), nowhere else.
    const count = (s: string) => out.split(s).length - 1;
    expect([count(found.ingest), count(found.operator), count(found.viewer)]).toEqual([1, 1, 2]);
    expect(out).not.toContain("operator token generated");
    for (const e of ENDPOINTS.filter((x) => !x.fresh && x.needs !== "patrol"))
      for (const s of UNBOUND_SCOPES) {
        const r = await fetch(`${demo.url}${e.path}`, {
          method: e.method,
          headers: bearer(found[s]),
          body: e.body === undefined ? undefined : JSON.stringify(e.body),
        });
        expect({ e: `${e.method} ${e.path}`, s, status: allowed[e.needs].includes(s) ? r.status < 300 : r.status }).toEqual({
          e: `${e.method} ${e.path}`,
          s,
          status: allowed[e.needs].includes(s) ? true : 403,
        });
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
  test("demo mode is refused on the shared etcd, even on a loopback host: exit 2, nothing written to the store", async () => {
    const run = `/acu-test/security-demo-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const env: Record<string, string | undefined> = { ...process.env, ACU_DATA_DIR: tempDir("security-etcd-demo"), ACU_HTTP_PORT: "0" };
    for (const k of [...ENGINE_VARS, "ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_ADMIN_TOKEN", "ACU_VIEWER_TOKEN"]) delete env[k];
    Object.assign(env, {
      ACU_ETCD_ENDPOINTS: ETCD!,
      ACU_ETCD_PREFIX: `${run}/thresholds/`,
      ACU_ETCD_TOKEN_PREFIX: `${run}/tokens/`,
      ACU_ETCD_DISPATCH_PREFIX: `${run}/dispatch/`,
    });
    const p = Bun.spawn({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "--host", "127.0.0.1"], env, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill(9), 30_000);
    const [, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    cleanup(env.ACU_DATA_DIR!);
    expect(code).toBe(2);
    expect(err).toContain("not with shared engines (thresholds, tokens, dispatch)");
    expect(err).toContain("ACU_DEMO=1");
    const { Etcd3 } = await import("etcd3");
    const c = new Etcd3({ hosts: ETCD!.split(",") });
    try {
      expect(await c.getAll().prefix(`${run}/`).keys()).toEqual([]);
    } finally {
      await c
        .delete()
        .prefix(`${run}/`)
        .catch(() => {});
      c.close();
    }
  }, 60_000);

  test("a token created and revoked with the CLI applies to a running server within the bound (5 s)", async () => {
    const run = `/acu-test/security-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const engines = {
      ACU_ETCD_ENDPOINTS: ETCD!,
      ACU_ETCD_PREFIX: `${run}/thresholds/`,
      ACU_ETCD_TOKEN_PREFIX: `${run}/tokens/`,
      ACU_ETCD_DISPATCH_PREFIX: `${run}/dispatch/`,
    };
    const etcdDir = tempDir("security-etcd");
    const server = await startAcu({ dataDir: etcdDir, env: engines });
    try {
      const created = await cliWith(engines, "create", "--scope", "operator", "--label", "etcd");
      expect(created.code).toBe(0);
      const t = JSON.parse(created.out) as { id: string; token: string };
      const put = () =>
        fetch(`${server.url}/api/thresholds`, { method: "PUT", headers: bearer(t.token), body: JSON.stringify({ default: 50 }) }).then((r) => r.status);
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
      await c
        .delete()
        .prefix(`${run}/`)
        .catch(() => {});
      c.close();
    }
  }, 120_000);
});
