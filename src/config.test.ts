import { expect, test } from "bun:test";
import { loadConfig, parseRoles, ROLES } from "./config.ts";

test("roles: all by default, a subset by name, unknown refused", () => {
  expect(parseRoles(undefined)).toEqual([...ROLES]);
  expect(parseRoles("all")).toEqual([...ROLES]);
  expect(parseRoles("ingest,http")).toEqual(["ingest", "http"]);
  expect(() => parseRoles("ingest,teleport")).toThrow('unknown role "teleport"');
});

test("flags override ACU_* variables, which override defaults", () => {
  const c = loadConfig(["--port", "9000", "--data-dir", "/tmp/x"], { ACU_HTTP_PORT: "7000", ACU_DATA_DIR: "/tmp/y", ACU_DEFAULT_THRESHOLD: "40" });
  expect(c.port).toBe(9000);
  expect(c.dataDir).toBe("/tmp/x");
  expect(c.defaultThreshold).toBe(40);
  const d = loadConfig([], {});
  expect(d.port).toBe(8080);
  expect(d.defaultThreshold).toBe(50);
  expect(d.staticTokens).toEqual([]);
  expect(d.ingestRateLimit).toBe(20_000);
  expect([d.ingestStudentRateLimit, d.exercises]).toEqual([10, "strict"]);
  expect(loadConfig([], { ACU_EXERCISES: "OPEN", ACU_INGEST_STUDENT_RATE_LIMIT: "0" })).toMatchObject({ exercises: "open", ingestStudentRateLimit: 0 });
  expect(d.wsPerToken).toBe(50);
});

test("bad settings are named", () => {
  expect(() => loadConfig([], { ACU_DEFAULT_THRESHOLD: "50.5" })).toThrow("ACU_DEFAULT_THRESHOLD");
  expect(() => loadConfig(["--port", "http"], {})).toThrow("port");
  expect(() => loadConfig([], { ACU_ADMIN_TOKEN: "short" })).toThrow("ACU_ADMIN_TOKEN");
  for (const v of ["ACU_INGEST_TOKEN", "ACU_OPERATOR_TOKEN", "ACU_VIEWER_TOKEN"]) expect(() => loadConfig([], { [v]: "fifteen-chars-x" })).toThrow(v);
  expect(() => loadConfig([], { ACU_VIEWER_TOKEN: "has a space in it, 16+" })).toThrow("ACU_VIEWER_TOKEN");
  expect(() => loadConfig([], { ACU_INGEST_RATE_LIMIT: "-1" })).toThrow("ACU_INGEST_RATE_LIMIT");
  expect(() => loadConfig([], { ACU_WS_PER_TOKEN: "0" })).toThrow("ACU_WS_PER_TOKEN");
  expect(() => loadConfig([], { ACU_EXERCISES: "closed" })).toThrow('ACU_EXERCISES must be one of strict, open, not "closed"');
  expect(() => loadConfig([], { ACU_INGEST_STUDENT_RATE_LIMIT: "-1" })).toThrow("ACU_INGEST_STUDENT_RATE_LIMIT");
  expect(loadConfig([], { ACU_ANALYZER_SCHEDULE: "off" }).analyzerSchedule).toBeNull();
});

test("static tokens: one per scope; ACU_ADMIN_TOKEN is an alias of the operator token; the same secret for two scopes is refused; masked", async () => {
  const { describeConfig } = await import("./config.ts");
  const c = loadConfig([], {
    ACU_INGEST_TOKEN: "ingest-token-TPW1JaxtPyUatBv3pNc-vHPPgJ4lbFsj",
    ACU_OPERATOR_TOKEN: "operator-token-AzWaash0Akq9YpQeQXWULUeb6lQiFjmb",
    ACU_ADMIN_TOKEN: "operator-token-AzWaash0Akq9YpQeQXWULUeb6lQiFjmb",
    ACU_VIEWER_TOKEN: "viewer-token-JmhKNnzVJemXAzyV3ZT5SP_i2Ip7Dj-Q",
  });
  expect(c.staticTokens.map((t) => [t.variable, t.scope])).toEqual([
    ["ACU_INGEST_TOKEN", "ingest"],
    ["ACU_OPERATOR_TOKEN", "operator"],
    ["ACU_VIEWER_TOKEN", "viewer"],
  ]);
  expect(loadConfig([], { ACU_ADMIN_TOKEN: "admin-token-JALdaZ2UfPa1iTTzoK4Ec0baxSDkXnin" }).staticTokens).toEqual([
    { variable: "ACU_ADMIN_TOKEN", scope: "operator", token: "admin-token-JALdaZ2UfPa1iTTzoK4Ec0baxSDkXnin" },
  ]);
  expect(() =>
    loadConfig([], { ACU_INGEST_TOKEN: "same-token-FzMEfTDDB4qynW8nvtrM64epFdpqMV4T", ACU_VIEWER_TOKEN: "same-token-FzMEfTDDB4qynW8nvtrM64epFdpqMV4T" }),
  ).toThrow("same token");
  const shown = JSON.stringify(describeConfig(c, {}));
  for (const secret of Object.values(c.staticTokens)) expect(shown).not.toContain(secret.token);
  expect(shown).toContain("ACU_VIEWER_TOKEN");
});

