import { afterEach, describe, expect, test } from "bun:test";
import { parseReportBatch } from "../../src/domain/report.ts";
import type { GeneratedReport } from "./generator.ts";
import { retryAfterMs, runSignal } from "./signal.ts";

type Handler = (req: Request, body: unknown[], n: number) => Response;

/** A tiny ingest stand-in on a random port that records what it received. */
function startIngest(handler: Handler) {
  const requests: { status: number; body: unknown[]; authorization: string | null; contentType: string | null }[] = [];
  const server = Bun.serve({
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/api/reports") return new Response("not found", { status: 404 });
      const body = (await req.json()) as unknown[];
      const res = handler(req, body, requests.length);
      requests.push({ status: res.status, body, authorization: req.headers.get("authorization"), contentType: req.headers.get("content-type") });
      return res;
    },
  });
  servers.push(server);
  return { target: `http://127.0.0.1:${server.port}`, requests };
}

const servers: ReturnType<typeof Bun.serve>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
});

const accepted = () => new Response(JSON.stringify({ accepted: true }), { status: 202 });
const quietLog = (lines: string[]) => (line: string) => void lines.push(line);

describe("runSignal", () => {
  test("delivers exactly `count` reports in batches ≤ batchSize, resending a batch after 503", async () => {
    const ingest = startIngest((_req, _body, n) => (n === 0 ? new Response("busy", { status: 503, headers: { "retry-after": "0" } }) : accepted()));
    const acked: GeneratedReport[][] = [];
    const lines: string[] = [];
    const result = await runSignal(
      { target: ingest.target, rate: 20_000, count: 1050, batchSize: 100, concurrency: 4, seed: 3, token: "t0k", onAccepted: (r) => acked.push(r) },
      quietLog(lines),
    );

    const ok = ingest.requests.filter((r) => r.status === 202);
    const received = ok.flatMap((r) => r.body);
    expect(received).toHaveLength(1050);
    for (const r of ingest.requests) {
      expect(r.body.length).toBeLessThanOrEqual(100);
      expect(r.contentType).toBe("application/json");
      expect(r.authorization).toBe("Bearer t0k");
    }
    // The refused batch came back unchanged.
    expect(ingest.requests[0]!.status).toBe(503);
    expect(ok.map((r) => JSON.stringify(r.body))).toContain(JSON.stringify(ingest.requests[0]!.body));
    // What the server kept is exactly what onAccepted reported, and it is valid on the wire.
    expect(acked.flat()).toEqual(expect.arrayContaining(received as GeneratedReport[]));
    expect(acked.flat()).toHaveLength(1050);
    for (const r of ok) expect(parseReportBatch(r.body).ok).toBe(true);

    expect(result.sent).toBe(1050);
    expect(result.rejected).toBe(0);
    expect(result.retries).toBe(1);
    expect(result.achievedRate).toBeGreaterThan(0);
    expect(lines.at(-1)).toContain("sent=1050");
  });

  test("paces to the requested rate", async () => {
    const ingest = startIngest(() => accepted());
    const result = await runSignal({ target: ingest.target, rate: 2000, count: 1000, batchSize: 500 }, () => {});
    // Batches carry 1/10 s of traffic (200 reports); the fifth is due at 500 ms.
    expect(ingest.requests.length).toBe(5);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(450);
    console.log(`signal: asked 2000/s, achieved ${Math.round(result.achievedRate)}/s over ${Math.round(result.elapsedMs)} ms`);
  });

  test("other statuses are rejected and the body is logged once", async () => {
    const ingest = startIngest(() => new Response(JSON.stringify({ error: "bad batch" }), { status: 400 }));
    const lines: string[] = [];
    const result = await runSignal({ target: ingest.target, rate: 50_000, count: 300, batchSize: 100 }, quietLog(lines));
    expect(result).toMatchObject({ sent: 0, rejected: 300, retries: 0 });
    expect(lines.filter((l) => l.includes("bad batch"))).toHaveLength(1);
  });

  test("a refused token (401/403) stops the whole run at once, with the server's message", async () => {
    for (const status of [401, 403]) {
      const ingest = startIngest(() => new Response(JSON.stringify({ error: `this needs an ingest token (${status})` }), { status }));
      const lines: string[] = [];
      // Unbounded: only the refusal can end it.
      const result = await runSignal({ target: ingest.target, rate: 1000, count: 0, batchSize: 10, concurrency: 4 }, quietLog(lines));
      expect(result.refused).toEqual({ status, message: `this needs an ingest token (${status})` });
      expect(result.sent).toBe(0);
      // The workers stop on the first answer: at most one request each was under way.
      expect(ingest.requests.length).toBeLessThanOrEqual(4);
      expect(lines.filter((l) => l.includes("token was refused"))).toHaveLength(1);
    }
  });

  test("network errors are retried with backoff, then the batch is given up", async () => {
    const ingest = startIngest(() => accepted());
    servers.pop()!.stop(true);
    const lines: string[] = [];
    const result = await runSignal({ target: ingest.target, rate: 1000, count: 20, batchSize: 20, backoffMs: 1 }, quietLog(lines));
    expect(result).toMatchObject({ sent: 0, rejected: 20, retries: 9 });
    expect(lines.some((l) => l.includes("network errors"))).toBe(true);
  });

  test("count 0 runs until aborted and counts only acknowledged reports", async () => {
    const ingest = startIngest(() => accepted());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    let acked = 0;
    const result = await runSignal(
      { target: ingest.target, rate: 5000, count: 0, batchSize: 250, signal: controller.signal, onAccepted: (r) => (acked += r.length) },
      () => {},
    );
    expect(result.sent).toBeGreaterThan(0);
    expect(result.sent).toBe(acked);
    expect(result.sent).toBeLessThanOrEqual(ingest.requests.flatMap((r) => r.body).length);
  });

  test("rejects nonsense options", async () => {
    await expect(runSignal({ target: "http://x", rate: 0, count: 1 })).rejects.toThrow("rate");
    await expect(runSignal({ target: "http://x", rate: 1, count: 1, batchSize: 5000 })).rejects.toThrow("batchSize");
  });
});

describe("helpers", () => {
  test("retryAfterMs reads seconds and HTTP dates", () => {
    expect(retryAfterMs(null)).toBe(1000);
    expect(retryAfterMs("0")).toBe(0);
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs("soon")).toBe(1000);
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:05 GMT", Date.UTC(2015, 9, 21, 7, 28, 0))).toBe(5000);
  });
});
