import { afterAll, expect, test } from "bun:test";
import { healthcheck, healthcheckUrl } from "./healthcheck.ts";

let status = 200;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => Response.json({ ready: status === 200, waitingFor: status === 200 ? [] : ["bus (kafka): down"] }, { status }),
});
afterAll(() => server.stop(true));

test("healthcheckUrl: the ops port when there is one, else the http port; a wildcard host is asked on loopback", () => {
  expect(healthcheckUrl({ host: "0.0.0.0", port: 8080, opsPort: 9464 })).toBe("http://127.0.0.1:9464/readyz");
  expect(healthcheckUrl({ host: "127.0.0.1", port: 8080, opsPort: null })).toBe("http://127.0.0.1:8080/readyz");
  expect(healthcheckUrl({ host: "::", port: 8080, opsPort: null })).toBe("http://127.0.0.1:8080/readyz");
  expect(healthcheckUrl({ host: "::1", port: 8080, opsPort: 9464 })).toBe("http://[::1]:9464/readyz");
  expect(healthcheckUrl({ host: "10.0.0.5", port: 8080, opsPort: 9464 })).toBe("http://10.0.0.5:9464/readyz");
});

test("healthcheck: ok on 200 only; a 503 or no answer is not, with the reason", async () => {
  const url = `http://127.0.0.1:${server.port}/readyz`;
  expect(await healthcheck(url)).toEqual({ ok: true, message: `${url}: 200 {"ready":true,"waitingFor":[]}` });
  status = 503;
  const down = await healthcheck(url);
  expect(down.ok).toBe(false);
  expect(down.message).toContain("503");
  expect(down.message).toContain("bus (kafka): down");
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const gone = `http://127.0.0.1:${closed.port}/readyz`;
  closed.stop(true);
  const none = await healthcheck(gone, 500);
  expect(none.ok).toBe(false);
  expect(none.message).toStartWith(`${gone}: no answer`);
});
