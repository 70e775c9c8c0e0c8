/**
 * Takes the README's screenshot, docs/dashboard.png: acu from source on a fresh data dir, the reports of
 * the last twelve hours (so the trend panel has a day to show), then realistic traffic from `acu signal`
 * for about a minute with the analyzer on a 20 s schedule (bsq's threshold changed after its first run: a
 * marker on the trend), then the dashboard at 1280 px with bsq selected while orders still stream in.
 *
 *   bun tests/browser/screenshot.ts [out.png]
 */
import { join } from "node:path";
import { createReportGenerator } from "../../modules/signal/index.ts";
import { cleanup, operator, postReports, ROOT, startAcu, tempDir, TOKENS, viewer } from "../support/acu.ts";
import { closeChromium, launchChromium } from "./browser.ts";

const out = process.argv[2] ?? join(ROOT, "docs/dashboard.png");
const dir = tempDir("screenshot");
// The analyzer on a 20 s schedule, so the page has a few runs to tell the next one from.
const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "1000", ACU_ANALYZER_SCHEDULE: "*/20 * * * * *" } });
// Two exercises with thresholds of their own, as an operator would set them.
for (const [exerciseId, threshold] of [
  ["bsq", 40],
  ["c05.ex08.ft_ten_queens_puzzle", 45],
  ["c00.ex00.my_putchar", 60],
] as const) {
  await fetch(`${acu.url}/api/thresholds/${exerciseId}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold }) });
}
// The last twelve hours, busier in the middle of the day's sessions: the trend's history (the live traffic below adds the current hour).
const HOUR = 3_600_000;
const past = createReportGenerator({ seed: 11 });
const backlog = Array.from({ length: 12 }, (_, i) => 12 - i).flatMap((hoursAgo) => {
  const start = Date.now() - hoursAgo * HOUR;
  const n = Math.round(400 + 600 * Math.sin((Math.PI * hoursAgo) / 12));
  return Array.from({ length: n }, (_, k) => past.next(start + (k * HOUR) / n));
});
for (let i = 0; i < backlog.length; i += 500) await postReports(acu.url, backlog.slice(i, i + 500));
const signal = Bun.spawn({
  cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "signal", "--rate", "300", "--count", "30000", "--seed", "7", "--target", acu.url],
  env: { ...process.env, ACU_INGEST_TOKEN: TOKENS.ingest },
  stdout: "ignore",
  stderr: "ignore",
});
try {
  // About a minute of traffic: three scheduled runs or more; bsq's threshold raised after the first.
  let raised = false;
  for (let i = 0; i < 90; i++) {
    const runs = (await (await fetch(`${acu.url}/api/analytics/runs`, { headers: viewer })).json()) as { runs: { outcome: string }[] };
    const succeeded = runs.runs.filter((r) => r.outcome === "succeeded").length;
    if (succeeded >= 1 && !raised) {
      await fetch(`${acu.url}/api/thresholds/bsq`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 45 }) });
      raised = true;
    }
    if (succeeded >= 3 && i >= 60) break;
    await Bun.sleep(1000);
  }
  const browser = await launchChromium();
  const page = await browser.newPage();
  // The viewer token in the fragment, as the demo prints the dashboard URL.
  await page.goto(`${acu.url}/#token=${TOKENS.viewer}`);
  await page.waitForSelector("#conn.live");
  await page.waitForSelector("svg.map circle.hotspot");
  await page.selectOption("#map-exercise", "bsq");
  await page.waitForSelector('#tr-chart svg.trend[data-exercise="bsq"]');
  await page.waitForTimeout(4_000);
  await page.screenshot({ path: out, fullPage: true });
  await closeChromium(browser);
  console.log(`wrote ${out}`);
} finally {
  signal.kill();
  await acu.stop();
  cleanup(dir);
}
