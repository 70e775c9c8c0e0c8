import { afterEach, expect, test } from "bun:test";
import { silentLogger } from "../../src/log.ts";
import type { IncidentJson, PatrolJson } from "./dispatch-schemas.ts";
import { dispatchFixture } from "../../tests/support/dispatch-fixture.ts";
import { startHttpServer } from "./server.ts";
import { TEST_PATROL, TEST_TOKENS, testAuthenticator } from "./testing.ts";

type Frame = { type: string; cursor?: string; incident?: IncidentJson | null; patrol?: PatrolJson };

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ("stop" in x ? x.stop() : x.close());
});

async function setup(o: { historySize?: number; wsPerToken?: number } = {}) {
  const d = await dispatchFixture(o.historySize);
  open.push(d);
  const server = startHttpServer({
    port: 0,
    routes: [],
    feed: null,
    dispatch: d.service,
    log: silentLogger,
    auth: testAuthenticator(),
    wsPerToken: o.wsPerToken ?? 20,
  });
  open.push(server);
  const base = `127.0.0.1:${server.port}`;
  for (const [id, lat, lon] of [
    [TEST_PATROL, 45.7, 4.8],
    ["p-2", 45.8, 4.9],
    ["p-3", 45.9, 5.0],
  ] as const)
    await d.service.registerPatrol(id, `Team ${id}`, lat, lon);
  return { ...d, base };
}

/** A socket and every frame it got; `until` waits for a frame matching. */
function connect(url: string, token: keyof typeof TEST_TOKENS = "viewer") {
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  const ws = new WebSocket(url, [`acu.bearer.${TEST_TOKENS[token]}`]);
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)));
    for (const w of waiters.splice(0)) w();
  };
  const until = async (what: string, f: (fr: Frame) => boolean, from = 0): Promise<Frame> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const hit = frames.slice(from).find(f);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${what} frame; got ${JSON.stringify(frames.map((x) => x.type))}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { ws, frames, until, close: () => ws.close() };
}

const last = (frames: Frame[]) => frames.filter((f) => f.cursor !== undefined).at(-1)!.cursor!;

test("incident stream: the current state then hello; every change after; a reconnect with since replays exactly what was missed", async () => {
  const { base, raise, service } = await setup();
  const first = await raise("s-1");
  const a = connect(`ws://${base}/api/incidents/stream`);
  await a.until("hello", (f) => f.type === "hello");
  expect(a.ws.protocol).toBe(`acu.bearer.${TEST_TOKENS.viewer}`);
  const state = a.frames.slice(0, -1);
  expect(state.filter((f) => f.type === "incident").map((f) => f.incident!.incidentId)).toEqual([first]);
  expect(
    state
      .filter((f) => f.type === "patrol")
      .map((f) => f.patrol!.patrolId)
      .sort(),
  ).toEqual([TEST_PATROL, "p-2", "p-3"]);
  // Live: an assignment is one commit of the incident and its patrol.
  const n = a.frames.length;
  await service.reassign(first, "p-2");
  await a.until("patrol of the assignment", (f) => f.type === "patrol" && f.patrol!.patrolId === "p-2" && f.patrol!.status === "assigned", n);
  const commit = a.frames.slice(n);
  expect(commit.map((f) => f.type)).toEqual(["incident", "patrol"]);
  expect(commit[0]!.incident).toMatchObject({ incidentId: first, state: "assigned", patrolId: "p-2", place: "Lyon" });
  // All but the last frame of a commit carry the cursor held before it: a drop between them replays the commit.
  expect(commit[0]!.cursor).toBe(a.frames[n - 1]!.cursor);
  expect(Number(commit[1]!.cursor)).toBeGreaterThan(Number(commit[0]!.cursor));
  const cursor = last(a.frames);
  a.close();

  // Missed while away: a new incident, and the first one walked on.
  const second = await raise("s-2");
  await service.acknowledge(first, "p-2");
  await service.enRoute(first, null);
  const b = connect(`ws://${base}/api/incidents/stream?since=${cursor}`);
  await b.until("hello", (f) => f.type === "hello");
  const replay = b.frames.filter((f) => f.type === "incident").map((f) => [f.incident!.incidentId, f.incident!.state]);
  expect(replay).toEqual([
    [second, "open"],
    [first, "acknowledged"],
    [first, "en-route"],
  ]);
  expect(b.frames.some((f) => f.type === "gap")).toBe(false);
  // Resuming from the first frame of a commit gives that commit again, whole.
  const mid = connect(`ws://${base}/api/incidents/stream?since=${commit[0]!.cursor}`);
  await mid.until("hello", (f) => f.type === "hello");
  expect(mid.frames.slice(0, 2).map((f) => f.type)).toEqual(["incident", "patrol"]);
  expect(mid.frames[1]!.patrol).toMatchObject({ patrolId: "p-2", status: "assigned" });
  mid.close();
  b.close();
});

