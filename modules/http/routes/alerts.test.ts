import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../../../src/adapters/embedded/log-bus.ts";
import { encodeDeploymentOrder, type DeploymentOrder } from "../../../src/domain/deployment-order.ts";
import { silentLogger } from "../../../src/log.ts";
import { TOPICS } from "../../../src/ports/bus.ts";
import { AlertFeed } from "../alert-feed.ts";
import { authenticator } from "../auth.ts";
import { startHttpServer } from "../server.ts";
import { TEST_TOKENS, testApp } from "../testing.ts";
import { alertsRoutes, alertStreamRoutes } from "./alerts.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-alerts-routes-"));
let bus: EmbeddedLogBus;
let feed: AlertFeed;
const order = (i: number, exerciseId: string): DeploymentOrder => ({
  alertId: `alert-${i}`,
  reportId: `${i}`,
  studentId: `s${i}`,
  exerciseId,
  score: 10,
  threshold: 50,
  latitude: 48.85,
  longitude: 2.35,
  region: "Île-de-France",
  reportedAt: 1_764_234_000_000 + i,
  raisedAt: 1_764_234_000_100 + i,
});

beforeAll(async () => {
  bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.deadLetters]: 1 });
  await bus.publish(
    TOPICS.alerts,
    Array.from({ length: 6 }, (_, i) => ({ key: `s${i}`, value: encodeDeploymentOrder(order(i, i % 2 ? "odd" : "even")) })),
  );
  feed = new AlertFeed(bus, 100, silentLogger);
  await feed.start();
  for (let t = 0; t < 100 && feed.recent(10).length < 6; t++) await Bun.sleep(20);
});
afterAll(async () => {
  await feed.stop();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

test("GET /api/alerts: newest first, filtered by exercise, limited, with the cursor", async () => {
  const { call } = testApp(() => [alertsRoutes({ feed })]);
  const all = (await (await call("GET", "/api/alerts", { token: "viewer" })).json()) as { alerts: DeploymentOrder[]; cursor: string };
  expect(all.alerts.length).toBe(6);
  expect(all.cursor).toBe(feed.cursor());
  const odd = (await (await call("GET", "/api/alerts?exerciseId=odd&limit=2", { token: "viewer" })).json()) as { alerts: DeploymentOrder[] };
  expect(odd.alerts.map((a) => a.exerciseId)).toEqual(["odd", "odd"]);
  expect((await (await call("GET", "/api/alerts?exerciseId=", { token: "viewer" })).json()).alerts.length).toBe(6);
  for (const q of ["limit=0", "limit=1001", "limit=abc", "exerciseId=a%20b"])
    expect({ q, status: (await call("GET", `/api/alerts?${q}`, { token: "viewer" })).status }).toEqual({ q, status: 400 });
  const none = testApp(() => [alertsRoutes({ feed: null })]);
  expect((await none.call("GET", "/api/alerts", { token: "viewer" })).status).toBe(404);
});

test("the stream: 404 without a feed, 400 on a bad cursor or exercise, before any upgrade", async () => {
  const none = testApp(() => [alertStreamRoutes(null)]);
  expect((await none.call("GET", "/api/alerts/stream", { token: "viewer" })).status).toBe(404);
  const server = startHttpServer({
    port: 0,
    routes: [],
    feed,
    log: silentLogger,
    auth: authenticator([{ id: "env:v", scope: "viewer", token: TEST_TOKENS.viewer }], null),
    wsPerToken: 1,
  });
  try {
    const url = `http://127.0.0.1:${server.port}/api/alerts/stream`;
    const get = (q: string) => fetch(`${url}${q}`, { headers: { authorization: `Bearer ${TEST_TOKENS.viewer}` } });
    for (const q of ["?since=garbage", "?since=1.2.3", "?since=", "?exerciseId=%C3%A9"]) {
      const r = await get(q);
      expect({ q, status: r.status, error: typeof ((await r.json()) as { error: string }).error }).toEqual({ q, status: 400, error: "string" });
    }
    expect((await get("")).status).toBe(426);
    // A socket by subprotocol, which is named back; the token's share (1) is then taken.
    const ws = new WebSocket(`${url.replace("http", "ws")}?since=0.0&exerciseId=odd`, [`acu.bearer.${TEST_TOKENS.viewer}`]);
    const frames: Array<{ type: string; alert?: DeploymentOrder }> = [];
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (m) => {
        const f = JSON.parse(String(m.data));
        frames.push(f);
        if (f.type === "hello") resolve();
      };
      ws.onerror = () => reject(new Error("socket failed"));
    });
    expect(ws.protocol).toBe(`acu.bearer.${TEST_TOKENS.viewer}`);
    expect(frames.filter((f) => f.type === "alert").map((f) => f.alert!.exerciseId)).toEqual(["odd", "odd", "odd"]);
    expect((await get("")).status).toBe(429);
    ws.close();
  } finally {
    await server.stop();
  }
});

test("the feed shows an order once: a copy with an alertId it already showed is dropped", async () => {
  await bus.publish(TOPICS.alerts, [
    { key: "s2", value: encodeDeploymentOrder(order(2, "even")) },
    { key: "s6", value: encodeDeploymentOrder(order(6, "even")) },
  ]);
  for (let t = 0; t < 100 && !feed.recent(100).some((o) => o.alertId === "alert-6"); t++) await Bun.sleep(20);
  const ids = feed.recent(100).map((o) => o.alertId);
  expect(ids.filter((id) => id === "alert-6").length).toBe(1);
  expect(ids.filter((id) => id === "alert-2").length).toBe(1);
  expect(ids.length).toBe(7);
});
