import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
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

test(".env.example names every token variable with a placeholder acu refuses at start; .env is never committed", () => {
  const example = readFileSync(join(ROOT, ".env.example"), "utf8");
  const vars = Object.fromEntries([...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const known = new Set(ENV_VARS.map((v) => v.name));
  for (const v of ["ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) {
    expect({ v, known: known.has(v), placeholder: vars[v]?.startsWith("change-me") }).toEqual({ v, known: true, placeholder: true });
    // An unedited copy must not start: the placeholder is public.
    expect(() => loadConfig([], { [v]: vars[v]! })).toThrow(v);
  }
  expect(vars.POSTGRES_PASSWORD).toStartWith("change-me");
  expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
});

/** Every token value acu's own files show (`ACU_*_TOKEN=…`, `#token=…`, `Bearer …`), but shell variables and `<…>` forms. */
function exampleTokens(): Array<{ file: string; token: string }> {
  const files = [
    ".env.example",
    "README.md",
    "compose.yaml",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const out: Array<{ file: string; token: string }> = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const m of text.matchAll(/ACU_(?:INGEST|OPERATOR|VIEWER|ADMIN)_TOKEN=([^\s`'"]+)|#token=([^\s`'")&]+)|Bearer ([^\s`'"$<]+)/g)) {
      const token = (m[1] ?? m[2] ?? m[3])!;
      if (!token.startsWith("$") && !token.startsWith("<")) out.push({ file, token });
    }
  }
  return out;
}

test("every token acu's files show as an example is refused as a static token", () => {
  const examples = exampleTokens();
  // The .env.example placeholders and the README's demo tokens at least.
  expect(examples.length).toBeGreaterThanOrEqual(6);
  for (const { file, token } of examples) {
    let refused = "accepted";
    try {
      loadConfig([], { ACU_VIEWER_TOKEN: token });
    } catch (e) {
      refused = (e as Error).message.startsWith("ACU_VIEWER_TOKEN") ? "refused" : (e as Error).message;
    }
    expect({ file, token, refused }).toEqual({ file, token, refused: "refused" });
  }
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

// ---- The engines: versions, data in volumes, HDFS durability (issue #14) ----

type Full = Service & { user?: string; entrypoint?: string[]; depends_on?: Record<string, { condition: string }> };
const services = compose.services as Record<string, Full>;
const composeFile = Bun.YAML.parse(readFileSync(join(ROOT, "compose.yaml"), "utf8")) as { volumes: Record<string, unknown> };
const script = (name: string) => readFileSync(join(ROOT, "scripts/cluster.d", name), "utf8");
const one = (text: string, re: RegExp, what: string) => {
  const m = re.exec(text);
  if (!m) throw new Error(`${what}: not found`);
  return m[1]!;
};

/** What scripts/cluster runs (and so every cluster test), and the Bun the lockfile installs. */
const TESTED = {
  kafka: one(script("kafka.sh"), /^KAFKA_VERSION=\$\{ACU_KAFKA_VERSION:-([^}]+)\}$/m, "kafka.sh KAFKA_VERSION"),
  etcd: one(script("etcd.sh"), /^ETCD_VERSION=(\S+)$/m, "etcd.sh ETCD_VERSION"),
  postgres: one(script("postgres.sh"), /^PG_MAJOR=(\d+)$/m, "postgres.sh PG_MAJOR"),
  hadoop: one(script("hdfs.sh"), /^HDFS_VERSION=\$\{ACU_HDFS_VERSION:-([^}]+)\}$/m, "hdfs.sh HDFS_VERSION"),
  spark: one(script("spark.sh"), /ACU_SPARK_VERSION:-([^}]+)\}/, "spark.sh spark_version"),
  pgjdbc: one(script("spark.sh"), /ACU_SPARK_PGJDBC_VERSION:-([^}]+)\}/, "spark.sh spark_pgjdbc_version"),
  bun: (JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> }).packages["node_modules/bun"]!
    .version,
};

