import { expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { dashboardGroupRoutes } from "./dashboard.ts";

const dashboard = {
  html: "<!doctype html><title>acu</title>",
  patrolHtml: "<!doctype html><title>acu patrol</title>",
  assets: { "app.js": { body: "console.log(1)", type: "text/javascript; charset=utf-8" } },
};

test("the pages and their files are open; an unknown file, or an inherited name, is 404", async () => {
  const { call } = testApp(() => [dashboardGroupRoutes(dashboard)]);
  const page = await call("GET", "/", { token: null });
  expect([page.status, page.headers.get("content-type"), await page.text()]).toEqual([200, "text/html; charset=UTF-8", dashboard.html]);
  const patrol = await call("GET", "/patrol", { token: null });
  expect([patrol.status, await patrol.text()]).toEqual([200, dashboard.patrolHtml]);
  const js = await call("GET", "/assets/app.js", { token: null });
  expect([js.status, js.headers.get("content-type"), await js.text()]).toEqual([200, "text/javascript; charset=utf-8", "console.log(1)"]);
  for (const name of ["nope.css", "constructor", "__proto__"]) {
    const r = await call("GET", `/assets/${name}`, { token: null });
    expect({ name, status: r.status, body: await r.json() }).toEqual({ name, status: 404, body: { error: "no such asset" } });
  }
});
