import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { muteTimeoutNegativeWarnings } from "../../src/adapters/kafka/warnings.ts";
import { createReportGenerator, mulberry32, type GeneratedReport } from "../../modules/signal/generator.ts";
import { decodeDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { decodeParquet } from "../../src/formats/parquet.ts";
import { regionOf } from "../../src/domain/region-index.ts";
import type { Lake } from "../../src/ports/lake.ts";
import { ingest, ROOT, viewer } from "../support/acu.ts";
import { readLakeFrom } from "../support/lake.ts";
import { resetPeak, statusMiB } from "../support/memory.ts";
import { alertIdFor } from "../../src/domain/deployment-order.ts";

// This process talks to Kafka with kafkajs directly: its TimeoutNegativeWarnings are dropped, as in acu.
muteTimeoutNegativeWarnings();

export const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)} faults: ${line}`);

/** A seeded random source, logged, so a failing run can be replayed: ACU_FAULT_SEED=<n>. */
export function seededRandom(label: string, fallback: number): () => number {
  const seed = Number(process.env.ACU_FAULT_SEED ?? fallback);
  log(`${label}: seed ${seed} (replay with ACU_FAULT_SEED=${seed})`);
  return mulberry32(seed);
}

export interface AckedReport extends GeneratedReport {
  reportId: string;
  region: string;
  /** When the 202 came, and from which URL after how many attempts. */
  ackedAt: number;
  firstSentAt: number;
  via: string;
  attempts: number;
}

/**
 * A test producer: batches of generated reports POSTed round-robin to the ingest URLs, each batch resent
 * (to the next URL, after a pause) until it gets a 202 — so every report that reached the bus is
 * eventually acknowledged, and the lake must hold exactly the acknowledged set. Every answer is recorded
 * with its time, to check what ingest said while a fault was on.
 */
export class Load {
  readonly acked = new Map<string, AckedReport>();
  /** Every answer: when it came and when its request was sent, its status (0: none), and a 503's or 429's Retry-After header. */
  readonly answers: Array<{ at: number; sentAt: number; status: number; retryAfter?: string | null }> = [];
  /** Batches given up at stop (still unacknowledged): their reports may or may not be on the bus. */
  readonly abandoned = new Set<string>();
  private stopping = false;
  private hardStop = false;
  private running: Promise<void>[] = [];
  private readonly gen;

  constructor(private readonly o: { targets: () => string[]; rate: number; batch: number; seed: number; concurrency?: number }) {
    this.gen = createReportGenerator({ seed: o.seed });
  }

  start(): this {
    const workers = this.o.concurrency ?? 4;
    const perWorkerMs = (this.o.batch / this.o.rate) * 1000 * workers;
    let rr = 0;
    const worker = async (w: number) => {
      await Bun.sleep((perWorkerMs / workers) * w);
      while (!this.stopping) {
        const t0 = Date.now();
        const reports = Array.from({ length: this.o.batch }, () => this.gen.next(Date.now()));
        const body = JSON.stringify(reports);
        const firstSentAt = Date.now();
        for (let attempt = 0; ; attempt++) {
          if (this.hardStop) {
            for (const r of reports) this.abandoned.add(deriveReportId(r));
            return;
          }
          const targets = this.o.targets();
          const url = targets[rr++ % targets.length]!;
          let status = 0;
          let retryAfter = 0.2;
          let retryAfterHeader: string | null | undefined;
          const sentAt = Date.now();
          try {
            const res = await fetch(`${url}/api/reports`, { method: "POST", headers: ingest, body, signal: AbortSignal.timeout(30_000) });
            status = res.status;
            if (status === 503 || status === 429) {
              retryAfterHeader = res.headers.get("retry-after");
              retryAfter = Math.min(1, Number(retryAfterHeader ?? 1));
            }
            await res.arrayBuffer().catch(() => {});
          } catch {
            status = 0;
          }
          this.answers.push({ at: Date.now(), sentAt, status, ...(retryAfterHeader === undefined ? {} : { retryAfter: retryAfterHeader }) });
          if (status === 202) {
            for (const r of reports) {
              const reportId = deriveReportId(r);
              this.acked.set(reportId, {
                ...r,
                reportId,
                region: regionOf(r.latitude, r.longitude),
                ackedAt: Date.now(),
                firstSentAt,
                via: url,
                attempts: attempt + 1,
              });
            }
            break;
          }
          if (status !== 0 && status !== 503 && status !== 429) throw new Error(`ingest answered ${status} to a valid batch`);
          await Bun.sleep(retryAfter * 1000);
        }
        await Bun.sleep(Math.max(0, perWorkerMs - (Date.now() - t0)));
      }
    };
    this.running = Array.from({ length: workers }, (_, w) => worker(w));
    return this;
  }

  /** Stops sending new batches; batches in flight are resent until acknowledged (at most `graceMs`). */
  async stop(graceMs = 60_000): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => (this.hardStop = true), graceMs);
    await Promise.all(this.running);
    clearTimeout(timer);
  }

  count(status: number, from = 0, to = Infinity): number {
    return this.answers.filter((a) => a.status === status && a.at >= from && a.at < to).length;
  }

  /**
   * The 503s answered in [from, to): how soon the first came after `from`, the longest one took from its
   * request's send, their Retry-After values, how many lacked whole seconds.
   */
  refusals(from: number, to: number): { first503Ms: number | null; slowest503Ms: number; retryAfters: Array<string | null>; withoutRetryAfter: number } {
    const refused = this.answers.filter((a) => a.status === 503 && a.at >= from && a.at < to);
    const headers = refused.map((a) => a.retryAfter ?? null);
    return {
      first503Ms: refused.length === 0 ? null : refused[0]!.at - from,
      slowest503Ms: Math.max(0, ...refused.map((a) => a.at - a.sentAt)),
      retryAfters: [...new Set(headers)],
      withoutRetryAfter: headers.filter((h) => h === null || !/^[1-9][0-9]*$/.test(h)).length,
    };
  }
}

/**
 * A burst against one process, as a crowd of laptops reconnecting at once would send it: `workers`
 * senders each POSTing a batch of `batch` generated reports and, when it is refused, the same batch again
 * after its Retry-After (as a laptop does), for `ms` — from a process of its own (burst-sender.ts), so
 * this one's load and timings are not delayed by it. `acked`: the ids of the reports taken; `unanswered`:
 * those never taken (a 503 after the publish deadline may still reach the bus). The watched process's
 * peak resident set (VmHWM) is reset at the start: read it when the burst's cost has come (`peakMiB`).
 */
export async function burst(o: { target: string; watchPid: number; workers: number; batch: number; ms: number; seed: number }) {
  const out = mkdtempSync(join(tmpdir(), "acu-burst-"));
  try {
    const rssBeforeMiB = statusMiB(o.watchPid, "VmRSS");
    resetPeak(o.watchPid);
    const args = JSON.stringify({ target: o.target, workers: o.workers, batch: o.batch, ms: o.ms, seed: o.seed, out });
    const p = Bun.spawn({ cmd: [process.execPath, join(ROOT, "tests/faults/burst-sender.ts"), args], cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`the burst sender exited ${code}: ${stderr.slice(-2000)}`);
    const { statuses, refusedAtOnce } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { statuses: Record<string, number>; refusedAtOnce: number };
    const ids = (f: string) =>
      new Set(
        readFileSync(join(out, f), "utf8")
          .split("\n")
          .filter((l) => l !== ""),
      );
    return { acked: ids("acked.txt"), unanswered: ids("unanswered.txt"), statuses, refusedAtOnce, rssBeforeMiB, peakMiB: () => statusMiB(o.watchPid, "VmHWM") };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Expected deployment orders: every acknowledged report below its exercise's threshold. */
export function expectedAlerts(acked: Iterable<AckedReport>, thresholdOf: (exerciseId: string) => number): Set<string> {
  const out = new Set<string>();
  for (const r of acked) if (r.score < thresholdOf(r.exerciseId)) out.add(alertIdFor(r.studentId, r.reportId));
  return out;
}

/** How the lake's reports compare with the acknowledged ones. */
/** Acknowledged reports by id: the audit needs only their ids. */
export type AckedIds = ReadonlySet<string> | ReadonlyMap<string, unknown>;

export async function lakeAudit(lake: Lake, acked: AckedIds, abandoned: ReadonlySet<string> = new Set()) {
  const { rows, files } = await readLakeFrom(lake, "reports");
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.reportId as string, (counts.get(r.reportId as string) ?? 0) + 1);
  let lost = 0;
  for (const id of acked.keys()) if (!counts.has(id)) lost++;
  let duplicated = 0;
  for (const n of counts.values()) duplicated += n - 1;
  // Rows that were never acknowledged (only possible for batches abandoned at stop).
  let unexpected = 0;
  for (const id of counts.keys()) if (!acked.has(id) && !abandoned.has(id)) unexpected++;
  const positions = new Set(rows.map((r) => `${r.partition}:${r.offset}`));
  return { rows, files, lost, duplicated, unexpected, positionsRepeated: rows.length - positions.size };
}

/** Waits until the lake holds every acknowledged report (or the time runs out), then audits it. */
export async function lakeSettled(lake: Lake, acked: AckedIds, abandoned: ReadonlySet<string>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await lakeAudit(lake, acked, abandoned);
    if (a.lost === 0 || Date.now() > deadline) return a;
    await Bun.sleep(1000);
  }
}

/** Deployment reports in the lake: ids and orders. */
export async function lakeDeployments(lake: Lake): Promise<Array<DeploymentOrder>> {
  const { rows } = await readLakeFrom(lake, "deployments");
  return rows.map((r) => {
    const { partition: _p, offset: _o, ...order } = r as Record<string, unknown>;
    return order as unknown as DeploymentOrder;
  });
}

/** Every deployment order on the alerts topic, read as a downstream consumer would: read_committed. */
export async function committedAlerts(brokers: string, namespace: string, settleMs = 3000): Promise<DeploymentOrder[]> {
  const kafka = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING, clientId: "faults-audit" });
  const topic = `${namespace}alerts`;
  const consumer = kafka.consumer({ groupId: `${namespace}faults-audit-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const out: DeploymentOrder[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      last = Date.now();
      if (message.value) out.push(decodeDeploymentOrder(new Uint8Array(message.value)));
    },
  });
  while (Date.now() - last < settleMs) await Bun.sleep(200);
  await consumer.disconnect();
  return out;
}

