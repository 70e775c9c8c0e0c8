/**
 * The burst of tests/faults/lib.ts `burst`, in a process of its own so that generating and hashing its
 * hundreds of thousands of reports never delays the test process's own load and its timings. Arguments
 * (JSON, argv[2]): target, workers, batch, ms, seed, out (a folder). Writes the acknowledged report ids
 * to out/acked.txt and the never-acknowledged ones to out/unanswered.txt (a line each), and prints
 * {statuses, refusedAtOnce} on stdout.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createReportGenerator } from "../../modules/signal/generator.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { ingest } from "../support/acu.ts";

const o = JSON.parse(process.argv[2]!) as { target: string; workers: number; batch: number; ms: number; seed: number; out: string };
const gen = createReportGenerator({ seed: o.seed });
const acked: string[] = [];
const unanswered: string[] = [];
const statuses: Record<string, number> = {};
let refusedAtOnce = 0;
const until = Date.now() + o.ms;

async function send(body: string): Promise<{ status: number; retryAfterS: number }> {
  try {
    const res = await fetch(`${o.target}/api/reports`, { method: "POST", headers: ingest, body, signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer().catch(() => {});
    return { status: res.status, retryAfterS: Number(res.headers.get("retry-after") ?? 1) };
  } catch {
    return { status: 0, retryAfterS: 1 };
  }
}

/** One laptop of the crowd: a batch, resent after its Retry-After until taken or the burst ends; then the next. */
async function laptop(): Promise<void> {
  while (Date.now() < until) {
    const reports = Array.from({ length: o.batch }, () => gen.next(Date.now()));
    const body = JSON.stringify(reports);
    let status = 0;
    while (status !== 202 && Date.now() < until) {
      const sentAt = Date.now();
      const answer = await send(body);
      status = answer.status;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 0 && status !== 202 && status !== 503 && status !== 429) throw new Error(`ingest answered ${status} to a valid batch`);
      if (status === 503 && Date.now() - sentAt < 1000) refusedAtOnce++;
      if (status !== 202) await Bun.sleep(Math.min(5, Math.max(0.2, answer.retryAfterS)) * 1000);
    }
    for (const r of reports) (status === 202 ? acked : unanswered).push(deriveReportId(r));
  }
}

await Promise.all(Array.from({ length: o.workers }, laptop));
writeFileSync(join(o.out, "acked.txt"), acked.join("\n"));
writeFileSync(join(o.out, "unanswered.txt"), unanswered.join("\n"));
console.log(JSON.stringify({ statuses, refusedAtOnce }));