test("shared engines: unset means embedded; set values are checked; secrets are masked", async () => {
  const { describeConfig, maskUrl } = await import("./config.ts");
  const e = loadConfig([], {});
  expect([e.kafkaBrokers, e.etcdEndpoints, e.databaseUrl]).toEqual([null, null, null]);
  const c = loadConfig([], {
    ACU_KAFKA_BROKERS: "127.0.0.1:19092, 127.0.0.1:19094",
    ACU_ETCD_ENDPOINTS: "http://127.0.0.1:12379",
    ACU_DATABASE_URL: "postgres://acu:secret@127.0.0.1:15432/acu",
  });
  expect(c.kafkaBrokers).toEqual(["127.0.0.1:19092", "127.0.0.1:19094"]);
  expect(JSON.stringify(describeConfig(c, {}))).not.toContain("secret");
  expect(maskUrl("postgres://acu:secret@h:1/d")).toBe("postgres://acu:***@h:1/d");
  expect(() => loadConfig([], { ACU_KAFKA_BROKERS: "localhost" })).toThrow("ACU_KAFKA_BROKERS");
  expect(() => loadConfig([], { ACU_DATABASE_URL: "mysql://x" })).toThrow("postgres://");
  expect(() => loadConfig([], { ACU_ETCD_ENDPOINTS: "127.0.0.1:2379" })).toThrow("ACU_ETCD_ENDPOINTS");
  expect(c.kafkaClientLog).toBe("nothing");
  expect(loadConfig([], { ACU_KAFKA_CLIENT_LOG: "WARN" }).kafkaClientLog).toBe("warn");
  expect(() => loadConfig([], { ACU_KAFKA_CLIENT_LOG: "verbose" })).toThrow(
    'ACU_KAFKA_CLIENT_LOG must be one of nothing, error, warn, info, debug, not "verbose"',
  );
});

test("engine users: etcd and Kafka credentials given together, only with their engine, passwords masked", async () => {
  const { describeConfig, describeEngines } = await import("./config.ts");
  const engines = { ACU_KAFKA_BROKERS: "127.0.0.1:20092", ACU_ETCD_ENDPOINTS: "http://127.0.0.1:13379" };
  const c = loadConfig([], {
    ...engines,
    ACU_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    ACU_KAFKA_SASL_USERNAME: "alert",
    ACU_KAFKA_SASL_PASSWORD: "kafka-pass-0123",
    ACU_ETCD_USER: "alert",
    ACU_ETCD_PASSWORD: "etcd-pass-0123",
  });
  expect(c.kafkaSasl).toEqual({ mechanism: "scram-sha-512", username: "alert", password: "kafka-pass-0123" });
  expect(c.etcdAuth).toEqual({ username: "alert", password: "etcd-pass-0123" });
  expect(loadConfig([], engines)).toMatchObject({ kafkaSasl: null, etcdAuth: null });
  const shown = JSON.stringify(describeConfig(c, describeEngines(c)));
  expect(shown).not.toContain("pass-0123");
  expect(describeEngines(c).bus).toBe("kafka 127.0.0.1:20092 as alert (scram-sha-512)");
  expect(describeEngines(c).thresholds).toBe("etcd http://127.0.0.1:13379 prefix /acu/thresholds/ as alert");
  const refused: Array<[Record<string, string>, string]> = [
    [{ ...engines, ACU_ETCD_USER: "alert" }, "ACU_ETCD_USER is set without ACU_ETCD_PASSWORD"],
    [{ ...engines, ACU_ETCD_PASSWORD: "x" }, "ACU_ETCD_PASSWORD is set without ACU_ETCD_USER"],
    [{ ACU_ETCD_USER: "alert", ACU_ETCD_PASSWORD: "x" }, "ACU_ETCD_USER is set but ACU_ETCD_ENDPOINTS is not"],
    [{ ...engines, ACU_KAFKA_SASL_USERNAME: "alert", ACU_KAFKA_SASL_PASSWORD: "x" }, "without ACU_KAFKA_SASL_MECHANISM"],
    [{ ...engines, ACU_KAFKA_SASL_MECHANISM: "plain" }, "ACU_KAFKA_SASL_MECHANISM is set without ACU_KAFKA_SASL_USERNAME"],
    [{ ...engines, ACU_KAFKA_SASL_MECHANISM: "gssapi", ACU_KAFKA_SASL_USERNAME: "a", ACU_KAFKA_SASL_PASSWORD: "x" }, "ACU_KAFKA_SASL_MECHANISM must be one of"],
    [{ ACU_KAFKA_SASL_MECHANISM: "plain", ACU_KAFKA_SASL_USERNAME: "a", ACU_KAFKA_SASL_PASSWORD: "x" }, "but ACU_KAFKA_BROKERS is not"],
    [{ ...engines, ACU_ETCD_USER: "two words", ACU_ETCD_PASSWORD: "x" }, "ACU_ETCD_USER must be"],
  ];
  for (const [env, message] of refused) expect(() => loadConfig([], env)).toThrow(message);
});

