import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENV_VARS, loadConfig, parseRoles } from "../src/config.ts";
import { healthcheckUrl } from "../modules/ops/index.ts";
import { enableProcessMetrics, registry } from "../src/metrics.ts";
import { ROOT, TOKEN_ENV } from "./support/acu.ts";

/**
 * compose.yaml cannot run here (no Docker engine), so check what can be checked: it parses, and every
 * acu service's command, variables and ports are ones the binary accepts; no secret is written in it.
 */
type Service = {
  build?: { target?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, unknown>;
  ports?: string[];
  env_file?: string[];
  healthcheck?: { test?: string[] };
  volumes?: string[];
};
const compose = Bun.YAML.parse(readFileSync(join(ROOT, "compose.yaml"), "utf8")) as { services: Record<string, Service> };
const acuServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith("acu"));
const help = Bun.spawnSync({ cmd: [process.execPath, "run", join(ROOT, "src/main.ts"), "--help"] }).stdout.toString();

test("compose.yaml parses and has one acu service per role", () => {
  expect(acuServices.map(([n]) => n).sort()).toEqual(["alert", "analyzer", "http", "ingest", "sink"]);
  for (const [name, s] of acuServices) {
    const role = s.command?.find((a) => a.startsWith("--role="))?.slice(7);
    expect(parseRoles(role)).toEqual([name as never]);
  }
});

test("every flag and variable an acu service uses is one the binary documents", () => {
  const known = new Set(ENV_VARS.map((v) => v.name));
  for (const [name, s] of acuServices) {
    for (const a of s.command ?? [])
      if (a.startsWith("--"))
        expect({ service: name, flag: a.split("=")[0], inHelp: help.includes(a.split("=")[0]!) }).toEqual({
          service: name,
          flag: a.split("=")[0],
          inHelp: true,
        });
    for (const k of Object.keys(s.environment ?? {}))
      expect({ service: name, variable: k, known: known.has(k) }).toEqual({ service: name, variable: k, known: true });
    expect(s.env_file).toEqual([".env"]);
  }
});

test("each acu service's command and environment load as a valid configuration", () => {
  for (const [name, s] of acuServices) {
    // Compose fills ${VAR:?…} from .env; any value does here.
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, "secret")]));
    // Tokens come from .env, one per scope.
    const cfg = loadConfig(s.command ?? [], { ...env, ...TOKEN_ENV });
    expect(cfg.staticTokens.map((t) => t.scope).sort()).toEqual(["ingest", "operator", "viewer"]);
    expect({
      service: name,
      roles: cfg.roles,
      kafka: cfg.kafkaBrokers?.length,
      etcd: cfg.etcdEndpoints?.length,
      db: cfg.databaseUrl !== null,
      hdfs: cfg.hdfsUrl !== null,
    }).toEqual({
      service: name,
      roles: [name as never],
      kafka: 3,
      etcd: 3,
      db: true,
      hdfs: true,
    });
    if (name === "analyzer") expect(cfg.spark?.master).toBe("spark://spark-master:7077");
  }
});

test("published ports point at the port the service listens on", () => {
  for (const [name, s] of acuServices) {
    const cmd = s.command ?? [];
    const i = cmd.indexOf("--port");
    const port = i >= 0 ? cmd[i + 1] : "8080";
    for (const p of s.ports ?? []) expect({ service: name, container: p.split(":").pop() }).toEqual({ service: name, container: port });
  }
});

