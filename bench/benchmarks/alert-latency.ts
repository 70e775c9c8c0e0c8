import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOKENS } from "../../tests/support/acu.ts";
import {
  machineInfo,
  timing,
  round,
  runId,
  startAcuRole,
  thresholdOf,
  writeThresholds,
  type BenchContext,
  type BenchResult,
  type Proc,
  type Run,
} from "../lib/common.ts";
import { histogram, sendScheduledLoad, summaryMs } from "../lib/load.ts";

const PARTITIONS = 6;
const RATE = 5_000;
const TICK_MS = 10;

/**
 * Alert latency: a steady 5,000 reports/s into POST /api/reports (acu --role=ingest), judged by
 * --role=alert, pushed by --role=http on WS /api/alerts/stream. Latency = the moment the report's request
 * is sent → the moment its order's frame arrives on the WebSocket client (matched by reportId, which the
 * harness sets on each report), one clock (this process). HdrHistogram, microsecond resolution.
 */
export async function benchAlertLatency(ctx: BenchContext): Promise<BenchResult & { peakRssMiB: Record<string, number | null> }> {
  const t0 = performance.now();
  const seconds = { smoke: 3, quick: 20, full: 60 }[ctx.mode];
  const repeats = ctx.mode === "full" ? Math.max(1, ctx.pairs) : 1;
  const warmupS = Math.min(5, seconds * 0.1);
  const brokers = ctx.env.ACU_KAFKA_BROKERS!;
  const etcd = ctx.env.ACU_ETCD_ENDPOINTS!;
  const runs: Run[] = [];
  const peaks: Record<string, number | null> = {};
  const total = histogram();
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-latency-"));
  try {
    for (let rep = 0; rep < repeats; rep++) {
      const ns = runId("latency");
      const prefix = `/${ns}/thresholds/`;
      await writeThresholds(etcd, prefix);
      const env = {
        ACU_KAFKA_BROKERS: brokers,
        ACU_KAFKA_NAMESPACE: `${ns}.`,
        ACU_PARTITIONS: String(PARTITIONS),
        ACU_ETCD_ENDPOINTS: etcd,
        ACU_ETCD_PREFIX: prefix,
        ACU_ETCD_DISPATCH_PREFIX: `/${ns}/dispatch/`,
      };
      const procs: Record<string, Proc & { url: string }> = {};
      try {
        // Started one after the other: the first creates the topics.
        procs.ingest = await startAcuRole({ roles: "ingest", dataDir: join(dir, `${rep}-ingest`), env });
        procs.alert = await startAcuRole({ roles: "alert", dataDir: join(dir, `${rep}-alert`), env });
        // The http role reads analytics from the warehouse: PostgreSQL, as in a role-by-role deployment.
        procs.http = await startAcuRole({ roles: "http", dataDir: join(dir, `${rep}-http`), env: { ...env, ACU_DATABASE_URL: ctx.env.ACU_DATABASE_URL! } });
        const sentAt = new Map<string, number>();
        const hist = histogram();
        let received = 0,
          expected = 0,
          late = 0,
          measureFrom = Infinity;
        // Where the time goes (ms, wall clock of this machine): request → 202; report time → order raised
        // (ingest, Kafka, the alert role's fetch and judging); order raised → frame (transaction commit, the feed's fetch, WebSocket).
        const stage = { ackMs: histogram(), toRaisedMs: histogram(), raisedToFrameMs: histogram() };
        const ws = new WebSocket(`${procs.http.url.replace("http", "ws")}/api/alerts/stream`, {
          headers: { authorization: `Bearer ${TOKENS.viewer}` },
        } as unknown as string[]);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no hello on the alert stream within 30 s")), 30_000);
          ws.onerror = () => reject(new Error("alert stream: WebSocket error"));
          ws.onmessage = (ev) => {
            const now = performance.now();
            const wall = Date.now();
            const m = JSON.parse(String(ev.data)) as { type: string; alert?: { reportId: string; reportedAt: number; raisedAt: number } };
            if (m.type === "hello") {
              clearTimeout(timer);
              resolve();
            } else if (m.type === "alert") {
              const sent = sentAt.get(m.alert!.reportId);
              if (sent === undefined) return;
              sentAt.delete(m.alert!.reportId);
              received++;
              if (sent >= measureFrom) {
                hist.recordValue(Math.max(1, Math.round((now - sent) * 1000)));
                stage.toRaisedMs.recordValue(Math.max(1, (m.alert!.raisedAt - m.alert!.reportedAt) * 1000));
                stage.raisedToFrameMs.recordValue(Math.max(1, (wall - m.alert!.raisedAt) * 1000));
              } else late++;
            }
          };
        });
        const load = await sendScheduledLoad({
          ingestUrl: procs.ingest.url,
          token: TOKENS.ingest,
          rate: RATE,
          tickMs: TICK_MS,
          seconds,
          seed: 31 + rep,
          ns,
          onSend: (reports, sent) => {
            if (measureFrom === Infinity) measureFrom = sent + warmupS * 1000;
            for (const r of reports)
              if (r.score < thresholdOf(r.exerciseId)) {
                sentAt.set(r.reportId, sent);
                expected++;
              }
          },
          onAnswer: (_status, sent) => {
            if (sent >= measureFrom) stage.ackMs.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
          },
        });
        const deadline = performance.now() + 60_000;
        while (received < expected && performance.now() < deadline) await Bun.sleep(50);
        ws.close();
        for (const [role, p] of Object.entries(procs)) peaks[`${role}#${rep}`] = p.peakRssMiB();
        if (load.refused > 0) throw new Error(`ingest refused ${load.refused} request(s)`);
        total.add(hist);
        const q = (p: number) => round(hist.getValueAtPercentile(p) / 1000, 2);
        runs.push({
          who: "acu",
          seq: rep,
          value: q(99),
          p50Ms: q(50),
          p99Ms: q(99),
          p999Ms: q(99.9),
          maxMs: round(hist.maxValue / 1000, 2),
          samples: hist.totalCount,
          warmupSamples: late,
          expected,
          received,
          missing: expected - received,
          sendSeconds: load.sendSeconds,
          achievedRate: load.achievedRate,
          maxScheduleLagMs: load.maxBehindMs,
          peakRssMiB: { ingest: procs.ingest.peakRssMiB(), alert: procs.alert.peakRssMiB(), http: procs.http.peakRssMiB() },
          stagesMs: Object.fromEntries(Object.entries(stage).map(([k, h]) => [k, summaryMs(h)])),
        });
        ctx.log(`run ${rep}: stages ${JSON.stringify(runs[runs.length - 1]!.stagesMs)}`);
        ctx.log(
          `run ${rep}: p50 ${q(50)} ms, p99 ${q(99)} ms, p99.9 ${q(99.9)} ms, max ${round(hist.maxValue / 1000, 2)} ms over ${hist.totalCount} alerts (${expected - received} missing)`,
        );
        if (expected - received > 0) throw new Error(`${expected - received} of ${expected} alerts never reached the WebSocket`);
      } finally {
        for (const p of Object.values(procs)) await p.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const q = (p: number) => round(total.getValueAtPercentile(p) / 1000, 2);
  const p99 = q(99);
  return {
    name: "alert-latency",
    ...timing(ctx, t0),
    params: {
      rate: RATE,
      seconds,
      warmupSeconds: warmupS,
      requestsPerSecond: 1000 / TICK_MS,
      reportsPerRequest: (RATE * TICK_MS) / 1000,
      partitions: PARTITIONS,
      runs: repeats,
    },
    runs,
    latencyMs: { p50: q(50), p90: q(90), p99, p999: q(99.9), max: round(total.maxValue / 1000, 2), samples: total.totalCount },
    peakRssMiB: peaks,
    comparisons: [
      { metric: "p50 ms (send → WS frame)", higherIsBetter: false, peer: "", peerMedian: null, acuMedian: q(50), ratio: null, goal: "—", met: null },
      {
        metric: "p99 ms (send → WS frame)",
        higherIsBetter: false,
        peer: "goal",
        peerMedian: 25,
        acuMedian: p99,
        ratio: round(25 / p99, 3),
        goal: "p99 < 25 ms",
        met: p99 < 25,
      },
      { metric: "p99.9 ms (send → WS frame)", higherIsBetter: false, peer: "", peerMedian: null, acuMedian: q(99.9), ratio: null, goal: "—", met: null },
      {
        metric: "max ms (send → WS frame)",
        higherIsBetter: false,
        peer: "",
        peerMedian: null,
        acuMedian: round(total.maxValue / 1000, 2),
        ratio: null,
        goal: "—",
        met: null,
      },
    ],
    notes: [
      "Three acu processes on the bench cluster: --role=ingest, --role=alert, --role=http (the WebSocket feed; warehouse on PostgreSQL); thresholds in etcd.",
      `Load: ${RATE} reports/s as ${1000 / TICK_MS} requests/s of ${(RATE * TICK_MS) / 1000} reports, each request sent on schedule without waiting for the previous one; ~20 % of reports are below threshold and are the samples.`,
      `The first ${warmupS} s of each run are warm-up, not recorded. Percentiles from HdrHistogram (hdr-histogram-js), all runs merged.`,
      "stagesMs per run: ackMs = request → 202 (ingest, acks=all); toRaisedMs = report timestamp (set at send) → the order's raisedAt (Kafka, the alert role's fetch, judging); raisedToFrameMs = raisedAt → frame (transaction commit, the http role's fetch, WebSocket). Wall clock, ms resolution.",
    ],
    machine: machineInfo(),
  };
}
