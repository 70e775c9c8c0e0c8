import * as hdr from "hdr-histogram-js";
import type { Report } from "../../src/domain/report.ts";
import { benchReport, round } from "./common.ts";

/** A latency histogram; values are recorded in microseconds (up to 120 s). */
export const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

export type Histogram = ReturnType<typeof histogram>;

/** p50/p99/max of a microsecond histogram, in ms. */
export function summaryMs(h: Histogram): { p50: number; p99: number; max: number } {
  return { p50: round(h.getValueAtPercentile(50) / 1000, 2), p99: round(h.getValueAtPercentile(99) / 1000, 2), max: round(h.maxValue / 1000, 2) };
}

/** One report as the harness sends it: a bench report with the harness's reportId and timestamp = now (ingest adds the region). */
export type SentReport = Omit<Report, "region">;

export interface LoadOptions {
  ingestUrl: string;
  token: string;
  /** Reports per second, sent as one request every `tickMs`. */
  rate: number;
  tickMs: number;
  seconds: number;
  seed: number;
  /** Makes the reportIds of this run unique. */
  ns: string;
  /** Each request's reports, with the moment (performance.now()) it is sent. */
  onSend?: (reports: SentReport[], sentAt: number) => void;
  /** Each answer: its status and the moment its request was sent. */
  onAnswer?: (status: number, sentAt: number) => void;
}

export interface LoadResult {
  sent: number;
  refused: number;
  maxBehindMs: number;
  sendSeconds: number;
  achievedRate: number;
}

/**
 * The latency benchmarks' load, written once: a steady schedule of one request of rate × tickMs / 1000
 * reports every tickMs, each sent without waiting for the previous one (an open loop: a slow answer does
 * not slow the load down, so queueing shows in the figures instead of hiding in the sender).
 */
export async function sendScheduledLoad(o: LoadOptions): Promise<LoadResult> {
  const perTick = (o.rate * o.tickMs) / 1000;
  const ticks = Math.round((o.seconds * 1000) / o.tickMs);
  const headers = { authorization: `Bearer ${o.token}`, "content-type": "application/json" };
  const start = performance.now();
  let refused = 0,
    maxBehindMs = 0;
  const inflight = new Set<Promise<void>>();
  for (let t = 0; t < ticks; t++) {
    const due = start + t * o.tickMs;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    maxBehindMs = Math.max(maxBehindMs, performance.now() - due);
    const batch: SentReport[] = [];
    for (let i = 0; i < perTick; i++) {
      const r = benchReport(t * perTick + i, o.seed);
      // timestamp = now: an order's reportedAt then says when the report left (stage timings).
      const { studentId, exerciseId, score, latitude, longitude } = r;
      batch.push({ reportId: `${o.ns.slice(-12)}-${t}-${i}`, studentId, exerciseId, score, latitude, longitude, timestamp: Date.now() });
    }
    const sentAt = performance.now();
    o.onSend?.(batch, sentAt);
    const p = fetch(`${o.ingestUrl}/api/reports`, { method: "POST", headers, body: JSON.stringify(batch) }).then(
      async (res) => {
        await res.arrayBuffer();
        o.onAnswer?.(res.status, sentAt);
        if (res.status !== 202) refused++;
      },
      () => void refused++,
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - start) / 1000;
  return {
    sent: ticks * perTick,
    refused,
    maxBehindMs: round(maxBehindMs, 1),
    sendSeconds: round(sendSeconds, 2),
    achievedRate: round((ticks * perTick) / sendSeconds, 0),
  };
}