test("Spark needs its home, its JDBC jar and a PostgreSQL warehouse, and says so", () => {
  const base = {
    ACU_SPARK_MASTER: "spark://127.0.0.1:17077",
    ACU_SPARK_HOME: "/opt/spark",
    ACU_SPARK_JDBC_JAR: "/x.jar",
    ACU_DATABASE_URL: "postgres://a:b@h:1/d",
  };
  expect(loadConfig([], base).spark?.master).toBe("spark://127.0.0.1:17077");
  expect(() => loadConfig([], { ...base, ACU_DATABASE_URL: "" })).toThrow("needs ACU_DATABASE_URL");
  expect(() => loadConfig([], { ...base, ACU_SPARK_HOME: "" })).toThrow("ACU_SPARK_HOME");
  expect(() => loadConfig([], { ...base, ACU_SPARK_JDBC_JAR: "" })).toThrow("ACU_SPARK_JDBC_JAR");
  expect(() => loadConfig([], { ...base, ACU_SPARK_MASTER: "local[2]" })).toThrow("spark://host:port");
  expect(loadConfig([], {}).spark).toBeNull();
});

test("ops port: none by default; flag over ACU_OPS_PORT; must differ from the http port of a process that listens there", () => {
  expect(loadConfig([], {}).opsPort).toBeNull();
  expect(loadConfig([], { ACU_OPS_PORT: "9464" }).opsPort).toBe(9464);
  expect(loadConfig(["--ops-port", "9465"], { ACU_OPS_PORT: "9464" }).opsPort).toBe(9465);
  expect(() => loadConfig([], { ACU_OPS_PORT: "http" })).toThrow("ACU_OPS_PORT");
  expect(() => loadConfig(["--ops-port", "70000"], {})).toThrow("--ops-port");
  expect(() => loadConfig(["--role=ingest", "--port", "9000", "--ops-port", "9000"], {})).toThrow("is the http port");
  // An alert process opens no http port: 8080 is free for its ops port.
  expect(loadConfig(["--role=alert", "--ops-port", "8080"], {}).opsPort).toBe(8080);
});

test("dispatch: a role of its own, in all; the acknowledgement time-out in seconds (default 60); the etcd prefix", () => {
  expect(ROLES).toContain("dispatch");
  expect(parseRoles("all")).toContain("dispatch");
  expect(parseRoles("dispatch")).toEqual(["dispatch"]);
  const d = loadConfig([], {});
  expect([d.dispatchAckTimeoutMs, d.etcdDispatchPrefix]).toEqual([60_000, "/acu/dispatch/"]);
  expect(loadConfig([], { ACU_DISPATCH_ACK_TIMEOUT: "1.5" }).dispatchAckTimeoutMs).toBe(1500);
  expect(loadConfig([], { ACU_ETCD_DISPATCH_PREFIX: "/run-1/dispatch/" }).etcdDispatchPrefix).toBe("/run-1/dispatch/");
  for (const bad of ["0", "-5", "soon", "100000"]) expect(() => loadConfig([], { ACU_DISPATCH_ACK_TIMEOUT: bad })).toThrow("ACU_DISPATCH_ACK_TIMEOUT");
});