test("no secret is written in the file", () => {
  const text = readFileSync(join(ROOT, "compose.yaml"), "utf8");
  for (const v of ["ACU_ADMIN_TOKEN", "ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) expect(text).not.toMatch(new RegExp(`${v}\\s*:`));
  for (const m of text.matchAll(/postgres:\/\/[^:]+:([^@]+)@/g)) expect(m[1]).toMatch(/^\$\{POSTGRES_PASSWORD/);
  expect(text).toMatch(/POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD/);
});

test(".env.example names every token variable with a placeholder, each known to the binary; .env is never committed", () => {
  const example = readFileSync(join(ROOT, ".env.example"), "utf8");
  const vars = Object.fromEntries([...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const known = new Set(ENV_VARS.map((v) => v.name));
  for (const v of ["ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) {
    expect({ v, known: known.has(v), placeholder: vars[v]?.startsWith("change-me") }).toEqual({ v, known: true, placeholder: true });
    expect(vars[v]!.length).toBeGreaterThanOrEqual(16);
  }
  expect(vars.POSTGRES_PASSWORD).toStartWith("change-me");
  expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
});

/** The configuration an acu service runs with (compose fills ${VAR:?…} from .env; any value does here). */
function configOf(s: Service) {
  const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, "secret")]));
  return loadConfig(s.command ?? [], { ...env, ...TOKEN_ENV });
}
const OPS_PORT = configOf(acuServices[0]![1]).opsPort;

test("every acu service has an ops port on every interface and a health check running `acu healthcheck` (GET /readyz there)", () => {
  expect(OPS_PORT).toBeInteger();
  // Both images hold the binary where the health check runs it (and neither needs curl).
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  expect([...dockerfile.matchAll(/^COPY --from=build \/src\/dist\/acu (\S+)$/gm)].map((m) => m[1])).toEqual(["/usr/local/bin/acu", "/usr/local/bin/acu"]);
  expect(help).toMatch(/^ {2}acu healthcheck\b/m);
  for (const [name, s] of acuServices) {
    const cfg = configOf(s);
    expect({ service: name, test: s.healthcheck?.test, opsPort: cfg.opsPort, host: cfg.host, asks: healthcheckUrl(cfg) }).toEqual({
      service: name,
      test: ["CMD", "/usr/local/bin/acu", "healthcheck"],
      opsPort: OPS_PORT,
      host: "0.0.0.0",
      asks: `http://127.0.0.1:${OPS_PORT}/readyz`,
    });
    // The ops port is for the network (Prometheus), never published on the host.
    for (const p of s.ports ?? []) expect({ service: name, published: p.split(":").pop() }).not.toEqual({ service: name, published: String(OPS_PORT) });
  }
});

/** host path → container path of a service's bind mounts. */
const mounts = (s: Service) =>
  Object.fromEntries((s.volumes ?? []).filter((v) => v.startsWith("./")).map((v) => v.split(":").slice(0, 2).reverse() as [string, string]));

test("Prometheus scrapes /metrics on the ops port of every acu service, every replica (DNS discovery), labelled by role", () => {
  const prom = compose.services.prometheus!;
  expect(prom.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
  const file = mounts(prom)["/etc/prometheus/prometheus.yml"]!;
  type Job = {
    job_name: string;
    metrics_path?: string;
    dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
    relabel_configs?: Array<{ source_labels: string[]; target_label: string }>;
  };
  const config = Bun.YAML.parse(readFileSync(join(ROOT, file), "utf8")) as { scrape_configs: Job[] };
  const job = config.scrape_configs.find((j) => j.job_name === "acu")!;
  expect(job.metrics_path ?? "/metrics").toBe("/metrics");
  expect(job.dns_sd_configs!.flatMap((d) => d.names).sort()).toEqual(acuServices.map(([n]) => n).sort());
  for (const d of job.dns_sd_configs!) expect({ type: d.type, port: d.port }).toEqual({ type: "A", port: OPS_PORT! });
  expect(job.relabel_configs).toContainEqual({ source_labels: ["__meta_dns_name"], target_label: "role" });
});

/** Metric names a PromQL expression reads (acu's own, and the process metrics). */
const metricNames = (expr: string) => [...expr.matchAll(/\b(?:acu|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]);
/** Exposed by another branch of issue #12 (request durations); checked once merged. */
test("Grafana provisions the Prometheus data source and the acu dashboard, whose queries read only metrics acu exposes", async () => {
  const grafana = compose.services.grafana!;
  const m = mounts(grafana);
  const provisioning = m["/etc/grafana/provisioning"]!;
  const ds = Bun.YAML.parse(readFileSync(join(ROOT, provisioning, "datasources/prometheus.yml"), "utf8")) as {
    datasources: Array<{ uid: string; type: string; url: string }>;
  };
  const promPort = compose.services.prometheus!.ports![0]!.split(":").pop();
  expect(ds.datasources).toContainEqual(expect.objectContaining({ uid: "prometheus", type: "prometheus", url: `http://prometheus:${promPort}` }));
  const provider = Bun.YAML.parse(readFileSync(join(ROOT, provisioning, "dashboards/acu.yml"), "utf8")) as { providers: Array<{ options: { path: string } }> };
  const dir = m[provider.providers[0]!.options.path]!;
  expect(dir).toBe("./deploy/grafana/dashboards");

  type Panel = { title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> };
  const dashboard = JSON.parse(readFileSync(join(ROOT, dir, "acu.json"), "utf8")) as { uid: string; panels: Panel[] };
  expect(dashboard.uid).toBe("acu");
  enableProcessMetrics("compose-test");
  const exposed = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    exposed.add(metric.name);
    if (String(metric.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exposed.add(metric.name + suffix);
  }
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  for (const p of dashboard.panels) for (const t of p.targets) expect({ panel: p.title, uid: t.datasource.uid }).toEqual({ panel: p.title, uid: "prometheus" });
  for (const e of exprs) for (const name of metricNames(e)) expect({ name, exposed: exposed.has(name) }).toEqual({ name, exposed: true });
  // What an operator looks at first: ingest and alert rates, report → order latency, lag, request durations, memory.
  const reads = (re: RegExp) => exprs.some((e) => re.test(e));
  expect(reads(/rate\(acu_reports_ingested_total\[/)).toBe(true);
  expect(reads(/rate\(acu_alerts_raised_total\[/)).toBe(true);
  for (const q of ["0.5", "0.95", "0.99"])
    expect(reads(new RegExp(`histogram_quantile\\(${q}, sum by \\(le\\) \\(rate\\(acu_report_to_order_seconds_bucket\\[`))).toBe(true);
  expect(reads(/acu_consumer_lag/)).toBe(true);
  expect(reads(/histogram_quantile\(0\.95, .*acu_http_request_duration_seconds_bucket/)).toBe(true);
  expect(reads(/process_resident_memory_bytes/)).toBe(true);
});

test("Grafana's admin password comes from .env, like the other secrets", () => {
  const text = readFileSync(join(ROOT, "compose.yaml"), "utf8");
  expect(text).toMatch(/GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:\?/);
  expect(readFileSync(join(ROOT, ".env.example"), "utf8")).toMatch(/^GRAFANA_ADMIN_PASSWORD=change-me/m);
});

test("the engines are secured: each role its own etcd and Kafka user, Kafka with SASL and ACLs, HDFS with permissions", () => {
  for (const [name, s] of acuServices) {
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, "secret")]));
    const cfg = loadConfig(s.command ?? [], { ...env, ...TOKEN_ENV });
    // The analyzer opens neither engine; every other role is its own user on both.
    const user = name === "analyzer" ? null : name;
    expect([name, cfg.etcdAuth?.username ?? null, cfg.kafkaSasl?.username ?? null, cfg.kafkaSasl?.mechanism ?? null]).toEqual([
      name,
      user,
      user,
      user && "scram-sha-512",
    ]);
  }
  const kafka = compose.services["kafka-1"]!.environment!;
  expect(kafka.KAFKA_AUTHORIZER_CLASS_NAME).toBe("org.apache.kafka.metadata.authorizer.StandardAuthorizer");
  expect(kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).toBe("CONTROLLER:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT");
  expect(kafka.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe("false");
  expect(compose.services.namenode!.environment!["HDFS-SITE.XML_dfs.permissions.enabled"]).toBe("true");
  for (const setup of ["etcd-setup", "kafka-setup"]) expect(compose.services[setup]!.volumes).toContain("./deploy/engines/grants.txt:/grants.txt:ro");
});