test("every engine image is the version the tests run (scripts/cluster.d, package-lock.json)", () => {
  const expected: Array<[RegExp, string]> = [
    [/^kafka-(\d|setup)$/, `apache/kafka:${TESTED.kafka}`],
    [/^etcd-(\d|setup)$/, `quay.io/coreos/etcd:v${TESTED.etcd}`],
    [/^(namenode|datanode-\d|hdfs-.+)$/, `apache/hadoop:${TESTED.hadoop}`],
    [/^spark-.+$/, `apache/spark:${TESTED.spark}-python3`],
    [/^postgres$/, `postgres:${TESTED.postgres}`],
  ];
  // Monitoring runs no test; acu's own images are built from the Dockerfile.
  const untested = new Set(["prometheus", "grafana", ...acuServices.map(([n]) => n)]);
  for (const [name, s] of Object.entries(services)) {
    if (untested.has(name)) continue;
    const want = expected.find(([re]) => re.test(name))?.[1] ?? "(an engine no test runs)";
    expect({ service: name, image: s.image }).toEqual({ service: name, image: want });
  }
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const stages = Object.fromEntries([...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => [m[2]!, m[1]!]));
  expect(stages).toEqual({ build: `oven/bun:${TESTED.bun}`, acu: "debian:bookworm-slim", analyzer: `apache/spark:${TESTED.spark}-python3` });
  expect([...dockerfile.matchAll(/postgresql\/(\d[^/]*)\/postgresql-\1\.jar/g)].map((m) => m[1])).toEqual([TESTED.pgjdbc]);
});

/** container path → named volume of a service. */
const namedVolumes = (s: Service) =>
  Object.fromEntries((s.volumes ?? []).filter((v) => !v.startsWith("./")).map((v) => v.split(":").slice(0, 2).reverse() as [string, string]));
const hdfsSetting = (s: Service, key: string) => String(s.environment?.[`HDFS-SITE.XML_${key}`] ?? "");
const stripFile = (uri: string) => uri.replace(/^file:\/\//, "");

test("every engine keeps its data in a named volume mounted at the path its configuration names", () => {
  const dataPaths: Record<string, string> = {};
  for (const [name, s] of Object.entries(services)) {
    if (/^kafka-\d$/.test(name)) dataPaths[name] = String(s.environment?.KAFKA_LOG_DIRS ?? "(KAFKA_LOG_DIRS unset)");
    if (/^etcd-\d$/.test(name)) dataPaths[name] = s.command?.find((a) => a.startsWith("--data-dir="))?.slice(11) ?? "(no --data-dir)";
    if (name === "namenode") dataPaths[name] = stripFile(hdfsSetting(s, "dfs.namenode.name.dir")) || "(dfs.namenode.name.dir unset)";
    if (/^datanode-\d$/.test(name)) dataPaths[name] = stripFile(hdfsSetting(s, "dfs.datanode.data.dir")) || "(dfs.datanode.data.dir unset)";
    if (name === "postgres") dataPaths[name] = String(s.environment?.PGDATA ?? "(PGDATA unset)");
    if (name === "prometheus") dataPaths[name] = s.command?.find((a) => a.startsWith("--storage.tsdb.path="))?.slice(20) ?? "(no tsdb path)";
    if (name === "grafana") dataPaths[name] = "/var/lib/grafana";
  }
  expect(Object.keys(dataPaths).sort()).toEqual(
    ["datanode-1", "datanode-2", "etcd-1", "etcd-2", "etcd-3", "grafana", "kafka-1", "kafka-2", "kafka-3", "namenode", "postgres", "prometheus"].sort(),
  );
  const owner = new Map<string, string>();
  for (const [name, path] of Object.entries(dataPaths)) {
    const volume = namedVolumes(services[name]!)[path];
    expect({ service: name, path, volume: volume ?? "(not mounted)", declared: volume !== undefined && volume in composeFile.volumes }).toEqual({
      service: name,
      path,
      volume: expect.not.stringMatching(/^\(not mounted\)$/),
      declared: true,
    });
    // One service per volume: two brokers on one log dir would corrupt it.
    expect({ volume, usedBy: owner.get(volume!) ?? name }).toEqual({ volume, usedBy: name });
    owner.set(volume!, name);
  }
});

test("HDFS: at least 2 DataNodes and replication 2, synconclose, permissions on, its volumes owned by the user it runs as, the lake folder owned by acu", () => {
  const hadoop = Object.entries(services).filter(([, s]) => s.image?.startsWith("apache/hadoop:"));
  const datanodes = hadoop.filter(([n]) => /^datanode-\d$/.test(n));
  const running = hadoop.filter(([n]) => n === "namenode" || /^datanode-\d$/.test(n));
  expect(datanodes.length).toBeGreaterThanOrEqual(2);
  for (const [name, s] of running)
    expect({
      service: name,
      user: s.user,
      replication: Number(hdfsSetting(s, "dfs.replication")),
      synconclose: hdfsSetting(s, "dfs.datanode.synconclose"),
      permissions: hdfsSetting(s, "dfs.permissions.enabled"),
    }).toEqual({ service: name, user: "hadoop", replication: 2, synconclose: "true", permissions: "true" });
  expect(Number(hdfsSetting(services.namenode!, "dfs.replication"))).toBeLessThanOrEqual(datanodes.length);
  // The volumes Docker creates belong to root: a one-shot service hands each to the user HDFS runs as, first.
  const init = services["hdfs-volumes"]!;
  expect({ user: init.user, run: [...(init.entrypoint ?? []), ...(init.command ?? [])].slice(0, 3) }).toEqual({ user: "root", run: ["chown", "-R", "hadoop"] });
  const chowned = new Set(Object.values(namedVolumes(init)));
  for (const [name, s] of running) {
    for (const volume of Object.values(namedVolumes(s)))
      expect({ service: name, volume, chowned: chowned.has(volume) }).toEqual({ service: name, volume, chowned: true });
    expect(init.command).toEqual(expect.arrayContaining(Object.keys(namedVolumes(init))));
  }
  expect(services.namenode!.depends_on?.["hdfs-volumes"]).toEqual({ condition: "service_completed_successfully" });
  // With permissions on, acu (user.name=acu) writes only where it owns the folder: ACU_HDFS_ROOT, made by the superuser.
  const root = configOf(services.sink!).hdfsRoot;
  const lake = services["hdfs-lake"]!.command!.join(" ");
  expect(lake).toContain("hdfs dfsadmin -safemode wait");
  expect(lake).toContain(`hdfs dfs -mkdir -p ${root}`);
  expect(lake).toMatch(new RegExp(`hdfs dfs -chown acu:acu( \\S+)* ${root}\\b`));
  for (const [name] of acuServices)
    expect({ service: name, lake: services[name]!.depends_on?.["hdfs-lake"] }).toEqual({
      service: name,
      lake: { condition: "service_completed_successfully" },
    });
});

test("every published port listens on 127.0.0.1 unless PUBLISH_ADDRESS says otherwise", () => {
  const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, p })));
  expect(published.map(({ name }) => name).sort()).toEqual(["grafana", "http", "ingest", "prometheus"]);
  for (const { name, p } of published) expect({ service: name, address: p.split(":")[0] }).toEqual({ service: name, address: "${PUBLISH_ADDRESS" });
  for (const { name, p } of published)
    expect({ service: name, port: p }).toEqual({ service: name, port: expect.stringMatching(/^\$\{PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+(-\d+)?:\d+$/) });
});

