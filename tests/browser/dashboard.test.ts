import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { alertIdFor } from "../../src/domain/deployment-order.ts";
import { cleanup, eventually, operator, postReports, ROOT, startAcu, tempDir, TOKEN, TOKENS, viewer, type AcuProcess } from "../support/acu.ts";
import { closeChromium, launchChromium, screenshot, watchProblems } from "./browser.ts";

setDefaultTimeout(120_000);

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real acu process:
 * it loads cleanly, shows deployment orders live and resumes after its socket drops, edits thresholds
 * that the next report is judged with, and draws the analyzer's figures — over the window it is switched to,
 * and as a trend per hour of an exercise and a region — each panel's CSV the same; it takes its token from the URL
 * fragment or asks for one; the compiled binary serves the same page with nothing beside it. Screenshots: tests/.artifacts/.
 */

let acu: AcuProcess;
let browser: BrowserContext | null = null;
const dir = tempDir("browser");

beforeAll(async () => {
  acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "200" } });
});
afterAll(async () => {
  await closeChromium(browser);
  await acu?.stop();
  cleanup(dir);
});

interface Alert {
  alertId: string;
  studentId: string;
  exerciseId: string;
  score: number;
  threshold: number;
}
const LYON = { latitude: 45.764, longitude: 4.8357 };
const LILLE = { latitude: 50.6292, longitude: 3.0573 };
const MARSEILLE = { latitude: 43.2965, longitude: 5.3698 };

/** Opens the page as the demo's printed URL does: the viewer token in the fragment. */
async function openDashboard(url = acu.url, token: string = TOKENS.viewer): Promise<{ page: Page; problems: string[] }> {
  browser ??= await launchChromium();
  const page = await browser.newPage();
  const problems = watchProblems(page);
  // Everything offline: the page asks nothing of any other host (no CDN, no map tiles).
  page.on("request", (r) => {
    if (!r.url().startsWith(`${url}/`) && !r.url().startsWith("data:") && !r.url().startsWith(url.replace("http", "ws")))
      problems.push(`request elsewhere: ${r.url()}`);
  });
  await page.goto(`${url}/#token=${token}`);
  // The token leaves the address bar at once (kept for this tab only).
  await page.waitForFunction(() => !location.hash.includes("token"));
  expect(page.url()).toBe(`${url}/`);
  // Live once the stream said hello (its replay is done).
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  return { page, problems };
}

async function alerts(exerciseId: string): Promise<Alert[]> {
  const r = await fetch(`${acu.url}/api/alerts?exerciseId=${exerciseId}&limit=1000`, { headers: viewer });
  return ((await r.json()) as { alerts: Alert[] }).alerts;
}

const feedRow = (page: Page, studentId: string) => page.locator(`#feed tr[data-student="${studentId}"]`);

/** Clicks a panel's CSV button and reads the file it saves: its name, and its rows by column name. */
async function downloadCsv(page: Page, panel: string): Promise<{ name: string; rows: Record<string, string>[] }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(`#${panel} button[data-csv]`)]);
  const text = readFileSync((await file.path())!, "utf8");
  expect(text).not.toContain('"'); // nothing here needs quoting: a plain split reads it
  const [header, ...rows] = text
    .trimEnd()
    .split("\r\n")
    .map((l) => l.split(","));
  return { name: file.suggestedFilename(), rows: rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!]))) };
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(`${acu.url}${path}`, { headers: viewer });
  expect(r.status, `GET ${path}`).toBe(200);
  return (await r.json()) as T;
}

test("the dashboard loads with no console error and no failed request, at desktop and phone sizes", async () => {
  const { page, problems } = await openDashboard();
  await page.waitForFunction(() => document.querySelectorAll("svg.map path.region").length === 13);
  // Everything the page asks for at start has answered: thresholds, runs, analytics.
  await page.waitForFunction(() => window.acu.state.fresh.thresholds.at > 0 && window.acu.state.fresh.runs.at > 0 && window.acu.state.fresh.exercises.at > 0);
  await page.waitForTimeout(500);
  expect(await page.locator("#conn").textContent()).toBe("live");
  expect(await page.locator("#th-default").inputValue()).toBe("50");
  await screenshot(page, "dashboard-empty");
  // French labels on demand.
  await page.click("#lang");
  expect(await page.locator("#feed-h").textContent()).toBe("Ordres de déploiement en direct");
  expect(await page.evaluate(() => document.documentElement.lang)).toBe("fr");
  await page.click("#lang");
  expect(await page.locator("#feed-h").textContent()).toBe("Live deployment orders");
  // Phone size: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, "dashboard-phone", true);
  expect(problems).toEqual([]);
  await page.close();
});

