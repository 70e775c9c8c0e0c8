import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, ENGINE_VARS, eventually, ingest, operator, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

/**
 * The dispatch loop through the API of a real acu (every role, embedded engines): patrols registered over
 * HTTP, failing reports through POST /api/reports, the patrol's stream getting its assignment, the patrol
 * walking it to resolved with its own token, and the incident stream showing every change — across
 * reconnections with `since`, which miss nothing.
 */
let dir: string;
let acu: AcuProcess;
let patrolToken = "";

type Incident = {
  incidentId: string;
  studentId: string;
  state: string;
  patrolId: string | null;
  orderCount: number;
  revision: number;
  place: string;
  note: string;
};
type Patrol = { patrolId: string; status: string; incidentId: string | null };
type Frame = { type: string; cursor?: string; incident?: Incident | null; patrol?: Patrol };

beforeAll(async () => {
  dir = tempDir("dispatch-api");
  acu = await startAcu({ dataDir: dir });
  for (const [id, latitude, longitude] of [
    ["p-paris", 48.86, 2.35],
    ["p-lyon", 45.76, 4.84],
  ] as const) {
    const r = await fetch(`${acu.url}/api/patrols/${id}`, {
      method: "PUT",
      headers: operator,
      body: JSON.stringify({ name: `Team ${id}`, latitude, longitude }),
    });
    expect(r.status).toBe(200);
  }
  // The Paris patrol's phone: a token of its own, made with the CLI beside the server.
  const env: Record<string, string | undefined> = { ...process.env, ACU_DATA_DIR: dir };
  for (const k of ENGINE_VARS) delete env[k];
  const p = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "token", "create", "--scope", "patrol", "--patrol", "p-paris"],
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  expect(code).toBe(0);
  patrolToken = (JSON.parse(out) as { token: string }).token;
  const position = () =>
    fetch(`${acu.url}/api/patrols/p-paris/position`, {
      method: "POST",
      headers: { authorization: `Bearer ${patrolToken}` },
      body: '{"latitude": 48.86, "longitude": 2.35}',
    });
  await eventually("the patrol token to be accepted", async () => (await position()).status === 200, 5000, 20);
}, 90_000);
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

/** A stream's socket with every frame it got; `until` waits for a frame from index `from` on. */
function stream(path: string, token: string) {
  const frames: Frame[] = [];
  const ws = new WebSocket(`${acu.url.replace("http", "ws")}${path}`, [`acu.bearer.${token}`]);
  ws.onmessage = (m) => void frames.push(JSON.parse(String(m.data)));
  const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
  return {
    frames,
    until: (what: string, f: (fr: Frame) => boolean, from = 0) => eventually(what, async () => frames.slice(from).find(f), 20_000, 10),
    /** The cursor to resume from: the last one received. */
    cursor: () => frames.filter((f) => f.cursor !== undefined).at(-1)!.cursor!,
    close: async () => {
      ws.close();
      await closed;
    },
  };
}

