import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Process-wide Prometheus metrics, served at GET /metrics (the http port and the ops port). */
export const registry = new Registry();

export const metrics = {
  reportsIngested: new Counter({ name: "acu_reports_ingested_total", help: "Reports accepted with 202 (durably on the bus)", registers: [registry] }),
  reportsRejected: new Counter({ name: "acu_reports_rejected_total", help: "Ingest requests refused", labelNames: ["reason"], registers: [registry] }),
  alertsRaised: new Counter({ name: "acu_alerts_raised_total", help: "Deployment orders published", registers: [registry] }),
  /** The promise users care about most: from the laptop's report to the patrol's order, as the alert role publishes it. */
  reportToOrder: new Histogram({
    name: "acu_report_to_order_seconds",
    help: "From a report's timestamp (the laptop's clock) to its deployment order published on the bus",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  }),
  deadLetters: new Counter({ name: "acu_dead_letters_total", help: "Malformed bus messages sent to the DLQ", registers: [registry] }),
  rawReports: new Counter({
    name: "acu_raw_reports_total",
    help: "Records of external producers' topics (ACU_KAFKA_RAW_TOPICS) moved to student-reports (outcome moved) or to the DLQ (dead_letter)",
    labelNames: ["topic", "outcome"],
    registers: [registry],
  }),
  consumerLag: new Gauge({
    name: "acu_consumer_lag",
    help: "Records a consumer has not handled yet (bus consumers: not committed; the analyzer: reports in lake files not counted)",
    labelNames: ["group"],
    registers: [registry],
  }),
  lakeFilesWritten: new Counter({ name: "acu_lake_files_written_total", help: "Lake files published", labelNames: ["dataset"], registers: [registry] }),
  lakeRowsWritten: new Counter({ name: "acu_lake_rows_written_total", help: "Rows written to the lake", labelNames: ["dataset"], registers: [registry] }),
  analyzerRunSeconds: new Histogram({
    name: "acu_analyzer_run_seconds",
    help: "Analyzer run durations",
    labelNames: ["outcome"],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  }),
  duplicatesDropped: new Counter({
    name: "acu_duplicates_dropped_total",
    help: "Resent or republished records the sink kept out of the lake",
    labelNames: ["dataset"],
    registers: [registry],
  }),
  sinkBufferedBytes: new Gauge({
    name: "acu_sink_buffered_bytes",
    help: "Bytes of records the sink holds that are not in the lake yet (bounded by ACU_SINK_BUFFER_BYTES plus one batch)",
    registers: [registry],
  }),
  wsClients: new Gauge({ name: "acu_alert_stream_clients", help: "Connected alert-stream WebSocket clients", registers: [registry] }),
  dispatchStreamClients: new Gauge({
    name: "acu_dispatch_stream_clients",
    help: "Connected dispatch-stream WebSocket clients (incident: the incident stream; patrol: patrols' streams)",
    labelNames: ["stream"],
    registers: [registry],
  }),
  httpRequestSeconds: new Histogram({
    name: "acu_http_request_duration_seconds",
    help: "HTTP request durations, by method, route pattern (unmatched: no route) and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  ready: new Gauge({ name: "acu_ready", help: "1 while GET /readyz answers 200, else 0", registers: [registry] }),
  engineUp: new Gauge({
    name: "acu_engine_up",
    help: "1 while an engine this process uses answers its readiness probe, else 0",
    labelNames: ["engine", "adapter"],
    registers: [registry],
  }),
};

const buildInfo = new Gauge({
  name: "acu_build_info",
  help: "acu's version and runtime (always 1)",
  labelNames: ["version", "bun", "platform", "arch"],
  registers: [registry],
});

let processMetrics = false;

/**
 * Prometheus' process metrics (CPU, memory, open files, event loop lag, GC: prom-client's defaults) and
 * acu_build_info, once per process. Called by the processes that serve /metrics rather than on import, so
 * a CLI command (acu token, acu config) sets up no collector.
 */
export function enableProcessMetrics(version: string): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
  buildInfo.set({ version, bun: Bun.version, platform: process.platform, arch: process.arch }, 1);
}

/**
 * Keeps acu_consumer_lag{group} current: measured at once, then every `everyMs`, one measurement at a time
 * (a slow engine never piles them up); a failed one leaves the last value. Returns the stop.
 */
export function trackLag(group: string, measure: () => Promise<number>, everyMs = 2000): () => void {
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    measure()
      .then(
        (n) => metrics.consumerLag.set({ group }, n),
        () => {},
      )
      .finally(() => (busy = false));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  // A gauge never keeps a process alive.
  timer.unref?.();
  return () => clearInterval(timer);
}