test("a report below its threshold shows in the live feed within 1 s, and orders raised while the socket is down show after it reconnects", async () => {
  const { page, problems } = await openDashboard();
  const sent = Date.now();
  expect((await postReports(acu.url, { studentId: "live-1", exerciseId: "browser.live", score: 12, ...LYON, timestamp: sent })).status).toBe(202);
  await feedRow(page, "live-1").waitFor({ timeout: 1000 });
  const latency = Date.now() - sent;
  expect(latency).toBeLessThan(1000);
  expect(await feedRow(page, "live-1").locator(".score").textContent()).toBe("12.0 < 50");
  expect(await feedRow(page, "live-1").locator(".region").textContent()).toBe("Auvergne-Rhône-Alpes");
  // The order blinks on the map where it was raised.
  expect(await page.locator("svg.map .pulse").count()).toBeGreaterThan(0);

  // The socket drops (as a network cut would) and stays down for 4 s; the page says so.
  await page.evaluate(() => window.acu.feed.drop(4000));
  await page.waitForSelector("#conn.down");
  expect(await page.locator("#conn").textContent()).toContain("connection lost");
  for (const [i, score] of [5, 7, 9].entries()) {
    expect((await postReports(acu.url, { studentId: `missed-${i}`, exerciseId: "browser.live", score, ...MARSEILLE, timestamp: Date.now() })).status).toBe(202);
  }
  // Raised while the page was away…
  await eventually("the three orders raised", async () => (await alerts("browser.live")).filter((a) => a.studentId.startsWith("missed-")).length === 3, 10_000);
  expect(await page.locator("#conn.down").count()).toBe(1);
  expect(await page.locator('#feed tr[data-student^="missed-"]').count()).toBe(0);
  // …and shown once it is back, resumed from its cursor.
  await page.waitForSelector("#conn.live", { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelectorAll('#feed tr[data-student^="missed-"]').length === 3, undefined, { timeout: 5_000 });
  const urls = await page.evaluate(() => window.acu.feed.connections);
  expect(urls.length).toBeGreaterThanOrEqual(2);
  expect(urls.at(-1)).toContain("since=");
  // Newest first, each order once (the three missed ones may come from different partitions, in any order).
  const students = await page.locator("#feed tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.student));
  expect(students.length).toBe(4);
  expect(students.slice(0, 3).sort()).toEqual(["missed-0", "missed-1", "missed-2"]);
  expect(students[3]).toBe("live-1");
  await page.waitForFunction(() => document.querySelector("#feed-rate")?.getAttribute("data-count") === "4", undefined, { timeout: 3_000 });
  await screenshot(page, "dashboard-live-feed");
  expect(problems).toEqual([]);
  await page.close();
});

test("a threshold edited in the page (operator token asked once, the viewer token being refused) decides the next report; bad values get the API's message", async () => {
  const { page, problems } = await openDashboard();
  const ex = "browser.threshold";
  // Raise it to 80: a 70 (which passes the default 50) now sends a patrol.
  await page.fill("#th-add-ex", ex);
  await page.fill("#th-add-val", "80");
  await page.click("#th-add-form button[type=submit]");
  // The page holds the viewer token: the change is refused (403) and the operator token asked for.
  await page.waitForSelector("#token-dialog[open]");
  expect(await page.locator("#token-msg").textContent()).toContain("needs the operator token");
  await page.fill("#token-input", TOKEN);
  await page.press("#token-input", "Enter");
  const row = page.locator(`#th-rows tr[data-exercise="${ex}"]`);
  await row.waitFor();
  expect(await row.locator("input").inputValue()).toBe("80");
  expect(await page.locator("#th-msg").textContent()).toBe(`Saved: ${ex} → 80 %`);
  await postReports(acu.url, { studentId: "th-1", exerciseId: ex, score: 70, ...LILLE, timestamp: Date.now() });
  await feedRow(page, "th-1").waitFor({ timeout: 10_000 });
  expect(await feedRow(page, "th-1").locator(".score").textContent()).toBe("70.0 < 80");

  // A bad value is refused with the API's own message; the threshold stays.
  const apiAnswer = (await (
    await fetch(`${acu.url}/api/thresholds/${ex}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 150 }) })
  ).json()) as { error: string };
  await row.locator("input").fill("150");
  await row.locator("button[type=submit]").click();
  await page.waitForSelector(`#th-rows tr[data-exercise="${ex}"] .msg.error`);
  expect(await row.locator(".msg").textContent()).toBe(apiAnswer.error);
  expect(await page.locator("#token-dialog[open]").count()).toBe(0); // the token is kept
  expect(((await (await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).json()) as { thresholds: Record<string, number> }).thresholds[ex]).toBe(80);

  // Lower it to 20 without being asked again: a 30 no longer sends a patrol, a 10 still does.
  await row.locator("input").fill("20");
  await row.locator("button[type=submit]").click();
  await page.waitForFunction((id) => document.querySelector("#th-msg")?.textContent === `Saved: ${id} → 20 %`, ex, { timeout: 5_000 });
  expect(await page.locator("#token-dialog[open]").count()).toBe(0);
  expect(await row.locator("input").inputValue()).toBe("20");
  expect(((await (await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).json()) as { thresholds: Record<string, number> }).thresholds[ex]).toBe(20);
  const t0 = Date.now();
  await postReports(acu.url, { reportId: "th-pass", studentId: "th-2", exerciseId: ex, score: 30, ...LILLE, timestamp: t0 });
  await postReports(acu.url, { reportId: "th-fail", studentId: "th-2", exerciseId: ex, score: 10, ...LILLE, timestamp: t0 + 1 });
  // One student, one partition, judged in order: once the 10 is shown, the 30 was judged already.
  const [failed, passed] = [alertIdFor("th-2", "th-fail"), alertIdFor("th-2", "th-pass")];
  await page.waitForSelector(`#feed tr[data-alert-id="${failed}"]`, { timeout: 10_000 });
  expect(await page.locator(`#feed tr[data-alert-id="${failed}"] .score`).textContent()).toBe("10.0 < 20");
  expect(await page.locator(`#feed tr[data-alert-id="${passed}"]`).count()).toBe(0);
  expect((await alerts(ex)).map((a) => a.alertId)).not.toContain(passed);
  await page.locator("#thresholds-panel").scrollIntoViewIfNeeded();
  await screenshot(page, "dashboard-thresholds");
  // The only failed requests are the viewer token's attempt (which made the page ask for the operator token)
  // and the refused value, on purpose.
  expect(problems).toEqual([
    `HTTP 403: PUT ${acu.url}/api/thresholds/${ex}`,
    "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)",
    `HTTP 400: PUT ${acu.url}/api/thresholds/${ex}`,
    "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)",
  ]);
  await page.close();
});

test("after an analyzer run the chart, the table and the map show the figures the API returns", async () => {
  const { page, problems } = await openDashboard();
  const ex = "browser.map";
  // 6 failures in Lille, 2 failures and 2 passes in Lyon, 3 passes in Marseille (default threshold 50).
  const t0 = Date.now();
  const reports = [
    ...[10, 20, 30, 5, 15, 25].map((score) => ({ score, ...LILLE })),
    ...[40, 45, 90, 95].map((score) => ({ score, ...LYON })),
    ...[60, 70, 80].map((score) => ({ score, ...MARSEILLE })),
  ].map((r, i) => ({ ...r, studentId: `map-${i}`, exerciseId: ex, timestamp: t0 + i }));
  expect((await postReports(acu.url, reports)).status).toBe(202);
  // The sink writes the lake file within moments; run the analyzer until it has counted them. Every run
  // must answer 200 (a run that finds nothing new too); checked after the wait, which would retry past it.
  const runStatuses: number[] = [];
  const stats = await eventually(
    "the analyzer to count the reports",
    async () => {
      const run = await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator });
      runStatuses.push(run.status);
      const body = (await (await fetch(`${acu.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
        exercises: Array<{ exerciseId: string; reports: number; averageScore: number; failures: number; threshold: number }>;
      };
      return body.exercises.find((e) => e.exerciseId === ex && e.reports === reports.length);
    },
    30_000,
    500,
  );
  expect(runStatuses.filter((s) => s !== 200)).toEqual([]);
  expect(stats.failures).toBe(8);
  const hotspots = (await (await fetch(`${acu.url}/api/analytics/hotspots?exerciseId=${ex}&limit=40`, { headers: viewer })).json()) as {
    cells: Array<{ latitude: number; longitude: number; failures: number; reports: number }>;
  };
  const regions = (await (await fetch(`${acu.url}/api/analytics/regions?exerciseId=${ex}`, { headers: viewer })).json()) as {
    regions: Array<{ region: string; reports: number; averageScore: number; failures: number }>;
  };
  expect(hotspots.cells.map((c) => c.failures)).toEqual([6, 2]);

  // The page notices the new run by itself and shows the exercise in the table and the chart.
  const tableRow = page.locator(`#ex-rows tr[data-exercise="${ex}"]`);
  // (An earlier run may have counted only part of the reports: wait for the figures of the last one.)
  await page.waitForFunction((id) => document.querySelector(`#ex-rows tr[data-exercise="${id}"] td`)?.textContent === "13", ex, { timeout: 15_000 });
  const cells = await tableRow.locator("td").allTextContents();
  expect(cells).toEqual(["13", stats.averageScore.toFixed(1), `${(((13 - 8) / 13) * 100).toFixed(1)}%`, "8", "50 %"]);
  const bar = page.locator(`#ex-chart .bar[data-exercise="${ex}"]`);
  expect(Number(await bar.getAttribute("data-value"))).toBeCloseTo(stats.averageScore, 9);
  await page.selectOption("#ex-metric", "failures");
  expect(Number(await bar.getAttribute("data-value"))).toBe(8);

  // Clicking it selects it on the map: one circle per hotspot the API lists, with its figures.
  await tableRow.locator("button").click();
  await page.waitForFunction((n) => document.querySelectorAll("svg.map circle.hotspot").length === n, hotspots.cells.length, { timeout: 10_000 });
  expect(await page.locator("#map-exercise").inputValue()).toBe(ex);
  const drawn = await page.locator("svg.map circle.hotspot").evaluateAll((cs) =>
    cs.map((c) => ({
      failures: Number(c.getAttribute("data-failures")),
      reports: Number(c.getAttribute("data-reports")),
      lat: Number(c.getAttribute("data-lat")),
      lon: Number(c.getAttribute("data-lon")),
    })),
  );
  expect(drawn.sort((a, b) => b.failures - a.failures)).toEqual(
    hotspots.cells.map((c) => ({ failures: c.failures, reports: c.reports, lat: c.latitude, lon: c.longitude })),
  );
  // Projected consistently with the regions: the Lille hotspot's centre lies in Hauts-de-France, Lyon's in Auvergne-Rhône-Alpes.
  const inRegion = (failures: number, region: string) =>
    page.evaluate(
      ([f, r]) => {
        const c = document.querySelector(`svg.map circle.hotspot[data-failures="${f}"]`)!;
        const p = document.querySelector(`svg.map path.region[data-region="${r}"]`) as SVGPathElement;
        return p.isPointInFill(new DOMPoint(Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))));
      },
      [failures, region] as const,
    );
  expect(await inRegion(6, "Hauts-de-France")).toBe(true);
  expect(await inRegion(2, "Auvergne-Rhône-Alpes")).toBe(true);
  expect(await inRegion(6, "Île-de-France")).toBe(false);
  await page.waitForSelector("#hotspot-list .hotspot-item");
  expect(await page.locator("#hotspot-list .hotspot-item .where").first().textContent()).toBe("Lille");

  // Regions: shaded with the API's figures, and ranked.
  await page.check('#shading input[value="failures"]');
  for (const r of regions.regions.filter((x) => x.region !== "unknown" && x.region !== "abroad")) {
    expect(Number(await page.locator(`svg.map path.region[data-region="${r.region}"]`).getAttribute("data-value"))).toBe(r.failures);
  }
  expect(await page.locator("#rg-rows tr").first().getAttribute("data-region")).toBe("Hauts-de-France");
  await page.check('#shading input[value="averageScore"]');
  const lyon = regions.regions.find((r) => r.region === "Auvergne-Rhône-Alpes")!;
  expect(Number(await page.locator('svg.map path.region[data-region="Auvergne-Rhône-Alpes"]').getAttribute("data-value"))).toBeCloseTo(lyon.averageScore, 9);
  // No report from Bretagne: no figure, no colour.
  expect(await page.locator('svg.map path.region[data-region="Bretagne"]').getAttribute("class")).toContain("no-data");
  // Each analytics panel downloads what it shows as CSV: the same figures as the JSON the page drew.
  const download = (panel: string) => downloadCsv(page, panel);
  const rg = await download("regions-panel");
  expect(rg.name).toBe("acu-regions.csv");
  expect(rg.rows.map((r) => ({ region: r.region, reports: Number(r.reports), averageScore: Number(r.averageScore), failures: Number(r.failures) }))).toEqual(
    regions.regions,
  );
  expect(new Set(rg.rows.map((r) => r.exerciseId))).toEqual(new Set([ex]));
  const hs = await download("map-panel");
  expect(hs.name).toBe("acu-hotspots.csv");
  expect(
    hs.rows.map((r) => ({ latitude: Number(r.latitude), longitude: Number(r.longitude), failures: Number(r.failures), reports: Number(r.reports) })),
  ).toEqual(hotspots.cells);
  expect((await download("runs-panel")).rows.length).toBeGreaterThan(0);
  // The next run is what the schedule says (here ACU_ANALYZER_SCHEDULE=off), not an estimate from the runs.
  expect(await page.evaluate(() => window.acu.state.schedule)).toEqual({ cron: null, nextRunAt: null });
  expect(await page.locator("#runs-next").textContent()).toBe("on demand");
  // Analyzer status: the last run, its engine.
  expect(await page.locator("#analyzer-status").textContent()).toContain("embedded");
  await page.locator("#map-panel").scrollIntoViewIfNeeded();
  await screenshot(page, "dashboard-analytics", true);
  expect(problems).toEqual([]);
  await page.close();
});

interface TrendAnswer {
  exerciseId: string | null;
  region: string | null;
  bucket: string;
  from: string;
  to: string;
  threshold: number | null;
  thresholdChanges: Array<{ at: string; threshold: number }>;
  buckets: Array<{ start: string; reports: number; averageScore: number | null; failures: number; successRate: number | null }>;
}
interface ExercisesAnswer {
  exercises: Array<{ exerciseId: string; reports: number; averageScore: number; failures: number; threshold: number }>;
  window: { window: string; from: string | null };
}

test("the trend chart draws what /api/analytics/trends returns, for an exercise and a region; the window switch and the CSV downloads follow the API", async () => {
  const ex = "browser.trend";
  const HOUR = 3_600_000;
  const now = Date.now();
  // Three hours ago: 2 failures of 3 in Lille; two hours ago: 2 passes in Lyon; now: 2 failures of 4 in Lille and Marseille.
  const reports = [
    ...[10, 20, 70].map((score) => ({ score, ...LILLE, timestamp: now - 3 * HOUR })),
    ...[80, 90].map((score) => ({ score, ...LYON, timestamp: now - 2 * HOUR })),
    ...[5, 60].map((score) => ({ score, ...LILLE, timestamp: now })),
    ...[30, 95].map((score) => ({ score, ...MARSEILLE, timestamp: now })),
  ].map((r, i) => ({ ...r, studentId: `trend-${i}`, exerciseId: ex, timestamp: r.timestamp + i }));
  expect((await postReports(acu.url, reports)).status).toBe(202);
  const runNow = async () => expect((await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator })).status).toBe(200);
  await eventually(
    "the analyzer to count the reports",
    async () => {
      await runNow();
      return (await getJson<ExercisesAnswer>("/api/analytics/exercises?limit=1000")).exercises.find((e) => e.exerciseId === ex && e.reports === reports.length);
    },
    30_000,
    500,
  );
  // A run sees the exercise at the default threshold, then one sees it at 40: a threshold change to mark.
  await runNow();
  expect((await fetch(`${acu.url}/api/thresholds/${ex}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 40 }) })).status).toBe(200);
  await runNow();

  const { page, problems } = await openDashboard();
  const asked: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/analytics/")) asked.push(decodeURIComponent(r.url().slice(acu.url.length)));
  });
  await page.locator("#trend-panel").scrollIntoViewIfNeeded();
  await page.selectOption("#tr-exercise", ex);
  const chart = page.locator(`#tr-chart svg.trend[data-exercise="${ex}"][data-region=""]`);
  await chart.waitFor({ timeout: 10_000 });
  expect(await page.locator("#map-exercise").inputValue()).toBe(ex); // one selection for the whole page

  /** What the chart draws (each bucket's group, the points, the threshold, the markers) and its table says. */
  const drawn = () =>
    page.evaluate(() => {
      const svg = document.querySelector("#tr-chart svg.trend")!;
      const attr = (e: Element, a: string) => e.getAttribute(a);
      return {
        exerciseId: attr(svg, "data-exercise"),
        region: attr(svg, "data-region"),
        from: attr(svg, "data-from")!,
        to: attr(svg, "data-to")!,
        buckets: [...svg.querySelectorAll("g.trend-bucket")].map((g) => ({
          start: attr(g, "data-start"),
          reports: Number(attr(g, "data-reports")),
          failures: Number(attr(g, "data-failures")),
        })),
        bars: [...svg.querySelectorAll("rect.trend-bar")].length,
        points: [...svg.querySelectorAll("circle.trend-point")].map((c) => ({ start: attr(c, "data-start"), value: Number(attr(c, "data-value")) })),
        threshold: svg.querySelector("g.trend-threshold")?.getAttribute("data-threshold") ?? null,
        thresholdLabel: svg.querySelector("g.trend-threshold text")?.textContent ?? null,
        changes: [...svg.querySelectorAll("g.trend-change")].map((g) => ({ at: attr(g, "data-at"), threshold: Number(attr(g, "data-threshold")) })),
        table: [...document.querySelectorAll("#tr-table tbody tr")].map((tr) => ({
          start: tr.getAttribute("data-start"),
          reports: tr.querySelector('[data-figure="reports"]')!.textContent,
          failures: tr.querySelector('[data-figure="failures"]')!.textContent,
        })),
        label: svg.getAttribute("aria-label"),
        desc: svg.querySelector("desc")?.textContent ?? "",
      };
    });
  /** The chart against the API's answer for the same exercise, region and range. */
  const checkTrend = async (region: string | null) => {
    const d = await drawn();
    const api = await getJson<TrendAnswer>(
      `/api/analytics/trends?exerciseId=${ex}${region ? `&region=${encodeURIComponent(region)}` : ""}&from=${d.from}&to=${d.to}`,
    );
    expect([d.exerciseId, d.region]).toEqual([ex, region ?? ""]);
    expect(api.buckets.length).toBe(24);
    expect(d.buckets).toEqual(api.buckets.map((b) => ({ start: b.start, reports: b.reports, failures: b.failures })));
    expect(d.table).toEqual(api.buckets.map((b) => ({ start: b.start, reports: String(b.reports), failures: String(b.failures) })));
    const withReports = api.buckets.filter((b) => b.reports > 0);
    expect(d.points).toEqual(withReports.map((b) => ({ start: b.start, value: b.successRate! })));
    expect(d.bars).toBe(api.buckets.filter((b) => b.failures > 0).length);
    expect(d.threshold).toBe(String(api.threshold));
    expect(d.thresholdLabel).toBe(`threshold ${api.threshold} %`);
    expect(d.changes).toEqual(api.thresholdChanges);
    expect(d.label).toContain(ex);
    expect(d.desc).toContain(`${withReports.length} of 24 hours with reports`);
    return { api, withReports };
  };
  const all = await checkTrend(null);
  // What was sent: three hours with reports, 2, 0 and 2 failures at the threshold of 40; its change marked.
  expect(all.withReports.map((b) => [b.reports, b.failures])).toEqual([
    [3, 2],
    [2, 0],
    [4, 2],
  ]);
  expect(all.api.threshold).toBe(40);
  expect(all.api.thresholdChanges.map((c) => c.threshold)).toEqual([40]);
  await screenshot(page, "dashboard-trend");
  // In French too: the panel, its chart's name, the switch.
  await page.click("#lang");
  expect(await page.locator("#tr-h").textContent()).toBe("Tendance");
  expect(await page.locator("#tr-chart svg.trend").getAttribute("aria-label")).toBe(
    `Tendance de ${ex}, toutes les régions, dernières 24 heures, par heure : échecs et taux de réussite`,
  );
  expect(await page.locator("#window label").allTextContents()).toEqual(["la dernière heure", "les dernières 24 h", "tous les rendus"]);
  await page.click("#lang");
  expect(await page.locator("#tr-chart svg.trend").getAttribute("aria-label")).toBe(
    `Trend of ${ex}, all regions, last 24 hours, per hour: failures and success rate`,
  );

  // A region picked in the ranking: the trend of Hauts-de-France (Lille) alone.
  await page.click('#rg-rows tr[data-region="Hauts-de-France"] button');
  await page.locator(`#tr-chart svg.trend[data-exercise="${ex}"][data-region="Hauts-de-France"]`).waitFor({ timeout: 10_000 });
  expect(await page.locator('#rg-rows tr[data-region="Hauts-de-France"] button').getAttribute("aria-pressed")).toBe("true");
  expect(await page.locator("#tr-region").inputValue()).toBe("Hauts-de-France");
  expect(asked.some((u) => u.startsWith("/api/analytics/trends?") && u.includes("region=Hauts-de-France"))).toBe(true);
  const lille = await checkTrend("Hauts-de-France");
  expect(lille.withReports.map((b) => [b.reports, b.failures])).toEqual([
    [3, 2],
    [2, 1],
  ]);
  // …or on the map, from the keyboard: Auvergne-Rhône-Alpes (Lyon); Enter on it again: all regions.
  const ara = page.locator('svg.map path.region[data-region="Auvergne-Rhône-Alpes"]');
  await ara.focus();
  await page.keyboard.press("Enter");
  await page.locator(`#tr-chart svg.trend[data-region="Auvergne-Rhône-Alpes"]`).waitFor({ timeout: 10_000 });
  expect((await checkTrend("Auvergne-Rhône-Alpes")).withReports.map((b) => [b.reports, b.failures])).toEqual([[2, 0]]);
  await page.keyboard.press("Enter");
  await page.locator(`#tr-chart svg.trend[data-exercise="${ex}"][data-region=""]`).waitFor({ timeout: 10_000 });

  // The trend panel's CSV: the same buckets as the JSON of the same range.
  const trendCsv = await downloadCsv(page, "trend-panel");
  expect(trendCsv.name).toBe("acu-trends.csv");
  expect(trendCsv.rows.length).toBe(24);
  const csvFrom = trendCsv.rows[0]!.start!;
  const csvTo = new Date(Date.parse(trendCsv.rows.at(-1)!.start!) + HOUR).toISOString();
  const sameRange = await getJson<TrendAnswer>(`/api/analytics/trends?exerciseId=${ex}&from=${csvFrom}&to=${csvTo}`);
  const orNull = (v: string | undefined) => (v === "" || v === undefined ? null : Number(v));
  expect(
    trendCsv.rows.map((r) => ({
      start: r.start,
      reports: Number(r.reports),
      averageScore: orNull(r.averageScore),
      failures: Number(r.failures),
      successRate: orNull(r.successRate),
    })),
  ).toEqual(sameRange.buckets);
  expect(new Set(trendCsv.rows.map((r) => `${r.exerciseId}|${r.region}|${r.bucket}|${r.threshold}`))).toEqual(new Set([`${ex}||hour|40`]));

  // The window switch, from the keyboard: "all" (the default) to "the last 24 h" to "the last hour".
  expect(await page.locator("#window input:checked").getAttribute("value")).toBe("all");
  expect(asked.filter((u) => /^\/api\/analytics\/(exercises|regions|hotspots)\?/.test(u)).every((u) => u.includes("window=all"))).toBe(true);
  await page.focus("#window input:checked");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  expect(await page.locator("#window input:checked").getAttribute("value")).toBe("1h");
  for (const path of ["exercises", "regions", "hotspots"]) {
    await eventually(
      `a request of /api/analytics/${path} with window=1h`,
      async () => asked.some((u) => u.startsWith(`/api/analytics/${path}?`) && u.includes("window=1h")),
      5_000,
      50,
    );
  }
  expect(asked.filter((u) => u.startsWith("/api/analytics/hotspots?") && u.includes("window=1h")).every((u) => u.includes(`exerciseId=${ex}`))).toBe(true);
  // The table shows what the API counts over the last hour: here 4 of the exercise's 9 reports.
  const lastHour = await getJson<ExercisesAnswer>("/api/analytics/exercises?window=1h&limit=1000");
  expect(lastHour.window.window).toBe("1h");
  expect(lastHour.exercises.find((e) => e.exerciseId === ex)).toMatchObject({ reports: 4, failures: 2 });
  await page.waitForFunction((id) => document.querySelector(`#ex-rows tr[data-exercise="${id}"] td`)?.textContent === "4", ex, { timeout: 10_000 });
  const table = await page
    .locator("#ex-rows tr")
    .evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset.exercise, ...[...r.querySelectorAll("td")].map((td) => td.textContent)]));
  expect(table.map(([id, reports, , , failures]) => [id, reports, failures]).sort()).toEqual(
    lastHour.exercises.map((e) => [e.exerciseId, String(e.reports), String(e.failures)]).sort(),
  );
  // It says since when: the window's start, to the minute.
  const since = await page.evaluate(
    (from) => new Date(from).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
    lastHour.window.from!,
  );
  expect(await page.locator("#window-since").textContent()).toContain(`reports since`);
  expect(await page.locator("#window-since").textContent()).toContain(since);
  expect(await page.locator("#ex-fresh").textContent()).toContain(since);
  // The map over the last hour too: the hotspots the API lists for it (Lille's 3 failures of all time are 1 in the last hour).
  const hotspots1h = await getJson<{ cells: Array<{ failures: number }> }>(`/api/analytics/hotspots?exerciseId=${ex}&limit=40&window=1h`);
  const failures1h = hotspots1h.cells.map((c) => c.failures).join(",");
  expect(failures1h).toBe("1,1");
  await page.waitForFunction(
    (f) =>
      [...document.querySelectorAll("svg.map circle.hotspot")]
        .map((c) => Number(c.getAttribute("data-failures")))
        .sort((a, b) => b - a)
        .join(",") === f,
    failures1h,
    { timeout: 10_000 },
  );
  // The exercises panel's CSV: the same last hour as its JSON.
  const exCsv = await downloadCsv(page, "exercises-panel");
  expect(exCsv.name).toBe("acu-exercises.csv");
  expect(
    exCsv.rows.map((r) => ({
      exerciseId: r.exerciseId,
      reports: Number(r.reports),
      averageScore: Number(r.averageScore),
      failures: Number(r.failures),
      threshold: Number(r.threshold),
    })),
  ).toEqual(lastHour.exercises);
  expect(new Set(exCsv.rows.map((r) => `${r.window}|${r.windowFrom}`))).toEqual(new Set([`1h|${lastHour.window.from}`]));

  // A phone: the switch and the chart fit its width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(await page.locator("#tr-chart svg.trend").evaluate((e) => e.getBoundingClientRect().width)).toBeLessThanOrEqual(390);
  await page.locator("#trend-panel").scrollIntoViewIfNeeded();
  await screenshot(page, "dashboard-trend-phone");
  expect(problems).toEqual([]);
  await page.close();
});

test("without a token the page asks for one (a refused one again), keeps it for the tab, and streams with it", async () => {
  browser ??= await launchChromium();
  const page = await browser.newPage();
  const problems = watchProblems(page);
  await page.goto(`${acu.url}/`);
  // Every first call is refused (401): one dialog asks, for a viewer or operator token.
  await page.waitForSelector("#token-dialog[open]");
  expect(await page.locator("#token-msg").textContent()).toContain("viewer token");
  await page.fill("#token-input", "not-a-token-at-all-0123");
  await page.press("#token-input", "Enter");
  // Refused as well: asked again.
  await page.waitForSelector("#token-dialog[open]", { timeout: 20_000 });
  await page.fill("#token-input", TOKENS.viewer);
  await page.press("#token-input", "Enter");
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  await page.waitForFunction(() => window.acu.state.fresh.thresholds.at > 0 && window.acu.state.fresh.exercises.at > 0, undefined, { timeout: 20_000 });
  expect(await page.evaluate(() => sessionStorage.getItem("acu.token"))).toBe(TOKENS.viewer);
  // The token never travels in a URL: the stream URLs carry none.
  for (const u of await page.evaluate(() => window.acu.feed.connections)) expect(u).not.toContain(TOKENS.viewer);
  // A reload in the same tab keeps it: no dialog, live again.
  await page.reload();
  await page.waitForSelector("#conn.live", { timeout: 20_000 });
  expect(await page.locator("#token-dialog[open]").count()).toBe(0);
  // Everything that went wrong was a refusal for want of a valid token, or a request the reload above
  // cut short (net::ERR_ABORTED: the page was navigating away, not refused).
  for (const p of problems) expect(p).toMatch(/\b401\b|Unauthorized|HTTP Authentication failed|\(net::ERR_ABORTED\)$/);
  expect(problems.length).toBeGreaterThan(0);
  await page.close();
});

test("the compiled binary serves the same dashboard, bundled inside it", async () => {
  const build = Bun.spawnSync({ cmd: [process.execPath, "run", "build"], cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const bin = tempDir("browser-bin");
  try {
    mkdirSync(join(bin, "bin"));
    copyFileSync(join(ROOT, "dist/acu"), join(bin, "bin/acu"));
    Bun.spawnSync({ cmd: ["chmod", "+x", join(bin, "bin/acu")] });
    const fromBinary = await startAcu({ dataDir: join(bin, "data"), cmd: [join(bin, "bin/acu")], cwd: bin, env: { PATH: "/usr/bin:/bin" } });
    try {
      const { page, problems } = await openDashboard(fromBinary.url);
      await page.waitForFunction(() => document.querySelectorAll("svg.map path.region").length === 13);
      const sent = Date.now();
      await postReports(fromBinary.url, { studentId: "bin-1", exerciseId: "browser.bin", score: 3, ...LYON, timestamp: sent });
      await feedRow(page, "bin-1").waitFor({ timeout: 5_000 });
      // The script it serves is the one web/build.ts makes from web/src/.
      const served = await (await fetch(`${fromBinary.url}/assets/app.js`)).text();
      const { buildDashboard } = await import("../../web/build.ts");
      expect(served).toBe((await buildDashboard()).js);
      await screenshot(page, "dashboard-binary");
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      expect(await fromBinary.stop()).toBe(0);
    }
  } finally {
    cleanup(bin);
  }
});