test("static tokens that are placeholders, examples, short or guessable are refused at start, naming the variable and the reason", () => {
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig([], env);
      return "accepted";
    } catch (e) {
      return (e as Error).message;
    }
  };
  // The values .env.example ships: 16+ characters, once accepted as real tokens.
  expect(refusal({ ACU_INGEST_TOKEN: "change-me-ingest-token" })).toStartWith("ACU_INGEST_TOKEN is an example token printed in acu's own files");
  expect(refusal({ ACU_OPERATOR_TOKEN: "change-me-operator-token-0123456789abcdef" })).toStartWith(
    'ACU_OPERATOR_TOKEN is a placeholder (it holds "change-me")',
  );
  expect(refusal({ ACU_VIEWER_TOKEN: "viewer-token-0123456789" })).toStartWith("ACU_VIEWER_TOKEN is 23 characters; a static token needs at least 32");
  expect(refusal({ ACU_ADMIN_TOKEN: "x".repeat(64) })).toStartWith("ACU_ADMIN_TOKEN looks guessable: about 0 bits of entropy");
  // Every refusal says how to make a good one.
  expect(refusal({ ACU_VIEWER_TOKEN: "viewer-token-0123456789" })).toContain("openssl rand -base64 32");
});

test("ACU_DEMO: 0 (default) or 1, anything else refused", () => {
  expect(loadConfig([], {}).demo).toBe(false);
  expect(loadConfig([], { ACU_DEMO: "0" }).demo).toBe(false);
  expect(loadConfig([], { ACU_DEMO: "1" }).demo).toBe(true);
  expect(() => loadConfig([], { ACU_DEMO: "yes" })).toThrow('ACU_DEMO must be 0 or 1, not "yes"');
});

test("the resend horizon: ACU_DEDUPE_IDS ids per window, bounded (memory grows with it)", () => {
  expect(loadConfig([], {}).dedupeIds).toBe(1_000_000);
  expect(loadConfig([], { ACU_DEDUPE_IDS: "5000000" }).dedupeIds).toBe(5_000_000);
  for (const bad of ["999", "10000001", "1500.5", "lots"]) expect(() => loadConfig([], { ACU_DEDUPE_IDS: bad })).toThrow("ACU_DEDUPE_IDS");
});

test("ACU_KAFKA_RAW_TOPICS: topic[:format] with ACU_KAFKA_RAW_FORMAT the default; needs Kafka; bad names and formats refused", () => {
  const k = { ACU_KAFKA_BROKERS: "127.0.0.1:9092" };
  expect(loadConfig([], { ...k, ACU_KAFKA_RAW_TOPICS: "student_report:original, laptops" }).kafkaRawTopics).toEqual([
    { name: "student_report", format: "original" },
    { name: "laptops", format: "auto" },
  ]);
  expect(loadConfig([], { ...k, ACU_KAFKA_RAW_TOPICS: "laptops", ACU_KAFKA_RAW_FORMAT: "acu" }).kafkaRawTopics).toEqual([{ name: "laptops", format: "acu" }]);
  expect(loadConfig([], k).kafkaRawTopics).toEqual([]);
  expect(() => loadConfig([], { ACU_KAFKA_RAW_TOPICS: "student_report" })).toThrow("ACU_KAFKA_RAW_TOPICS needs ACU_KAFKA_BROKERS");
  expect(() => loadConfig([], { ...k, ACU_KAFKA_RAW_TOPICS: "a b" })).toThrow('"a b" is not a Kafka topic name');
  expect(() => loadConfig([], { ...k, ACU_KAFKA_RAW_TOPICS: "a:legacy" })).toThrow("ACU_KAFKA_RAW_TOPICS (a) must be one of acu, original, auto");
  expect(() => loadConfig([], { ...k, ACU_KAFKA_RAW_TOPICS: "a,a:acu" })).toThrow('names "a" twice');
  expect(() => loadConfig([], { ...k, ACU_KAFKA_RAW_FORMAT: "xml" })).toThrow("ACU_KAFKA_RAW_FORMAT");
});
