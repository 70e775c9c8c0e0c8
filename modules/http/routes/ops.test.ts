import { expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { opsRoutes } from "./ops.ts";

test("health, readiness (503 until ready, naming what it waits for), metrics and the document: open", async () => {
  let ready = false;
  const { call } = testApp(() => [
    opsRoutes({ ready: () => (ready ? { ready: true, waitingFor: [] } : { ready: false, waitingFor: ["alert feed catching up"] }) }),
  ]);
  expect(await (await call("GET", "/healthz", { token: null })).json()).toEqual({ status: "ok" });
  const waiting = await call("GET", "/readyz", { token: null });
  expect([waiting.status, await waiting.json()]).toEqual([503, { ready: false, waitingFor: ["alert feed catching up"] }]);
  ready = true;
  expect((await call("GET", "/readyz", { token: null })).status).toBe(200);
  const metrics = await call("GET", "/metrics", { token: null });
  expect(metrics.headers.get("content-type")).toStartWith("text/plain");
  // The requests above were timed by route pattern.
  expect(await metrics.text()).toMatch(/acu_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="503"\} [1-9]/);
  const doc = (await (await call("GET", "/api/openapi.json", { token: null })).json()) as { openapi: string };
  expect(doc.openapi).toBe("3.1.0");
});