test("the Dockerfile installs the frozen lockfile, runs as a non-root user, checks every download; .dockerignore keeps secrets and local state out", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const installs = [...dockerfile.matchAll(/^RUN .*\b(?:bun|npm) (?:install|ci)\b.*$/gm)].map((m) => m[0]);
  expect(installs).toEqual(["RUN bun install --frozen-lockfile"]);
  // The last USER of each image's stage: never root (an unset USER is root).
  const stages = dockerfile.split(/^(?=FROM )/m).filter((s) => s.startsWith("FROM "));
  for (const stage of stages) {
    const name = /^FROM \S+ AS (\S+)/.exec(stage)![1]!;
    if (name === "build") continue;
    const user = [...stage.matchAll(/^USER (\S+)$/gm)].pop()?.[1] ?? "root";
    expect({ stage: name, user, root: user === "root" || user === "0" }).toEqual({ stage: name, user, root: false });
  }
  // Every remote file is checked against its digest.
  const instructions = dockerfile.replace(/\s*\\\n\s*/g, " ").split("\n");
  const adds = instructions.filter((l) => l.startsWith("ADD ")).map((l) => l.slice(4));
  expect(adds.length).toBeGreaterThan(0);
  for (const a of adds) if (/https?:\/\//.test(a)) expect(a).toMatch(/^--checksum=sha256:[0-9a-f]{64} https:\/\//);
  // No download around the checks (a RUN with curl or wget).
  for (const run of instructions.filter((l) => l.startsWith("RUN "))) expect(run).not.toMatch(/\b(curl|wget)\b/);
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim());
  for (const p of ["node_modules", ".acu", ".env", ".env.*", ".git", "dist", "data"]) expect({ p, ignored: ignored.includes(p) }).toEqual({ p, ignored: true });
  expect(ignored).toContain("!.env.example");
});
