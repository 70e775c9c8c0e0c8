import type { BenchContext, BenchResult } from "../lib/common.ts";
import { benchIngest } from "./ingest.ts";
import { benchAlertThroughput } from "./alert-throughput.ts";
import { benchAlertLatency } from "./alert-latency.ts";
import { benchSink } from "./sink.ts";
import { benchAnalyzer } from "./analyzer.ts";
import { benchMemory } from "./memory.ts";
import { benchDispatchLatency } from "./dispatch-latency.ts";
import { benchRegionLookup } from "./region-lookup.ts";
import { benchEmbeddedIngest } from "./embedded-ingest.ts";
import { benchEmbeddedMemory } from "./embedded-memory.ts";

export const BENCHMARKS = {
  ingest: { needs: ["kafka"], run: benchIngest },
  "alert-throughput": { needs: ["kafka", "etcd"], run: benchAlertThroughput },
  "alert-latency": { needs: ["kafka", "etcd", "postgres"], run: benchAlertLatency },
  sink: { needs: ["kafka", "hdfs"], run: benchSink },
  analyzer: { needs: ["postgres", "hdfs", "spark"], run: benchAnalyzer },
  memory: { needs: ["kafka", "etcd", "postgres"], run: benchMemory },
  "dispatch-latency": { needs: ["kafka", "etcd", "postgres"], run: benchDispatchLatency },
  "region-lookup": { needs: [], run: benchRegionLookup },
  "embedded-ingest": { needs: [], run: benchEmbeddedIngest },
  "embedded-memory": { needs: [], run: benchEmbeddedMemory },
} satisfies Record<string, { needs: string[]; run: (ctx: BenchContext) => Promise<BenchResult> }>;

export type BenchName = keyof typeof BENCHMARKS;
