import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { lineLogger } from "../../log.ts";
import { GroupAccess, GroupAuthorizationError, groupRefused, groupTrouble } from "./group-access.ts";

setDefaultTimeout(60_000);

/** A kafkajs protocol error as the broker's answer makes it (KafkaJSProtocolError: type and code). */
function protocolError(type: string, code: number): Error {
  return Object.assign(new Error(type), { name: "KafkaJSProtocolError", type, code });
}

function wrapped(cause: Error, name = "KafkaJSNumberOfRetriesExceeded"): Error {
  return Object.assign(new Error(cause.message), { name, cause });
}

test("GROUP_AUTHORIZATION_FAILED (30) is a refusal, through kafkajs's wrappers; unavailable coordinators and time-outs are not", () => {
  expect(groupRefused(protocolError("GROUP_AUTHORIZATION_FAILED", 30))).toBe(true);
  expect(groupRefused(wrapped(protocolError("GROUP_AUTHORIZATION_FAILED", 30)))).toBe(true);
  for (const transient of [
    protocolError("GROUP_COORDINATOR_NOT_AVAILABLE", 15),
    protocolError("NOT_COORDINATOR_FOR_GROUP", 16),
    protocolError("GROUP_LOAD_IN_PROGRESS", 14),
    protocolError("TOPIC_AUTHORIZATION_FAILED", 29),
    new Error("Request Metadata(key: 3, version: 6) timed out"),
    Object.assign(new Error("Failed to find group coordinator"), { name: "KafkaJSGroupCoordinatorNotFound" }),
  ])
    expect(groupRefused(transient)).toBe(false);
});

test("'Failed to find group coordinator' (what kafkajs makes of a refused FindCoordinator) is worth a look at the group", () => {
  const notFound = Object.assign(new Error("Failed to find group coordinator"), { name: "KafkaJSGroupCoordinatorNotFound" });
  expect(groupTrouble(notFound)).toBe(true);
  expect(groupTrouble(wrapped(notFound))).toBe(true);
  expect(groupTrouble(protocolError("GROUP_AUTHORIZATION_FAILED", 30))).toBe(true);
  expect(groupTrouble(protocolError("NOT_COORDINATOR_FOR_GROUP", 16))).toBe(false);
  expect(groupTrouble(new Error("Connection timeout"))).toBe(false);
});

test("the refusal names the group, the user and the ACL to grant", () => {
  const e = new GroupAuthorizationError("exam.acu-alert", "alert");
  expect(e.message).toBe(
    "Kafka refused consumer group exam.acu-alert to user alert: GROUP_AUTHORIZATION_FAILED; grant User:alert READ on group exam.acu-alert " +
      "(see docs/operations.md#engine-users-and-their-grants)",
  );
  expect(new GroupAuthorizationError("acu-sink", null).message).toContain("to this client (no SASL user: ACU_KAFKA_SASL_USERNAME is not set)");
});

test("a broker that does not answer is 'cannot tell now', never a refusal: the look rejects with its own error, admit lets the consumer start", async () => {
  const lines: string[] = [];
  const access = new GroupAccess({ brokers: ["127.0.0.1:1"], log: lineLogger((l) => lines.push(l)), probeTimeoutMs: 3000, admitWithinMs: 2000 });
  const e = await access.look("acu-alert").then(
    () => null,
    (x: Error) => x,
  );
  expect(e).not.toBeNull();
  expect(e).not.toBeInstanceOf(GroupAuthorizationError);
  const started = Date.now();
  await access.admit("acu-alert");
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(lines.join("\n")).toContain("group acu-alert: cannot tell now whether this user may use it");
});

const brokers = process.env.ACU_KAFKA_BROKERS?.split(",");
describe.skipIf(!brokers)("group access on the cluster", () => {
  test("a group that does not exist yet is allowed (no ACLs on the plain cluster): look and admit resolve", async () => {
    const access = new GroupAccess({ brokers: brokers!, log: lineLogger(() => {}) });
    const group = `acu-group-access-${Date.now().toString(36)}`;
    await access.admit(group);
    await access.look(group);
  });
});
