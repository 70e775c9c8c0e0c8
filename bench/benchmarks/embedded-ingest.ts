import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOKENS } from "../../tests/support/acu.ts";
import { Journal } from "../../src/adapters/embedded/journal.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import {
  ALLOWED_ENV,
  allowlistedEnv,
  comparePairs,
  freePort,
  laptopBodies,
  machineInfo,
  median,
  postBatches,
  ROOT,
  round,
  spawnProc,
  startAcuRole,
  timing,
  type BenchContext,
  type BenchResult,
  type Comparison,
  type Proc,
  type Run,
} from "../lib/common.ts";

const BATCH = 500;
const SENDERS = 8;
const PEER = "append-fsync";
const ALL = "ingest, alert, sink, analyzer, dispatch, http";
/** One run's figures, before its place in the sequence is added. */
type Measured = { who: string; value: number; [extra: string]: unknown };
/** Reports per run: the discarded warm-up requests of each run, then the timed ones. */
const SIZES = {
  smoke: { warmup: 1_000, timed: 5_000 },
  quick: { warmup: 20_000, timed: 150_000 },
  full: { warmup: 50_000, timed: 1_000_000 },
} as const;

/**
 * Embedded ingest: what a new user meets. One acu process, `--role=all` on the embedded engines of a
 * fresh data dir (every role, the embedded log, thresholds file, local lake, PGlite), taking
 * POST /api/reports batches, each answered 202 once its frame is fdatasync'd in the embedded journal
 * (group commit: the requests that arrive while a write is under way share the next write and fdatasync)
 * — against the ceiling of that job on this machine: bench/peers/append-fsync.ts, a bare Bun server that
 * JSON.parses each body and appends it to a file under the same group commit. Same client, same bodies,
 * same senders; a discarded warm-up pair, then pairs in ABBA order, each run's warm-up requests
 * discarded; the ratio is the median of the per-pair ratios. No cluster.
 */