test("incident stream: a cursor older than the history kept gets a gap, then the current state; 0 means nothing yet (no gap)", async () => {
  const { base, raise, service } = await setup({ historySize: 2 });
  const a = connect(`ws://${base}/api/incidents/stream`);
  await a.until("hello", (f) => f.type === "hello");
  const old = last(a.frames);
  a.close();
  const ids = [await raise("s-1"), await raise("s-2"), await raise("s-3")];
  await service.cancel(ids[0]!, "gone");
  const b = connect(`ws://${base}/api/incidents/stream?since=${old}`);
  const hello = await b.until("hello", (f) => f.type === "hello");
  expect(b.frames[0]!.type).toBe("gap");
  expect(
    b.frames
      .filter((f) => f.type === "incident")
      .map((f) => f.incident!.incidentId)
      .sort(),
  ).toEqual([ids[1]!, ids[2]!].sort());
  // Inside the state, frames carry "0" (drop there: ask for the state again); hello the state's cursor.
  expect(b.frames.slice(1, -2).every((f) => f.cursor === "0")).toBe(true);
  expect(Number(hello.cursor)).toBeGreaterThan(Number(old));
  const zero = connect(`ws://${base}/api/incidents/stream?since=0`);
  await zero.until("hello", (f) => f.type === "hello");
  expect(zero.frames.some((f) => f.type === "gap")).toBe(false);
  expect(zero.frames.filter((f) => f.type === "incident")).toHaveLength(2);
  b.close();
  zero.close();
});

test("patrol stream: the assignment first, then its incident's changes and its own; a reassignment away ends with another patrol; a reconnect starts with the assignment again", async () => {
  const { base, raise, service } = await setup();
  const url = `ws://${base}/api/patrols/${TEST_PATROL}/stream`;
  const a = connect(url, "patrol");
  const hello = await a.until("hello", (f) => f.type === "hello");
  expect(a.frames[0]).toMatchObject({ type: "assignment", incident: null, patrol: { patrolId: TEST_PATROL, status: "available" } });
  expect(a.frames[0]!.cursor).toBe(hello.cursor);
  // Not its business: another patrol's incident.
  const theirs = await raise("s-other");
  await service.reassign(theirs, "p-2");
  const mine = await raise("s-mine");
  await service.reassign(mine, TEST_PATROL);
  await a.until("assignment's patrol frame", (f) => f.type === "patrol" && f.patrol!.status === "assigned");
  await service.acknowledge(mine, TEST_PATROL);
  await a.until("acknowledged", (f) => f.incident?.state === "acknowledged");
  expect(a.frames.slice(2).map((f) => [f.type, f.incident?.state ?? f.patrol?.status])).toEqual([
    ["incident", "assigned"],
    ["patrol", "assigned"],
    ["incident", "acknowledged"],
  ]);
  expect(a.frames.some((f) => f.incident?.incidentId === theirs)).toBe(false);
  const cursor = last(a.frames);
  a.close();

  // While it is away: an operator takes the incident and gives it to p-3.
  await service.reassign(mine, "p-3");
  const b = connect(`${url}?since=${cursor}`, "patrol");
  await b.until("hello", (f) => f.type === "hello");
  expect(b.frames[0]).toMatchObject({ type: "assignment", incident: null, patrol: { status: "available", incidentId: null } });
  const away = b.frames.filter((f) => f.type === "incident");
  expect(away.map((f) => f.incident!.patrolId)).toEqual(["p-3"]);
  // Then nothing more of it: it is p-3's now. (The feed sends each change to every socket at once: once
  // the incident stream has it, the patrol's stream would have had it too.)
  const watch = connect(`ws://${base}/api/incidents/stream`);
  await watch.until("hello", (f) => f.type === "hello");
  await service.acknowledge(mine, "p-3");
  await watch.until("p-3's acknowledgement", (f) => f.incident?.state === "acknowledged");
  await Bun.sleep(50);
  expect(b.frames.filter((f) => f.type === "incident")).toHaveLength(1);
  b.close();
  watch.close();
});

