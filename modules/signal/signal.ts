import { MAX_REPORTS_PER_REQUEST } from "../../src/domain/report.ts";
import { backoffDelay, sleep } from "../../src/retry.ts";
import { createReportGenerator, type GeneratedReport } from "./generator.ts";

export interface SignalOptions {
  /** Base URL of the ingest service; reports go to `${target}/api/reports`. */
  target: string;
  /** Reports per second, overall (all workers together). */
  rate: number;
  /** Reports to deliver; 0 = until `signal` aborts. */
  count: number;
  batchSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  seed?: number;
  token?: string;
  signal?: AbortSignal;
  /** Called with every batch the service acknowledged with 202. */
  onAccepted?: (reports: GeneratedReport[]) => void;
  /** Bound of the first network-error retry delay in ms (the wait is drawn below it); doubles on each try. */
  backoffMs?: number;
  /**
   * Instead of POST /api/reports (acu signal --kafka): resolves once the batch is durable (a Kafka producer
   * writing to a raw topic); a rejection is retried as a network error is. `target` and `token` are unused.
   */
  send?: (reports: GeneratedReport[]) => Promise<void>;
}

export interface SignalResult {
  /** Reports acknowledged with 202. */
  sent: number;
  /** Reports refused with another status, or given up on after repeated network errors. */
  rejected: number;
  /** Resends after 503/429 or a network error. */
  retries: number;
  elapsedMs: number;
  /** sent per second of elapsed time. */
  achievedRate: number;
  /** Set when the service refused the token (401/403): the run stopped at once. */
  refused?: { status: number; message: string };
}

export type SignalLog = (line: string) => void;

const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_CONCURRENCY = 4;
const MAX_NETWORK_TRIES = 10;
const MAX_BACKOFF_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;
// A stalled schedule (slow or refusing service) may catch up by at most this much: the
// generator must not answer backpressure with a burst of the whole backlog.
const MAX_LAG_MS = 1_000;
// Batches are cut to about 1/10 s of traffic so low rates are paced smoothly, not in bursts.
const BATCHES_PER_SECOND = 10;