/**
 * Where lost reports are: for each acknowledged id missing from the lake, its positions on the bus (or
 * "not on the bus"), and the lake files of that partition around it — what to read when a check fails.
 */
export async function explainLost(brokers: string, namespace: string, lake: Lake, acked: AckedIds): Promise<string> {
  const { rows } = await readLakeFrom(lake, "reports");
  const inLake = new Set(rows.map((r) => r.reportId as string));
  const missing = new Set([...acked.keys()].filter((id) => !inLake.has(id)));
  if (missing.size === 0) return "nothing lost";
  const kafka = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING, clientId: "faults-audit" });
  const consumer = kafka.consumer({ groupId: `${namespace}faults-explain-${Date.now()}`, maxWaitTimeInMs: 200 });
  const found = new Map<string, string[]>();
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic: `${namespace}student-reports`, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      last = Date.now();
      const id = (JSON.parse(message.value!.toString()) as { reportId: string }).reportId;
      if (missing.has(id)) found.set(id, [...(found.get(id) ?? []), `p${partition}@${message.offset}`]);
    },
  });
  while (Date.now() - last < 3000) await Bun.sleep(200);
  await consumer.disconnect();
  const listed = await lake.list("reports/");
  const files = listed.map((f) => f.path.replace(/^.*\//, ""));
  const t = (ms: number) => new Date(ms).toISOString().slice(11, 23);
  const lines = [...missing].slice(0, 10).map((id) => {
    // A burst's reports are known by id alone.
    const a = acked instanceof Map ? (acked.get(id) as AckedReport) : undefined;
    const how = a ? `student ${a.studentId}; sent ${t(a.firstSentAt)}, 202 at ${t(a.ackedAt)} from ${a.via} after ${a.attempts} attempt(s)` : "a burst's";
    return `${id} (${how}): ${found.get(id)?.join(",") ?? "NOT ON THE BUS"}`;
  });
  const parts = new Set([...found.values()].flat().map((p) => p.split("@")[0]!.slice(1)));
  const around = [...parts].map(
    (p) =>
      `p${p} files: ${files
        .filter((f) => f.includes(`-p${p}-`))
        .map((f) => f.replace(/^.*-p\d+-0*(\d+)-0*(\d+)\.parquet$/, "$1-$2"))
        .join(" ")}`,
  );
  // What each file of those partitions holds: its listed size and its rows (or why it cannot be read).
  const contents: string[] = [];
  for (const f of listed) {
    if (![...parts].some((p) => f.path.includes(`-p${p}-`))) continue;
    const what = await lake.read(f.path).then(
      (b) => {
        try {
          const t = decodeParquet(b);
          return `${b.byteLength} bytes read, ${t.numRows} rows`;
        } catch (e) {
          return `${b.byteLength} bytes read, undecodable: ${(e as Error).message}`;
        }
      },
      (e: unknown) => `unreadable: ${(e as Error).message}`,
    );
    contents.push(`${f.path.replace(/^.*\//, "")}: listed ${f.size} bytes, ${what}`);
  }
  return `${missing.size} lost, ${found.size} of them on the bus:\n${lines.join("\n")}\n${around.join("\n")}\n${contents.join("\n")}`;
}

/** Connects to the WebSocket stream (viewer token) and collects every order it delivers. */
export async function streamCollector(httpUrl: string): Promise<{ orders: DeploymentOrder[]; close: () => void }> {
  const orders: DeploymentOrder[] = [];
  // Bun's WebSocket takes headers (the DOM typings in scope do not know that option).
  const ws = new WebSocket(`${httpUrl.replace("http", "ws")}/api/alerts/stream`, { headers: viewer } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no hello from the alert stream within 30 s")), 30_000);
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data));
      if (m.type === "hello") {
        clearTimeout(t);
        resolve();
      }
      if (m.type === "alert") orders.push(m.alert as DeploymentOrder);
    };
    ws.onerror = () => reject(new Error("alert stream error"));
  });
  return { orders, close: () => ws.close() };
}