export async function benchEmbeddedIngest(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const size = SIZES[ctx.mode];
  // Another role set, to see what the other roles cost (e.g. BENCH_EMBEDDED_ROLES=ingest); default all.
  const roles = process.env.BENCH_EMBEDDED_ROLES ?? "all";
  const listed = roles === "all" ? ALL : [...new Set(roles.split(",").map((r) => r.trim()))].join(", ");
  const warmupRequests = size.warmup / BATCH;
  const timedRequests = size.timed / BATCH;
  const expected = (warmupRequests + timedRequests) * BATCH;
  // Issue #15's fairness rules ask for 5 pairs or more in a full run.
  const pairs = ctx.mode === "full" ? Math.max(5, ctx.pairs) : ctx.pairs;
  // Every request its own reports (timestamps distinct, so every derived reportId too), the same for every run.
  const bodies = laptopBodies({ bodies: warmupRequests + timedRequests, batch: BATCH, seed: 15 });
  const bodyBytes = bodies.reduce((a, b) => a + Buffer.byteLength(b), 0);
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-embedded-"));
  const fsType =
    Bun.spawnSync({ cmd: ["df", "--output=fstype", dir] })
      .stdout.toString()
      .trim()
      .split("\n")
      .pop() ?? "unknown";

  /** One run of either side: warm-up requests (discarded), then the timed ones, against a fresh process. */
  const drive = async (who: string, url: string, proc: Proc) => {
    const send = (from: number, requests: number) =>
      postBatches({ url: `${url}/api/reports`, token: TOKENS.ingest, requests, body: (k) => bodies[from + k]!, senders: SENDERS });
    const warm = await send(0, warmupRequests);
    const timed = await send(warmupRequests, timedRequests);
    const refusal = warm.firstRefusal ?? timed.firstRefusal;
    if (refusal) throw new Error(`${who} refused ${warm.refused + timed.refused} batch(es), the first: ${refusal}\n${proc.output().slice(-2000)}`);
    if (warm.accepted + timed.accepted !== expected) throw new Error(`${who}: its 202s accepted ${warm.accepted + timed.accepted} reports, ${expected} sent`);
    return { value: round(timed.accepted / timed.seconds, 0), seconds: round(timed.seconds, 2), accepted: warm.accepted + timed.accepted };
  };

  const runAcu = async (n: number): Promise<Measured> => {
    const dataDir = join(dir, `acu-${n}`);
    const started = performance.now();
    const acu = await startAcuRole({
      roles,
      dataDir,
      allowlist: true,
      cwd: dir,
      // The default catalogue (strict: the exercises of acu signal, which the bench reports use).
      env: { ACU_EXERCISES: "strict" },
    });
    const startS = (performance.now() - started) / 1000;
    let r: Awaited<ReturnType<typeof drive>>;
    let stopping = 0,
      exitCode = -1;
    try {
      // The roles asked for, on the data dir asked for (a bus or a store from the environment would be named).
      const says = () => acu.output().includes(`running roles: ${listed} on data dir ${dataDir}`);
      for (let i = 0; !says(); i++) {
        if (i > 100) throw new Error(`acu did not say it runs ${listed} on ${dataDir}:\n${acu.output().slice(-2000)}`);
        await Bun.sleep(50);
      }
      r = await drive("acu", acu.url, acu);
    } finally {
      stopping = performance.now();
      exitCode = await acu.stop();
    }
    // Its stop drains the other roles' backlog (alert, sink); killed after 20 s (exit code 137).
    const stopS = round((performance.now() - stopping) / 1000, 2);
    const peakRssMiB = acu.peakRssMiB();
    // What is durable: the reports in the journal, read back once the process is gone.
    const journal = join(dataDir, "bus", "journal.log");
    let durable = 0;
    const counted = await Journal.open(journal, {
      message: (m) => {
        if (m.topic === TOPICS.reports) durable++;
      },
      commit() {},
    });
    await counted.close();
    if (durable !== expected) throw new Error(`acu: ${durable} reports in its journal, ${expected} accepted`);
    const journalBytes = statSync(journal).size;
    rmSync(dataDir, { recursive: true, force: true });
    return { who: "acu", ...r, durable, peakRssMiB, startS: round(startS, 2), stopS, exitCode, journalMiB: round(journalBytes / 2 ** 20, 1) };
  };

  const runPeer = async (n: number): Promise<Measured> => {
    const file = join(dir, `peer-${n}.log`);
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const peer = await spawnProc(
      [process.execPath, "run", join(ROOT, "bench/peers/append-fsync.ts"), String(port), file, TOKENS.ingest],
      allowlistedEnv(),
      async () => (await fetch(`${url}/readyz`)).status === 200,
      { cwd: dir },
    );
    let r: Awaited<ReturnType<typeof drive>>;
    let stats: { frames: number; syncs: number };
    try {
      r = await drive(PEER, url, peer);
      stats = (await (await fetch(`${url}/stats`)).json()) as typeof stats;
    } finally {
      await peer.stop();
    }
    const durable = framedReports(file);
    if (durable !== expected) throw new Error(`${PEER}: ${durable} reports in its file, ${expected} accepted`);
    const fileBytes = statSync(file).size;
    rmSync(file, { force: true });
    return {
      who: PEER,
      ...r,
      durable,
      peakRssMiB: peer.peakRssMiB(),
      fileMiB: round(fileBytes / 2 ** 20, 1),
      fdatasyncs: stats.syncs,
      requestsPerFdatasync: round(stats.frames / stats.syncs, 2),
    };
  };

  const runs: Run[] = [];
  const warmupRuns: Run[] = [];
  let seq = 0;
  try {
    // Pair -1 is the warm-up pair (page cache, the disk, Bun's transpile cache), discarded; then A B | B A | A B …
    for (let pair = -1; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? ["acu", PEER] : [PEER, "acu"];
      for (const who of order) {
        const r = who === "acu" ? await runAcu(seq) : await runPeer(seq);
        const run: Run = { ...r, who, seq: seq++, pair };
        (pair < 0 ? warmupRuns : runs).push(run);
        ctx.log(`${pair < 0 ? "warm-up " : `pair ${pair} `}${who}: ${run.value} reports/s${who === "acu" ? `, peak RSS ${run.peakRssMiB} MiB` : ""}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const throughput = comparePairs(runs, {
    peer: PEER,
    metric: `reports/s, ${roles === "all" ? "all-in-one" : `--role=${roles}`} on the embedded engines`,
    higherIsBetter: true,
    goalRatio: 0.5,
    goal: "≥ 0.5× the append-and-fsync ceiling",
  });
  const peaks = (who: string) => Math.max(...runs.filter((r) => r.who === who).map((r) => Number(r.peakRssMiB)));
  const rss: Comparison = {
    metric: `peak RSS MiB of the ${roles === "all" ? "all-in-one" : roles} process (max over runs)`,
    higherIsBetter: false,
    peer: PEER,
    peerMedian: peaks(PEER),
    acuMedian: peaks("acu"),
    ratio: null,
    goal: "—",
    met: null,
  };
  return {
    name: "embedded-ingest",
    ...timing(ctx, t0),
    params: {
      roles,
      engines: "embedded (fresh data dir per run)",
      dataDirFs: fsType,
      warmupReportsPerRun: size.warmup,
      timedReportsPerRun: size.timed,
      batch: BATCH,
      senders: SENDERS,
      meanBodyBytesPerReport: round(bodyBytes / expected, 1),
      pairs,
      warmupPairs: 1,
      order: "warm-up pair (peer, acu), then ABBA: acu, peer | peer, acu | …",
      env: `allowlist: ${ALLOWED_ENV.join(", ")} of the harness's, plus what the benchmark sets; cwd a temp dir (no .env)`,
    },
    runs,
    warmupRuns,
    comparisons: [throughput, rss],
    notes: [
      `acu: one process, --role=${roles} on the embedded engines (ACU_EXERCISES=strict as by default; rate limits off and the analyzer's schedule off, as in every benchmark); POST /api/reports, ${BATCH} reports per request (no reportId, no region: ingest derives both), ${SENDERS} concurrent senders; each 202 once the request's frame is written and fdatasync'd in the embedded journal, which group-commits: appends made in the same tick or while a write is under way share the next frame, one write and one fdatasync (src/adapters/embedded/journal.ts). ${roles === "all" ? " The other roles (alert, sink, dispatch, http; the analyzer's schedule off) run in the same process on the same cores, as for a new user." : ` Only these roles (BENCH_EMBEDDED_ROLES): not what a new user runs.`}`,
      `peer (${PEER}, bench/peers/append-fsync.ts): a bare Bun.serve that checks the token, JSON.parses the body (a non-empty array of objects), appends it as one frame [length][crc32][body] under the same group commit (the same Coalescer, begun on a microtask: one write and one fdatasync per group) and answers 202 {accepted}. It is the fair ceiling: the least any server must do to answer "durable" for these bodies on this disk — read them as JSON, make them durable with a torn-write check, with the same fsync grouping as acu's journal — and none of acu's per-report work (validation, catalogue, id hash, region, one record per report, index, other roles).`,
      `Checked per run: the sum of the 202s' accepted = reports sent; the durable count = the same (acu: student-reports records read back from its journal; the peer: its frames, checksums verified, parsed).`,
      `medians: acu ${Math.round(median(runs.filter((r) => r.who === "acu").map((r) => r.value)))} reports/s, ${PEER} ${Math.round(median(runs.filter((r) => r.who === PEER).map((r) => r.value)))} reports/s; per-pair ratios ${throughput.pairRatios?.join(", ")} (median ${throughput.ratio}, min ${throughput.ratioMin}, max ${throughput.ratioMax}).`,
    ],
    machine: machineInfo(),
  };
}

/** The reports in the peer's file: its frames read back, each checksum verified and its body parsed. */
function framedReports(file: string): number {
  if (!existsSync(file)) return 0;
  const buf = readFileSync(file);
  let pos = 0,
    n = 0;
  while (pos + 8 <= buf.length) {
    const len = buf.readUInt32LE(pos);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (body.length !== len || Bun.hash.crc32(body) >>> 0 !== buf.readUInt32LE(pos + 4)) throw new Error(`${PEER}: a damaged frame at byte ${pos} of ${file}`);
    n += (JSON.parse(body.toString("utf8")) as unknown[]).length;
    pos += 8 + len;
  }
  if (pos !== buf.length) throw new Error(`${PEER}: ${buf.length - pos} stray bytes at the end of ${file}`);
  return n;
}