test("patrol stream: a reassignment back to open is followed until the incident has another patrol", async () => {
  const { base, raise, service } = await setup();
  const mine = await raise("s-1");
  await service.reassign(mine, TEST_PATROL);
  const a = connect(`ws://${base}/api/patrols/${TEST_PATROL}/stream`, "operator");
  await a.until("hello", (f) => f.type === "hello");
  expect(a.frames[0]).toMatchObject({ type: "assignment", incident: { incidentId: mine, state: "assigned", patrolId: TEST_PATROL } });
  await service.reassign(mine, null);
  await a.until("back to open", (f) => f.incident?.state === "open");
  await service.reassign(mine, "p-2");
  await a.until("given to p-2", (f) => f.incident?.patrolId === "p-2");
  const watch = connect(`ws://${base}/api/incidents/stream`);
  await watch.until("hello", (f) => f.type === "hello");
  // A later change of p-2's incident is not sent: the last incident frame shows p-2.
  await service.acknowledge(mine, "p-2");
  await watch.until("p-2's acknowledgement", (f) => f.incident?.state === "acknowledged");
  await Bun.sleep(50);
  watch.close();
  expect(a.frames.filter((f) => f.type === "incident").map((f) => [f.incident!.state, f.incident!.patrolId])).toEqual([
    ["open", null],
    ["assigned", "p-2"],
  ]);
  a.close();
});

test("patrol stream refusals come before the upgrade: another patrol's token 403, an unknown patrol 404, a bad cursor 400, the token's share 429", async () => {
  const { base } = await setup({ wsPerToken: 1 });
  const get = (path: string, token: keyof typeof TEST_TOKENS = "patrol") =>
    fetch(`http://${base}${path}`, { headers: { authorization: `Bearer ${TEST_TOKENS[token]}` } });
  expect((await get("/api/patrols/p-2/stream")).status).toBe(403);
  expect((await get("/api/patrols/p-9/stream", "operator")).status).toBe(404);
  expect((await get("/api/patrols/p-9/stream", "viewer")).status).toBe(403);
  for (const q of ["?since=x", "?since=", "?since=1.2", `?since=${"9".repeat(16)}`])
    expect({ q, status: (await get(`/api/patrols/${TEST_PATROL}/stream${q}`)).status }).toEqual({ q, status: 400 });
  expect((await get("/api/incidents/stream?since=-1", "viewer")).status).toBe(400);
  expect((await get("/api/incidents/stream", "patrol")).status).toBe(403);
  expect((await get(`/api/patrols/${TEST_PATROL}/stream`)).status).toBe(426);
  // The token's share counts every stream it holds.
  const s = connect(`ws://${base}/api/patrols/${TEST_PATROL}/stream`, "patrol");
  await s.until("hello", (f) => f.type === "hello");
  expect((await get(`/api/patrols/${TEST_PATROL}/stream`)).status).toBe(429);
  s.close();
});