/** alertIds seen with two different orders in one list (same id, different content). */
export function conflictingOrders(orders: DeploymentOrder[]): string[] {
  const byId = new Map<string, string>();
  const bad = new Set<string>();
  for (const o of orders) {
    const key = JSON.stringify(canonical(o));
    const prev = byId.get(o.alertId);
    if (prev === undefined) byId.set(o.alertId, key);
    else if (prev !== key) bad.add(o.alertId);
  }
  return [...bad];
}

function canonical(o: DeploymentOrder): unknown[] {
  return [o.alertId, o.reportId, o.studentId, o.exerciseId, o.score, o.threshold, o.latitude, o.longitude, o.region, Number(o.reportedAt), Number(o.raisedAt)];
}

export function duplicates(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

// ---- summary ----

export interface FaultSummary {
  name: string;
  acknowledged: number;
  lost: number;
  duplicated: number;
  recoveryMs: number | null;
  notes: string;
  /** Peak resident sets (VmHWM, MiB) a scenario measures, by process, with what they are compared to. */
  peakRssMiB?: Record<string, number>;
}

export const SUMMARY_PATH = join(ROOT, "tests/.artifacts/faults-summary.json");

/** Merges one test's line into tests/.artifacts/faults-summary.json (by name) and prints it. */
export function record(s: FaultSummary): void {
  mkdirSync(join(ROOT, "tests/.artifacts"), { recursive: true });
  let all: FaultSummary[] = [];
  try {
    all = JSON.parse(readFileSync(SUMMARY_PATH, "utf8")) as FaultSummary[];
  } catch {}
  all = all.filter((x) => x.name !== s.name).concat([{ ...s, at: new Date().toISOString() } as FaultSummary]);
  writeFileSync(`${SUMMARY_PATH}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(`${SUMMARY_PATH}.tmp`, SUMMARY_PATH);
  console.log(
    `FAULT ${s.name.padEnd(22)} acknowledged=${s.acknowledged} lost=${s.lost} duplicated=${s.duplicated} recoveryMs=${s.recoveryMs ?? "-"} — ${s.notes}`,
  );
}

/** Polls a process's /readyz every `everyMs` and keeps every answer (status 0: no answer within 2 s). */
export class ReadyWatch {
  readonly answers: Array<{ at: number; status: number; waitingFor: string[] }> = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    readonly name: string,
    url: string,
    everyMs = 250,
  ) {
    this.loop = (async () => {
      while (!this.stopped) {
        const at = Date.now();
        let status = 0;
        let waitingFor: string[] = [];
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
          status = res.status;
          waitingFor = ((await res.json()) as { waitingFor: string[] }).waitingFor;
        } catch {}
        this.answers.push({ at, status, waitingFor });
        await Bun.sleep(everyMs);
      }
    })();
  }

  /** The first answer in [from, to) that is (or is not) 200, or null. */
  first(ready: boolean, from: number, to = Infinity): { at: number; status: number; waitingFor: string[] } | null {
    return this.answers.find((a) => a.at >= from && a.at < to && (a.status === 200) === ready) ?? null;
  }

  /** The statuses answered in [from, to), each with its count. */
  statuses(from: number, to = Infinity): Record<number, number> {
    const out: Record<number, number> = {};
    for (const a of this.answers) if (a.at >= from && a.at < to) out[a.status] = (out[a.status] ?? 0) + 1;
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
