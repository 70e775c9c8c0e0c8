import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { distanceKm } from "../../src/domain/regions.ts";
import { cleanup, ENGINE_VARS, eventually, operator, postReports, ROOT, startAcu, tempDir, TOKENS, viewer, type AcuProcess } from "../support/acu.ts";
import { closeChromium, launchChromium, screenshot, watchProblems } from "./browser.ts";

setDefaultTimeout(240_000);

/**
 * The dispatch loop in a real browser against a real acu (`--role=all`, embedded engines): a patrol's
 * phone (390×844) opens /patrol with its own token, shares its GPS position, receives the assignment of a
 * failing report, walks it to resolved with its big buttons, and is shown (and rung for) an assignment
 * raised while its socket was down; the operators' board shows both incidents, the patrol on the map and
 * the response times; an operator cancels from the board and the phone says so. No console error on the
 * phone. Screenshots: tests/.artifacts/.
 */

let acu: AcuProcess;
let browser: BrowserContext | null = null;
const dir = tempDir("browser-patrol");
const PATROL = "p-07";
const VILLEURBANNE = { latitude: 45.7719, longitude: 4.8902 };
/** Where the phone's GPS says it is: a little east of Villeurbanne. */
const GPS = { latitude: 45.7731, longitude: 4.9012 };
const LYON = { latitude: 45.764, longitude: 4.8357 };
const GRENOBLE = { latitude: 45.1885, longitude: 5.7245 };

beforeAll(async () => {
  acu = await startAcu({ dataDir: dir, args: ["--role=all"], env: { ACU_SINK_FLUSH_MS: "200" } });
});
afterAll(async () => {
  await closeChromium(browser);
  await acu?.stop();
  cleanup(dir);
});

interface Incident {
  incidentId: string;
  studentId: string;
  state: string;
  patrolId: string | null;
  note: string;
  times: Record<string, number | null>;
}
interface Patrol {
  patrolId: string;
  status: string;
  latitude: number;
  longitude: number;
}

/** `acu token create --scope patrol --patrol P` beside the running server, as an operator would. */
async function patrolToken(patrolId: string): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, ACU_DATA_DIR: dir };
  for (const k of ENGINE_VARS) delete env[k];
  const p = Bun.spawn({
    cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "token", "create", "--scope", "patrol", "--patrol", patrolId, "--label", "browser patrol"],
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(code, err).toBe(0);
  return (JSON.parse(out) as { token: string }).token;
}

const incident = async (id: string) => (await (await fetch(`${acu.url}/api/incidents/${encodeURIComponent(id)}`, { headers: viewer })).json()) as Incident;
const patrol = async (id: string) =>
  ((await (await fetch(`${acu.url}/api/patrols`, { headers: viewer })).json()) as { patrols: Patrol[] }).patrols.find((p) => p.patrolId === id);
const shown = (page: Page) => page.locator("#assignment").getAttribute("data-incident");

async function openPhone(token: string): Promise<{ page: Page; problems: string[] }> {
  browser ??= await launchChromium();
  await browser.grantPermissions(["geolocation"], { origin: acu.url });
  await browser.setGeolocation({ ...GPS, accuracy: 8 });
  const page = await browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const problems = watchProblems(page);
  await page.goto(`${acu.url}/patrol#token=${token}&patrol=${PATROL}`);
  // The token leaves the address bar at once; the patrol's id stays.
  await page.waitForFunction(() => !location.hash.includes("token"));
  expect(page.url()).toBe(`${acu.url}/patrol#patrol=${PATROL}`);
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  return { page, problems };
}

/** Clicks the one next-step button, checks its label first, and waits for the state it leads to. */
async function step(page: Page, label: string, next: string): Promise<void> {
  expect(await page.locator("#a-next").textContent()).toBe(label);
  await page.click("#a-next");
  await page.waitForSelector(`#assignment[data-state="${next}"]`, { timeout: 10_000 });
}