export async function runSignal(options: SignalOptions, log: SignalLog = console.log): Promise<SignalResult> {
  const { rate, count, onAccepted } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const backoffMs = options.backoffMs ?? 100;
  if (!(Number.isFinite(rate) && rate > 0)) throw new Error("rate must be a positive number of reports per second");
  if (!(Number.isInteger(count) && count >= 0)) throw new Error("count must be a whole number, 0 for unlimited");
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_REPORTS_PER_REQUEST))
    throw new Error(`batchSize must be between 1 and ${MAX_REPORTS_PER_REQUEST}`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error("concurrency must be a positive integer");
  const url = new URL(`${options.target.replace(/\/+$/, "")}/api/reports`).toString();

  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const generator = createReportGenerator({ seed: options.seed ?? Date.now() });
  const chunk = Math.max(1, Math.min(batchSize, Math.ceil(rate / BATCHES_PER_SECOND)));
  const stats: Omit<SignalResult, "elapsedMs" | "achievedRate"> = { sent: 0, rejected: 0, retries: 0 };
  // A refused token stops every worker: no later batch could be accepted.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const logged = new Set<string>();
  const logOnce = (key: string, line: string) => {
    if (logged.has(key)) return;
    logged.add(key);
    log(line);
  };
  const aborted = () => signal?.aborted === true;

  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let claimed = 0;
  let nextDueMs = 0;
  /** Reserves the next batch and the moment (ms since start) it may leave; null when done. */
  const claim = (): { size: number; dueMs: number } | null => {
    if (aborted()) return null;
    const size = count === 0 ? chunk : Math.min(chunk, count - claimed);
    if (size <= 0) return null;
    claimed += size;
    // Token bucket that starts empty: a batch leaves once its reports' share of time has accrued.
    const dueMs = Math.max(nextDueMs, elapsed() - MAX_LAG_MS) + (size / rate) * 1000;
    nextDueMs = dueMs;
    return { size, dueMs };
  };

  /** Hands one batch to options.send until it is durable, or the run is aborted; gives up after MAX_NETWORK_TRIES failures. */
  const handOver = async (send: (reports: GeneratedReport[]) => Promise<void>, reports: GeneratedReport[]): Promise<void> => {
    for (let failures = 1; !aborted(); failures++) {
      try {
        await send(reports);
        stats.sent += reports.length;
        onAccepted?.(reports);
        return;
      } catch (err) {
        if (failures >= MAX_NETWORK_TRIES) {
          stats.rejected += reports.length;
          logOnce("send", `signal: gave up on a batch after ${MAX_NETWORK_TRIES} failures: ${errorMessage(err)}`);
          return;
        }
        stats.retries++;
        await sleep(backoffDelay({ baseMs: backoffMs, capMs: MAX_BACKOFF_MS }, failures), signal);
      }
    }
  };

  /** POSTs one batch until it is acknowledged, refused, or the run is aborted. */
  const deliver = async (reports: GeneratedReport[]): Promise<void> => {
    if (options.send) return handOver(options.send, reports);
    const body = JSON.stringify(reports);
    let networkFailures = 0;
    while (!aborted()) {
      let res: Response;
      try {
        const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
        res = await fetch(url, { method: "POST", headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      } catch (err) {
        if (aborted()) return;
        if (++networkFailures >= MAX_NETWORK_TRIES) {
          stats.rejected += reports.length;
          logOnce("network", `signal: gave up on a batch after ${MAX_NETWORK_TRIES} network errors: ${errorMessage(err)}`);
          return;
        }
        stats.retries++;
        await sleep(backoffDelay({ baseMs: backoffMs, capMs: MAX_BACKOFF_MS }, networkFailures), signal);
        continue;
      }
      if (res.status === 202) {
        await res.arrayBuffer().catch(() => undefined); // drain so the connection is reused
        stats.sent += reports.length;
        onAccepted?.(reports);
        return;
      }
      if (res.status === 503 || res.status === 429) {
        await res.arrayBuffer().catch(() => undefined);
        stats.retries++;
        await sleep(retryAfterMs(res.headers.get("retry-after")), signal);
        continue;
      }
      const text = await res.text().catch(() => "");
      stats.rejected += reports.length;
      if (res.status === 401 || res.status === 403) {
        if (!stats.refused) {
          stats.refused = { status: res.status, message: serverMessage(text) };
          log(`signal: HTTP ${res.status}, the token was refused: ${stats.refused.message}; stopping`);
        }
        stop.abort();
        return;
      }
      logOnce(`status ${res.status}`, `signal: HTTP ${res.status} rejected a batch: ${text.slice(0, 500)}`);
      return;
    }
  };

  const worker = async () => {
    for (let slot = claim(); slot !== null; slot = claim()) {
      await sleep(slot.dueMs - elapsed(), signal);
      if (aborted()) return;
      // Stamp reports when they leave, not when the slot was reserved.
      const now = Date.now();
      const reports = Array.from({ length: slot.size }, () => generator.next(now));
      await deliver(reports);
    }
  };

  const line = () => {
    const s = elapsed() / 1000;
    return `sent=${stats.sent} rejected=${stats.rejected} retries=${stats.retries} rate=${s > 0 ? Math.round(stats.sent / s) : 0}/s target=${rate}/s`;
  };
  let lastSent = 0;
  const progress = setInterval(() => {
    log(`signal: ${line()} (last 1s ${stats.sent - lastSent}/s)`);
    lastSent = stats.sent;
  }, 1000);
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearInterval(progress);
  }
  const elapsedMs = elapsed();
  log(`signal: done ${line()} in ${(elapsedMs / 1000).toFixed(1)}s`);
  return { ...stats, elapsedMs, achievedRate: elapsedMs > 0 ? stats.sent / (elapsedMs / 1000) : 0 };
}

/** Retry-After in delta-seconds or as an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null) return 1000;
  const v = header.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now);
}

/** The `error` of a JSON answer, else the text itself (cut short). */
function serverMessage(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof e === "string") return e;
  } catch {}
  return text.slice(0, 500);
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
