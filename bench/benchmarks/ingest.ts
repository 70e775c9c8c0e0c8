import { join } from "node:path";
import { tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { kafkaTool } from "../lib/cluster.ts";
import { TOKENS } from "../../tests/support/acu.ts";
import { encodeReport } from "../../src/domain/report.ts";
import {
  compare,
  createTopic,
  machineInfo,
  timing,
  laptopBodies,
  median,
  postBatches,
  round,
  runId,
  startAcuRole,
  withAdmin,
  type BenchContext,
  type BenchResult,
  type Run,
} from "../lib/common.ts";

const PARTITIONS = 6;
const BATCH = 500;

/**
 * Ingest: reports/s accepted with 202 by POST /api/reports (acu --role=ingest on Kafka, acks=all, batches
 * of 500 over several connections) vs Kafka's ProducerPerformance with the same record size and acks=all
 * on a topic of the same layout (6 partitions, replication 1).
 */
export async function benchIngest(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const count = { smoke: 5_000, quick: 150_000, full: 1_000_000 }[ctx.mode];
  const connections = 8;
  const brokers = ctx.env.ACU_KAFKA_BROKERS!;
  const ns = runId("ingest");
  // The request bodies: laptops send no reportId and no region (ingest derives both).
  let valueBytes = 0,
    keyBytes = 0,
    n = 0;
  const bodies = laptopBodies({
    bodies: 16,
    batch: BATCH,
    seed: 7,
    each: (r) => {
      valueBytes += encodeReport(r).length;
      keyBytes += r.studentId.length;
      n++;
    },
  });
  // acu's record on the bus: the encoded report (value) keyed by student; the peer sends values of that total size, no key.
  const recordSize = Math.round((valueBytes + keyBytes) / n);
  const peerTopic = `${ns}.perf`;
  await withAdmin(brokers, (a) => createTopic(a, peerTopic, PARTITIONS));
  const runs: Run[] = [];
  const dir = mkdtempSync(join(tmpdir(), "acu-bench-ingest-"));
  let seq = 0;
  try {
    for (let pair = 0; pair < ctx.pairs; pair++) {
      // A: the peer.
      const perf = await kafkaTool([
        "kafka-perf",
        "producer",
        "--topic",
        peerTopic,
        "--num-records",
        String(count),
        "--record-size",
        String(recordSize),
        "--throughput",
        "-1",
        "--producer-props",
        `bootstrap.servers=${brokers}`,
        "acks=all",
      ]);
      // Progress lines come every 5 s; the last line is the summary of the whole run.
      const m = [
        ...perf.out.matchAll(/(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency/g),
      ].pop();
      if (perf.code !== 0 || !m || Number(m[1]) !== count)
        throw new Error(`ProducerPerformance failed (${perf.code}):\n${perf.out.slice(-2000)}\n${perf.err.slice(-2000)}`);
      runs.push({
        who: "kafka-producer-perf",
        seq: seq++,
        value: round(Number(m[2]), 0),
        records: Number(m[1]),
        mbPerS: Number(m[3]),
        avgLatencyMs: Number(m[4]),
        maxLatencyMs: Number(m[5]),
      });
      ctx.log(`ingest: ProducerPerformance ${Math.round(Number(m[2]))} records/s`);
      // B: acu.
      const acu = await startAcuRole({
        roles: "ingest",
        dataDir: join(dir, `d${pair}`),
        env: { ACU_KAFKA_BROKERS: brokers, ACU_KAFKA_NAMESPACE: `${ns}.`, ACU_PARTITIONS: String(PARTITIONS) },
      });
      try {
        const {
          accepted,
          refused,
          seconds: s,
        } = await postBatches({
          url: `${acu.url}/api/reports`,
          token: TOKENS.ingest,
          requests: Math.ceil(count / BATCH),
          body: (k) => bodies[k % bodies.length]!,
          senders: connections,
        });
        if (refused > 0) throw new Error(`acu refused ${refused} batch(es):\n${acu.output().slice(-2000)}`);
        runs.push({ who: "acu", seq: seq++, value: round(accepted / s, 0), records: accepted, seconds: round(s, 2), peakRssMiB: acu.peakRssMiB() });
        ctx.log(`ingest: acu ${Math.round(accepted / s)} reports/s`);
      } finally {
        await acu.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: "ingest",
    ...timing(ctx, t0),
    params: {
      reportsPerRun: count,
      batch: BATCH,
      connections,
      partitions: PARTITIONS,
      replication: 1,
      acks: "all",
      recordSizeBytes: recordSize,
      pairs: ctx.pairs,
    },
    runs,
    comparisons: [compare(runs, { peer: "kafka-producer-perf", metric: "reports/s", higherIsBetter: true, goalRatio: 0.5, goal: "≥ 0.5×" })],
    notes: [
      `acu: POST /api/reports, ${BATCH} reports per request, ${connections} connections, each 202 after acks=all; record = JSON report (~${recordSize} B with its key).`,
      "peer: ProducerPerformance, --record-size = acu's mean record (value + key) size, acks=all, default batching (its records have no key: sticky partitioning).",
      `medians: acu ${Math.round(median(runs.filter((r) => r.who === "acu").map((r) => r.value)))} reports/s.`,
    ],
    machine: machineInfo(),
  };
}