const failing = (studentId: string, score: number) => ({ studentId, exerciseId: "c02.ex01", score, latitude: 48.85, longitude: 2.34, timestamp: Date.now() });
const act = (incidentId: string, step: string, body?: unknown) =>
  fetch(`${acu.url}/api/incidents/${incidentId}/${step}`, {
    method: "POST",
    headers: { authorization: `Bearer ${patrolToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

test("a failing report becomes the nearest patrol's assignment on its stream; it walks it to resolved; both streams miss nothing across reconnections", async () => {
  const board = stream("/api/incidents/stream", TOKENS.viewer);
  await board.until("the board's hello", (f) => f.type === "hello");
  const phone = stream("/api/patrols/p-paris/stream", patrolToken);
  await phone.until("the phone's hello", (f) => f.type === "hello");
  expect(phone.frames[0]).toMatchObject({ type: "assignment", incident: null, patrol: { patrolId: "p-paris", status: "available" } });

  // Two failing reports of one student: one incident, for the patrol nearest to the student (Paris).
  expect((await fetch(`${acu.url}/api/reports`, { method: "POST", headers: ingest, body: JSON.stringify(failing("s-dispatch-1", 12)) })).status).toBe(202);
  const assigned = await phone.until("the assignment on the phone", (f) => f.type === "incident" && f.incident!.state === "assigned");
  const id = assigned.incident!.incidentId;
  expect(assigned.incident).toMatchObject({ studentId: "s-dispatch-1", patrolId: "p-paris", place: "Paris" });
  await phone.until("the patrol's own change", (f) => f.type === "patrol" && f.patrol!.status === "assigned" && f.patrol!.incidentId === id);
  expect((await fetch(`${acu.url}/api/reports`, { method: "POST", headers: ingest, body: JSON.stringify(failing("s-dispatch-1", 4)) })).status).toBe(202);
  await phone.until("the second order attached", (f) => f.incident?.orderCount === 2);

  // The patrol acknowledges with its own token; then both sockets drop.
  expect((await act(id, "acknowledge")).status).toBe(200);
  await board.until("acknowledged on the board", (f) => f.incident?.state === "acknowledged");
  await phone.until("acknowledged on the phone", (f) => f.incident?.state === "acknowledged");
  const [boardCursor, phoneCursor] = [board.cursor(), phone.cursor()];
  await board.close();
  await phone.close();

  // Meanwhile: on the way (the patrol), and a report of another student (the Lyon patrol gets it).
  expect((await act(id, "en-route")).status).toBe(200);
  expect(
    (
      await fetch(`${acu.url}/api/reports`, {
        method: "POST",
        headers: ingest,
        body: JSON.stringify({ ...failing("s-dispatch-2", 20), latitude: 45.75, longitude: 4.85 }),
      })
    ).status,
  ).toBe(202);
  const other = await eventually("the second student's incident assigned", async () => {
    const r = (await (await fetch(`${acu.url}/api/incidents?state=assigned`, { headers: operator })).json()) as { incidents: Incident[] };
    return r.incidents.find((i) => i.studentId === "s-dispatch-2");
  });
  expect(other.patrolId).toBe("p-lyon");

  // The phone comes back: its assignment first (as it is now), then what it missed, of its incident only.
  const phone2 = stream(`/api/patrols/p-paris/stream?since=${phoneCursor}`, patrolToken);
  await phone2.until("the phone's hello again", (f) => f.type === "hello");
  expect(phone2.frames[0]).toMatchObject({ type: "assignment", incident: { incidentId: id, state: "en-route" }, patrol: { status: "en-route" } });
  expect(phone2.frames.filter((f) => f.type === "incident").map((f) => [f.incident!.incidentId, f.incident!.state])).toEqual([[id, "en-route"]]);
  const board2 = stream(`/api/incidents/stream?since=${boardCursor}`, TOKENS.viewer);
  await board2.until("the board's hello again", (f) => f.type === "hello");
  expect(board2.frames.some((f) => f.type === "gap")).toBe(false);

  expect((await act(id, "arrive")).status).toBe(200);
  const resolved = await act(id, "resolve", { note: "explained pointers again" });
  expect(resolved.status).toBe(200);
  expect(((await resolved.json()) as Incident).state).toBe("resolved");
  // A step after the end: 409 with the state.
  const late = await act(id, "arrive");
  expect([late.status, ((await late.json()) as { state: string }).state]).toEqual([409, "resolved"]);
  await phone2.until("resolved on the phone", (f) => f.incident?.state === "resolved");
  await phone2.until("the patrol free again", (f) => f.type === "patrol" && f.patrol!.status === "available" && f.patrol!.incidentId === null);
  await board2.until("resolved on the board", (f) => f.incident?.incidentId === id && f.incident.state === "resolved");

  // Every commit of the incident reached the board, across the reconnection, none missing: opened and
  // assigned in one (revision 2: a patrol was free, so it was never seen open), then attached,
  // acknowledged, en route, on site, resolved.
  const seen = [...board.frames, ...board2.frames].filter((f) => f.incident?.incidentId === id).map((f) => f.incident!);
  const revisions = [...new Set(seen.map((i) => i.revision))].sort((a, b) => a - b);
  expect(revisions).toEqual([2, 3, 4, 5, 6, 7]);
  expect(seen.find((i) => i.revision === 2)).toMatchObject({ state: "assigned", patrolId: "p-paris" });
  expect(seen.filter((i) => i.revision === 7).every((i) => i.state === "resolved" && i.note === "explained pointers again")).toBe(true);
  // And the other student's incident, opened while the board was away.
  expect(board2.frames.some((f) => f.incident?.studentId === "s-dispatch-2" && f.incident.state === "assigned")).toBe(true);
  // The phone heard of its own incident only.
  expect([...phone.frames, ...phone2.frames].every((f) => !f.incident || f.incident.incidentId === id)).toBe(true);

  const done = (await (await fetch(`${acu.url}/api/incidents?state=resolved`, { headers: operator })).json()) as { incidents: Incident[] };
  expect(done.incidents.map((i) => [i.incidentId, i.orderCount])).toEqual([[id, 2]]);
  await phone2.close();
  await board2.close();
}, 120_000);