test("the patrol's phone gets an assignment, walks it to resolved, gets one raised while its socket was down; the board shows them", async () => {
  const registered = await fetch(`${acu.url}/api/patrols/${PATROL}`, {
    method: "PUT",
    headers: operator,
    body: JSON.stringify({ name: "Team Lyon 2", ...VILLEURBANNE }),
  });
  expect(registered.status).toBe(200);
  const token = await patrolToken(PATROL);
  const bearer = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  // The running server accepts the new token within moments (for this patrol only).
  await eventually(
    "the patrol token to be accepted",
    async () =>
      (await fetch(`${acu.url}/api/patrols/${PATROL}/position`, { method: "POST", headers: bearer, body: JSON.stringify(VILLEURBANNE) })).status === 200,
    5_000,
    50,
  );

  const { page, problems } = await openPhone(token);
  expect(await page.locator("#p-name").textContent()).toBe("Team Lyon 2");
  expect(await page.locator("#a-none").isVisible()).toBe(true);
  // Geolocation allowed: the phone's position reaches the dispatcher by itself.
  await eventually(
    "the GPS position to be shared",
    async () => {
      const p = await patrol(PATROL);
      return p && Math.abs(p.latitude - GPS.latitude) < 1e-6 && Math.abs(p.longitude - GPS.longitude) < 1e-6;
    },
    20_000,
  );
  await screenshot(page, "patrol-waiting", true);

  // A failing report in Lyon: the only patrol on duty is sent.
  expect((await postReports(acu.url, { studentId: "pt-1", exerciseId: "browser.patrol", score: 12, ...LYON, timestamp: Date.now() })).status).toBe(202);
  await page.waitForSelector('#assignment[data-state="assigned"]', { timeout: 20_000 });
  const first = (await shown(page))!;
  expect((await incident(first)).patrolId).toBe(PATROL);
  expect(await page.locator("#a-student").textContent()).toBe("pt-1");
  expect(await page.locator("#a-exercise").textContent()).toBe("browser.patrol");
  expect(await page.locator("#a-score").textContent()).toBe("12.0");
  expect(await page.locator("#a-place").textContent()).toContain("Auvergne-Rhône-Alpes");
  expect(Number(await page.locator("#a-distance").getAttribute("data-km"))).toBeCloseTo(
    distanceKm(GPS.latitude, GPS.longitude, LYON.latitude, LYON.longitude),
    2,
  );
  expect(await page.locator("svg.mini-map circle.you").count()).toBe(1);
  expect(await page.locator("svg.mini-map circle.target").count()).toBe(1);
  // Announced: a banner (the sound and vibration need a first touch, which the page asks for).
  expect(await page.locator("#p-alert").textContent()).toContain("pt-1");
  expect(await page.evaluate(() => window.acuPatrol.page.view.announced.length)).toBe(1);
  // Only the next transition, as one big button.
  expect(await page.locator("#resolve-form").isVisible()).toBe(false);
  const box = (await page.locator("#a-next").boundingBox())!;
  expect(box.height).toBeGreaterThanOrEqual(56);
  expect(box.width).toBeGreaterThanOrEqual(300);
  // In French on demand.
  await page.click("#lang");
  expect(await page.locator("#a-next").textContent()).toBe("Prendre en compte");
  await page.click("#lang");
  await screenshot(page, "patrol-assigned", true);

  // Acknowledged from the keyboard, then the big buttons, one at a time.
  expect(await page.locator("#a-next").textContent()).toBe("Acknowledge");
  await page.focus("#a-next");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#assignment[data-state="acknowledged"]', { timeout: 10_000 });
  expect(await page.locator("#p-alert").isVisible()).toBe(false);
  await step(page, "On my way", "en-route");
  await step(page, "Arrived on site", "on-site");
  expect(await page.locator("#a-next").isVisible()).toBe(false);
  await page.fill("#resolve-note", "found at the desk, all fine");
  await page.click("#resolve-go");
  await page.waitForSelector("#a-none:not([hidden])", { timeout: 10_000 });
  expect(await page.locator(`#ended li.resolved[data-incident="${first}"]`).count()).toBe(1);
  const resolved = await incident(first);
  expect(resolved.state).toBe("resolved");
  expect(resolved.note).toBe("found at the desk, all fine");
  for (const k of ["assignedAt", "acknowledgedAt", "enRouteAt", "onSiteAt", "resolvedAt"]) expect(resolved.times[k]).toBeGreaterThan(0);
  await screenshot(page, "patrol-resolved", true);

  // The socket drops (as a tunnel would cut it) and stays down 5 s; meanwhile a student fails in Grenoble.
  await page.evaluate(() => window.acuPatrol.stream()!.drop(5_000));
  await page.waitForSelector("#conn.down");
  expect((await postReports(acu.url, { studentId: "pt-2", exerciseId: "browser.patrol", score: 8, ...GRENOBLE, timestamp: Date.now() })).status).toBe(202);
  const second = await eventually(
    "the second incident to be assigned to the patrol",
    async () => {
      const list = ((await (await fetch(`${acu.url}/api/incidents?state=assigned&limit=10`, { headers: viewer })).json()) as { incidents: Incident[] })
        .incidents;
      return list.find((i) => i.studentId === "pt-2" && i.patrolId === PATROL)?.incidentId;
    },
    20_000,
  );
  expect(await page.locator("#conn.down").count()).toBe(1);
  expect(await page.locator("#a-none").isVisible()).toBe(true);
  // Back: the first frame is the current assignment, resumed from the cursor; rung like any new one.
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  await page.waitForSelector(`#assignment[data-incident="${second}"][data-state="assigned"]`, { timeout: 5_000 });
  expect(await page.locator("#a-student").textContent()).toBe("pt-2");
  expect(await page.locator("#p-alert").textContent()).toContain("pt-2");
  expect(await page.evaluate(() => window.acuPatrol.page.view.announced.length)).toBe(2);
  const urls = await page.evaluate(() => window.acuPatrol.stream()!.connections);
  expect(urls.length).toBeGreaterThanOrEqual(2);
  expect(urls.at(-1)).toContain("since=");
  for (const u of urls) expect(u).not.toContain(token);
  await step(page, "Acknowledge", "acknowledged");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, "patrol-missed", true);

  await checkBoard(first, second, page);
  expect(problems).toEqual([]);
  await page.close();
});

