import { expect, test } from "bun:test";
import { describeEngines, ENGINES, loadConfig, resolveConfig, SETTINGS } from "./index.ts";

const originOf = (r: ReturnType<typeof resolveConfig>, name: string) => r.origins.find((o) => (o.setting.env ?? o.setting.flag) === name);

test("each setting says where its value came from: flag, variable, .env or default; secrets are shown masked", () => {
  const env = {
    ACU_HTTP_PORT: "7000",
    ACU_DATA_DIR: "/tmp/y",
    ACU_INGEST_TOKEN: "ingest-token-MrsNX4CXG430TBdzHdUztIYLdxizyiwg",
    ACU_DATABASE_URL: "postgres://acu:secret@h:1/d",
    ACU_HTTP_HOST: "",
  };
  const r = resolveConfig({ port: "9000" }, env, new Set(["ACU_INGEST_TOKEN"]));
  expect(r.config.port).toBe(9000);
  expect(originOf(r, "ACU_HTTP_PORT")).toMatchObject({ origin: "flag", shown: "9000" });
  expect(originOf(r, "ACU_DATA_DIR")).toMatchObject({ origin: "variable", shown: "/tmp/y" });
  expect(originOf(r, "ACU_INGEST_TOKEN")).toMatchObject({ origin: ".env", shown: "****" });
  expect(originOf(r, "ACU_DATABASE_URL")).toMatchObject({ origin: "variable", shown: "postgres://acu:***@h:1/d" });
  // Set but empty is unset.
  expect(originOf(r, "ACU_HTTP_HOST")).toMatchObject({ origin: "default", shown: undefined });
  expect(r.config.host).toBe("127.0.0.1");
  expect(originOf(r, "--role")).toMatchObject({ origin: "default" });
  expect(r.origins).toHaveLength(SETTINGS.length);
});

test("the ops port: none by default, a port number from the flag or the variable", () => {
  expect(loadConfig([], {}).opsPort).toBeNull();
  expect(loadConfig(["--ops-port", "9100"], { ACU_OPS_PORT: "9200" }).opsPort).toBe(9100);
  expect(loadConfig([], { ACU_OPS_PORT: "0" }).opsPort).toBe(0);
  expect(() => loadConfig([], { ACU_OPS_PORT: "65536" })).toThrow("ACU_OPS_PORT=65536: must be a port number 0–65535");
  expect(() => loadConfig(["--ops-port", "x"], {})).toThrow("--ops-port=x: must be a port number 0–65535");
});

test("loadConfig takes configuration flags only, strictly", () => {
  expect(() => loadConfig(["--no-such-flag"], {})).toThrow("--no-such-flag");
  expect(() => loadConfig(["alert"], {})).toThrow("alert");
  expect(loadConfig(["--log-format", "text"], {}).logFormat).toBe("text");
  expect(() => loadConfig([], { ACU_LOG_LEVEL: "loud" })).toThrow('ACU_LOG_LEVEL must be one of debug, info, warn, error, silent, not "loud"');
});

test("every engine is described, embedded by default, shared when its variable is set", () => {
  expect(ENGINES.map((e) => e.name).sort()).toEqual(["analytics", "bus", "dispatch", "lake", "thresholds", "tokens", "warehouse"]);
  const embedded = loadConfig(["--data-dir", "/d"], {});
  expect(describeEngines(embedded)).toEqual({
    bus: "embedded log in /d/bus",
    thresholds: "embedded file /d/thresholds.json",
    tokens: "embedded file /d/tokens.json",
    dispatch: "embedded journal in /d/dispatch",
    lake: "local files in /d/lake",
    warehouse: "pglite in /d/warehouse",
    analytics: "embedded (Arrow)",
  });
  for (const e of ENGINES) expect({ e: e.name, shared: e.shared(embedded) }).toEqual({ e: e.name, shared: null });
  const shared = loadConfig([], {
    ACU_KAFKA_BROKERS: "k:9092",
    ACU_ETCD_ENDPOINTS: "http://e:2379",
    ACU_HDFS_URL: "http://n:9870",
    ACU_DATABASE_URL: "postgres://a:pw@p:5432/acu",
    ACU_SPARK_MASTER: "spark://s:7077",
    ACU_SPARK_HOME: "/opt/spark",
    ACU_SPARK_JDBC_JAR: "/j.jar",
  });
  for (const e of ENGINES) expect({ e: e.name, selected: e.shared(shared) !== null }).toEqual({ e: e.name, selected: true });
  expect(describeEngines(shared).warehouse).toBe("postgres postgres://a:***@p:5432/acu");
  expect(describeEngines(shared).dispatch).toBe("etcd http://e:2379 prefix /acu/dispatch/");
});

test("every setting has a variable or a flag, a default and help; no variable or flag is declared twice", () => {
  const names = SETTINGS.map((s) => s.env ?? s.flag);
  expect(new Set(names).size).toBe(names.length);
  const flags = SETTINGS.flatMap((s) => (s.flag ? [s.flag] : []));
  expect(new Set(flags).size).toBe(flags.length);
  for (const s of SETTINGS) expect({ s: s.env ?? s.flag, ok: Boolean((s.env || s.flag) && s.default && s.help) }).toEqual({ s: s.env ?? s.flag, ok: true });
});

test("memory bounds are whole byte counts from 1 MiB to their maximum; defaults when unset", () => {
  const c = loadConfig([], {});
  expect([c.ingestInflightBytes, c.sinkBufferBytes, c.kafkaPublishQueueBytes]).toEqual([32 * 1024 * 1024, 128 * 1024 * 1024, 64 * 1024 * 1024]);
  expect(loadConfig([], { ACU_INGEST_INFLIGHT_BYTES: "1048576" }).ingestInflightBytes).toBe(1024 * 1024);
  expect(() => loadConfig([], { ACU_INGEST_INFLIGHT_BYTES: "1048575" })).toThrow(
    "ACU_INGEST_INFLIGHT_BYTES=1048575: must be a whole number of bytes, 1 MiB–4 GiB",
  );
  expect(() => loadConfig([], { ACU_INGEST_INFLIGHT_BYTES: "2e6.5" })).toThrow("ACU_INGEST_INFLIGHT_BYTES=2e6.5");
  expect(() => loadConfig([], { ACU_SINK_BUFFER_BYTES: String(17 * 1024 ** 3) })).toThrow("must be a whole number of bytes, 1 MiB–16 GiB");
  expect(() => loadConfig([], { ACU_KAFKA_PUBLISH_QUEUE_BYTES: "1048576.5" })).toThrow(
    "ACU_KAFKA_PUBLISH_QUEUE_BYTES=1048576.5: must be a whole number of bytes, 1 MiB–4 GiB",
  );
});
