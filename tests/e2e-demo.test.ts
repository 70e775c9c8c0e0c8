import { afterAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(600_000);
import { runSignal } from "../modules/signal/index.ts";
import { deriveReportId } from "../src/domain/report.ts";
import { regionOf } from "../src/domain/region-index.ts";
import { authedWebSocket, cleanup, eventually, operator, startAcu, tempDir, TOKENS, viewer } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";
import { recompute } from "./support/recompute.ts";
import { alertIdFor } from "../src/domain/deployment-order.ts";

/**
 * The acceptance run: the all-in-one demo under `acu signal` at 2,000 reports/s for 60 s (set
 * ACU_E2E_SECONDS to shorten it locally). Every acknowledged report is in the lake exactly once; every
 * report below its threshold yields exactly one alert on the live stream; after an analyzer run the
 * analytics endpoints equal a recomputation from the raw reports.
 */
const RATE = Number(process.env.ACU_E2E_RATE ?? 2000);
const SECONDS = Number(process.env.ACU_E2E_SECONDS ?? 60);
const dir = tempDir("e2e");
afterAll(() => cleanup(dir));

test(`demo under signal at ${RATE}/s for ${SECONDS} s: lake exactly once, one alert per failure, exact analytics`, async () => {
  // The defaults of a demo: the exercise catalogue strict (the signal's exercises entered on the embedded store), students' rate limit on.
  const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "2000" }, unset: ["ACU_EXERCISES", "ACU_INGEST_STUDENT_RATE_LIMIT"] });
  try {
    // Exercise-specific thresholds as well as the default.
    for (const [id, t] of [
      ["c00.ex00.my_putchar", 70],
      ["bsq", 30],
    ] as const) {
      const r = await fetch(`${acu.url}/api/thresholds/${id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: t }) });
      expect(r.status).toBe(200);
    }
    const snap = (await (await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).json()) as { default: number; thresholds: Record<string, number> };
    const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;

    // Live stream opened before any report is sent.
    const streamed: Array<{ alertId: string; reportId: string }> = [];
    const ws = authedWebSocket(`${acu.url.replace("http", "ws")}/api/alerts/stream`);
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data));
        if (m.type === "hello") resolve();
        if (m.type === "alert") streamed.push(m.alert);
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });

    const accepted: Array<{ studentId: string; exerciseId: string; score: number; latitude: number; longitude: number; timestamp: number }> = [];
    const result = await runSignal(
      { target: acu.url, rate: RATE, count: RATE * SECONDS, seed: 7, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) },
      () => {},
    );
    expect(result.rejected).toBe(0);
    expect(accepted.length).toBe(RATE * SECONDS);

    const reports = accepted.map((r) => ({ ...r, reportId: deriveReportId(r), region: regionOf(r.latitude, r.longitude) }));
    const expectedAlerts = new Set(reports.filter((r) => r.score < thresholdOf(r.exerciseId)).map((r) => alertIdFor(r.studentId, r.reportId)));

    // Lake: every acknowledged report exactly once.
    const lake = await eventually(
      "every report in the lake",
      async () => {
        const l = await readLake(dir, "reports");
        return l.rows.length >= reports.length ? l : null;
      },
      120_000,
      1000,
    );
    const lakeIds = lake.rows.map((r) => r.reportId as string);
    expect(lakeIds.length).toBe(reports.length);
    expect(new Set(lakeIds).size).toBe(reports.length);
    expect(new Set(lakeIds)).toEqual(new Set(reports.map((r) => r.reportId)));

    // Live stream: exactly one alert per failing report, none other.
    await eventually("every alert on the stream", async () => streamed.length >= expectedAlerts.size, 60_000);
    await Bun.sleep(500);
    ws.close();
    const streamedIds = streamed.map((a) => a.alertId);
    expect(streamedIds.length).toBe(expectedAlerts.size);
    expect(new Set(streamedIds)).toEqual(expectedAlerts);

    // Deployment reports in long-term storage: one per alert.
    const deployments = await eventually(
      "every deployment report in the lake",
      async () => {
        const d = await readLake(dir, "deployments");
        return d.rows.length >= expectedAlerts.size ? d : null;
      },
      60_000,
      1000,
    );
    expect(deployments.rows.length).toBe(expectedAlerts.size);
    expect(new Set(deployments.rows.map((r) => r.alertId as string))).toEqual(expectedAlerts);

    // Analytics after a run equal a recomputation from the raw reports.
    const run = await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator });
    expect(run.status).toBe(200);
    const summary = (await run.json()) as { outcome: string; rows: number };
    expect(summary.outcome).toBe("succeeded");
    expect(summary.rows).toBe(reports.length);
    const want = recompute(reports, thresholdOf, 0.1);

    const ex = (await (await fetch(`${acu.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
      exercises: Array<{ exerciseId: string; reports: number; averageScore: number }>;
    };
    expect(ex.exercises.map((e) => e.exerciseId).sort()).toEqual([...want.exercises.keys()].sort());
    for (const e of ex.exercises) {
      const w = want.exercises.get(e.exerciseId)!;
      expect(e.reports).toBe(w.reports);
      expect(Math.abs(e.averageScore - w.sum / w.reports)).toBeLessThan(1e-9);
    }

    for (const exerciseId of ["c00.ex00.my_putchar", "bsq", [...want.exercises.keys()][3]!]) {
      const h = (await (await fetch(`${acu.url}/api/analytics/hotspots?exerciseId=${exerciseId}&limit=10`, { headers: viewer })).json()) as {
        cells: Array<{ latitude: number; longitude: number; failures: number; reports: number }>;
      };
      const all = want.hotspots(exerciseId);
      expect(h.cells.map((c) => c.failures)).toEqual(all.slice(0, 10).map((c) => c.failures));
      // Tie-robust: each returned cell has exactly the recomputed counts at its centre.
      for (const c of h.cells) {
        const w = all.find((x) => Math.abs(x.latitude - c.latitude) < 1e-9 && Math.abs(x.longitude - c.longitude) < 1e-9);
        expect(w).toBeDefined();
        expect([c.failures, c.reports]).toEqual([w!.failures, w!.reports]);
      }
    }

    const rg = (await (await fetch(`${acu.url}/api/analytics/regions?exerciseId=bsq`, { headers: viewer })).json()) as {
      regions: Array<{ region: string; reports: number; failures: number; averageScore: number }>;
    };
    const wantRegions = want.regions("bsq");
    expect(rg.regions.length).toBe(wantRegions.size);
    for (const r of rg.regions) {
      const w = wantRegions.get(r.region)!;
      expect(r.reports).toBe(w.reports);
      expect(r.failures).toBe(w.failures);
      expect(Math.abs(r.averageScore - w.sum / w.reports)).toBeLessThan(1e-9);
    }
    // Trends per hour, for an exercise and for a region (all exercises, each by its threshold), equal the raw reports per hour.
    const HOUR = 3_600_000;
    const times = reports.map((r) => r.timestamp);
    const from = Math.floor(Math.min(...times) / HOUR) * HOUR;
    const to = (Math.floor(Math.max(...times) / HOUR) + 1) * HOUR;
    const region = rg.regions[0]!.region;
    for (const q of [`exerciseId=bsq`, `region=${encodeURIComponent(region)}`]) {
      const t = (await (await fetch(`${acu.url}/api/analytics/trends?${q}&from=${from}&to=${to}&bucket=hour`, { headers: viewer })).json()) as {
        buckets: Array<{ start: string; reports: number; failures: number; averageScore: number | null }>;
      };
      const rows = reports.filter((r) => (q === "exerciseId=bsq" ? r.exerciseId === "bsq" : r.region === region));
      expect(t.buckets.map((b) => Date.parse(b.start))).toEqual(Array.from({ length: (to - from) / HOUR }, (_, i) => from + i * HOUR));
      for (const b of t.buckets) {
        const inHour = rows.filter((r) => Math.floor(r.timestamp / HOUR) * HOUR === Date.parse(b.start));
        expect([b.reports, b.failures]).toEqual([inHour.length, inHour.filter((r) => r.score < thresholdOf(r.exerciseId)).length]);
        if (inHour.length > 0) expect(Math.abs(b.averageScore! - inHour.reduce((n, r) => n + r.score, 0) / inHour.length)).toBeLessThan(1e-9);
      }
      expect(t.buckets.reduce((n, b) => n + b.reports, 0)).toBe(rows.length);
    }
    // The last 24 hours hold every report of the run: the window equals the cumulative answer.
    const day = (await (await fetch(`${acu.url}/api/analytics/exercises?window=24h`, { headers: viewer })).json()) as typeof ex;
    expect(day.exercises.map((e) => [e.exerciseId, e.reports])).toEqual(ex.exercises.map((e) => [e.exerciseId, e.reports]));
    for (const [i, e] of day.exercises.entries()) expect(Math.abs(e.averageScore - ex.exercises[i]!.averageScore)).toBeLessThan(1e-9);

    console.log(`e2e: ${reports.length} reports at ${result.achievedRate.toFixed(0)}/s, ${expectedAlerts.size} alerts, ${lake.files.length} report files`);
  } finally {
    expect(await acu.stop()).toBe(0);
  }
});