/** The operators' dashboard: both incidents on the board, the patrol and its line on the map, response times; a cancel from the board. */
async function checkBoard(first: string, second: string, phone: Page): Promise<void> {
  const page = await browser!.newPage();
  const problems = watchProblems(page);
  await page.goto(`${acu.url}/#token=${TOKENS.viewer}`);
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  const card = (column: string, id: string) => page.locator(`#inc-board [data-column="${column}"] .inc[data-incident="${id}"]`);
  await card("closed", first).waitFor({ timeout: 20_000 });
  await card("acknowledged", second).waitFor({ timeout: 20_000 });
  expect(await card("closed", first).locator(".student").textContent()).toBe("pt-1");
  expect(await card("acknowledged", second).locator(".inc-patrol").getAttribute("data-patrol")).toBe(PATROL);
  expect(await page.locator("#inc-off").isVisible()).toBe(false);
  // On the map: the patrol, coloured by its status, and a line to the incident it holds.
  await page.waitForSelector(`svg.map circle.patrol[data-patrol="${PATROL}"][data-status="assigned"]`, { timeout: 10_000 });
  expect(await page.locator(`svg.map line.assignment[data-patrol="${PATROL}"][data-incident="${second}"]`).count()).toBe(1);

  // Response times once the analyzer has run over the incident history.
  await eventually(
    "the analyzer to count the response times",
    async () => {
      expect((await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator })).status).toBe(200);
      const rt = (await (await fetch(`${acu.url}/api/analytics/response-times`, { headers: viewer })).json()) as {
        regions: { region: string; step: string; count: number }[];
      };
      return rt.regions.some((r) => r.region === "Auvergne-Rhône-Alpes" && r.step === "resolve" && r.count >= 1);
    },
    60_000,
    1_000,
  );
  await page.waitForSelector('#rt-rows tr[data-region="Auvergne-Rhône-Alpes"] td[data-step="resolve"][data-figure="p50"][data-seconds]', { timeout: 30_000 });
  await page.locator("#incidents-panel").scrollIntoViewIfNeeded();
  await screenshot(page, "dashboard-incidents");

  // An operator cancels the second one from the board: the operator token is asked (the page holds a viewer's).
  const running = card("acknowledged", second);
  await running.locator("summary").click();
  await running.locator(".cancel-note").fill("the student left");
  await running.locator("button.danger").click();
  await page.waitForSelector("#token-dialog[open]");
  await page.fill("#token-input", TOKENS.operator);
  await page.press("#token-input", "Enter");
  await card("closed", second).waitFor({ timeout: 10_000 });
  expect((await incident(second)).state).toBe("cancelled");
  // The phone says so, and waits for the next one.
  await phone.waitForSelector(`#ended li.cancelled[data-incident="${second}"]`, { timeout: 10_000 });
  expect(await phone.locator("#a-none").isVisible()).toBe(true);
  expect(problems).toEqual([
    `HTTP 403: POST ${acu.url}/api/incidents/${second}/cancel`,
    "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)",
  ]);
  await page.close();
}
