import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Process-wide Prometheus metrics, served at GET /metrics. */
export const registry = new Registry();

export const metrics = {
  reportsIngested: new Counter({ name: "acu_reports_ingested_total", help: "Reports accepted with 202 (durably on the bus)", registers: [registry] }),
  reportsRejected: new Counter({ name: "acu_reports_rejected_total", help: "Ingest requests refused", labelNames: ["reason"], registers: [registry] }),
  alertsRaised: new Counter({ name: "acu_alerts_raised_total", help: "Deployment orders published", registers: [registry] }),
  deadLetters: new Counter({ name: "acu_dead_letters_total", help: "Malformed bus messages sent to the DLQ", registers: [registry] }),
  consumerLag: new Gauge({ name: "acu_consumer_lag", help: "Records not yet committed by a consumer group", labelNames: ["group"], registers: [registry] }),
  lakeFilesWritten: new Counter({ name: "acu_lake_files_written_total", help: "Lake files published", labelNames: ["dataset"], registers: [registry] }),
  lakeRowsWritten: new Counter({ name: "acu_lake_rows_written_total", help: "Rows written to the lake", labelNames: ["dataset"], registers: [registry] }),
  analyzerRunSeconds: new Histogram({
    name: "acu_analyzer_run_seconds",
    help: "Analyzer run durations",
    labelNames: ["outcome"],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  }),
  duplicatesDropped: new Counter({ name: "acu_duplicates_dropped_total", help: "Resent or republished records the sink kept out of the lake", labelNames: ["dataset"], registers: [registry] }),
  wsClients: new Gauge({ name: "acu_alert_stream_clients", help: "Connected alert-stream WebSocket clients", registers: [registry] }),
  dispatchStreamClients: new Gauge({ name: "acu_dispatch_stream_clients", help: "Connected dispatch-stream WebSocket clients (incident: the incident stream; patrol: patrols' streams)", labelNames: ["stream"], registers: [registry] }),
  httpRequestSeconds: new Histogram({
    name: "acu_http_request_duration_seconds",
    help: "HTTP request durations, by method, route pattern (unmatched: no route) and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
};
