import { expect, test } from "bun:test";
import { PortInUseError, reservePort } from "./http-port.ts";

test("a reserved port answers 503 until released, then can be bound again at once; a port in use is named", async () => {
  const r = reservePort("127.0.0.1", 0);
  const res = await fetch(`http://127.0.0.1:${r.port}/readyz`);
  expect([res.status, res.headers.get("retry-after")]).toEqual([503, "1"]);
  expect(() => reservePort("127.0.0.1", r.port)).toThrow(PortInUseError);
  expect(() => reservePort("127.0.0.1", r.port)).toThrow(`port ${r.port} on 127.0.0.1 is already in use (--port, ACU_HTTP_PORT)`);
  r.release();
  r.release();
  const server = Bun.serve({ hostname: "127.0.0.1", port: r.port, fetch: () => new Response("served") });
  try {
    expect(await (await fetch(`http://127.0.0.1:${r.port}/`)).text()).toBe("served");
  } finally {
    server.stop(true);
  }
});
