import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { etcdPermissions, grantsTable, kafkaAcls, SECURED_ROLES } from "./grants.ts";

const prefixes = { thresholds: "/acu/thresholds/", tokens: "/acu/tokens/", dispatch: "/acu/dispatch/" };

test("docs/operations.md shows the grants as src/grants.ts defines them", () => {
  const doc = readFileSync(join(import.meta.dir, "../docs/operations.md"), "utf8");
  expect(doc).toContain(grantsTable());
});

test("Kafka ACLs: names with the namespace; only the alert role has transactional ids; only a role writing no topic gets IdempotentWrite", () => {
  const ingest = kafkaAcls("ingest", "ns.");
  expect(ingest.filter((a) => a.operation === "write")).toEqual([{ resource: "topic", name: "ns.student-reports", pattern: "literal", operation: "write" }]);
  expect(ingest.filter((a) => a.operation === "read")).toEqual([]);
  expect(kafkaAcls("alert", "ns.").filter((a) => a.resource === "transactional-id")).toEqual([
    { resource: "transactional-id", name: "ns.acu-alert", pattern: "prefixed", operation: "write" },
  ]);
  for (const r of SECURED_ROLES) {
    const acls = kafkaAcls(r, "ns.");
    expect(acls.filter((a) => a.resource === "topic" && a.operation === "describe").length).toBe(4);
    expect(acls.some((a) => a.resource === "transactional-id")).toBe(r === "alert");
    expect(acls.some((a) => a.operation === "idempotent-write")).toBe(r === "sink");
    expect(acls.every((a) => a.resource === "cluster" || a.name.startsWith("ns."))).toBe(true);
  }
});

test("etcd: tokens are only read by roles (written by acu token, as an administrator); thresholds written by http alone", () => {
  const all = SECURED_ROLES.flatMap((r) => etcdPermissions(r, prefixes).map((p) => ({ role: r, ...p })));
  expect(all.filter((p) => p.store === "tokens").every((p) => p.access === "read")).toBe(true);
  expect(all.filter((p) => p.store === "thresholds" && p.access === "readwrite").map((p) => p.role)).toEqual(["http"]);
  expect(etcdPermissions("sink", prefixes)).toEqual([]);
  expect(etcdPermissions("alert", prefixes)).toEqual([{ store: "thresholds", prefix: "/acu/thresholds/", access: "read" }]);
});

test("deploy/engines/grants.txt (compose's engine setup) says what src/grants.ts says", () => {
  const lines = readFileSync(join(import.meta.dir, "../deploy/engines/grants.txt"), "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));
  const want = [
    ...SECURED_ROLES.flatMap((r) => kafkaAcls(r).map((a) => `kafka ${r} ${a.resource} ${a.name} ${a.pattern} ${a.operation}`)),
    ...SECURED_ROLES.flatMap((r) => etcdPermissions(r, prefixes).map((p) => `etcd ${r} ${p.access} ${p.prefix}`)),
  ];
  expect(lines).toEqual(want);
});

test("ingest with raw topics: reads them by their literal name in its group, writes the DLQ through transactions; without, nothing of it", () => {
  const acls = kafkaAcls("ingest", "ns", ["student_report"]);
  expect(acls.filter((a) => a.name === "student_report")).toEqual([
    { resource: "topic", name: "student_report", pattern: "literal", operation: "describe" },
    { resource: "topic", name: "student_report", pattern: "literal", operation: "read" },
  ]);
  expect(acls.filter((a) => a.operation === "write").map((a) => a.name)).toEqual(["ns.student-reports", "ns.reports-dlq", "ns.acu-ingest-raw"]);
  expect(acls.filter((a) => a.resource === "group")).toEqual([{ resource: "group", name: "ns.acu-ingest-raw", pattern: "literal", operation: "read" }]);
  expect(kafkaAcls("ingest", "ns").some((a) => a.name.includes("raw") || (a.name.endsWith("reports-dlq") && a.operation === "write"))).toBe(false);
  expect(kafkaAcls("alert", "ns", ["student_report"])).toEqual(kafkaAcls("alert", "ns"));
});
