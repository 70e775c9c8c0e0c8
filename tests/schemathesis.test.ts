import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, eventually, ingest, operator, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

setDefaultTimeout(600_000);

/**
 * schemathesis (the OpenAPI-driven fuzzer, from PyPI; installed on first use by scripts/schemathesis)
 * against a live acu on embedded engines, every operation of GET /api/openapi.json but the WebSocket
 * streams (schemathesis speaks HTTP only; tests/security.test.ts, tests/slow-client.test.ts and
 * tests/dispatch-api.test.ts drive them).
 * Every check schemathesis has: no server error, and no answer that contradicts the document — status,
 * content type, headers, body schema, invalid input refused, valid input accepted, auth enforced,
 * unsupported methods refused with 405 and Allow. Bounded by examples per operation; one worker (hypothesis
 * under threads hit a CPython ast.parse race once, a runtime error of the tool, not a finding).
 */
const MAX_EXAMPLES = Number(process.env.ACU_SCHEMATHESIS_EXAMPLES ?? 25);
const STREAMS = ["streamAlerts", "streamIncidents", "streamPatrol"];
let acu: AcuProcess;
const dir = tempDir("schemathesis");
beforeAll(async () => {
  // No rate limit: a 429 is in the document, but valid reports refused for it would count as rejected.
  acu = await startAcu({ dataDir: join(dir, "data"), env: { ACU_INGEST_RATE_LIMIT: "0", ACU_INGEST_STUDENT_RATE_LIMIT: "0" } });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

test(`schemathesis, every check, ${MAX_EXAMPLES} examples per operation: no server error, nothing that contradicts the document`, async () => {
  // From a file, so the document's own operation is fuzzed too (schemathesis skips the URL it loaded).
  const doc = await (await fetch(`${acu.url}/api/openapi.json`)).text();
  writeFileSync(join(dir, "openapi.json"), doc);
  // Each operation on an incident gets one of its own, in the state it acts on and held by its own patrol
  // (else they would only ever meet 404s, or 409s once another operation moved it on).
  const operations: string[] = [];
  for (const f of INCIDENT_OPERATIONS) {
    const incidentId = await incidentHeld(`sch-${f.op.toLowerCase().slice(0, 24)}`, f.state);
    operations.push(`[[operations]]\ninclude-operation-id = ["${f.op}"]\nparameters = { "path.incidentId" = "${incidentId}" }\n`);
  }
  // OpenAPI cannot make a body's schema depend on a query parameter: postReports' body is either shape (acu's
  // Report or the OriginalReport), which format=auto takes as it comes; with format=acu or original a body of
  // the other shape is rightly refused (modules/ingest/ingest.test.ts tests those).
  operations.push(`[[operations]]\ninclude-operation-id = ["postReports"]\nparameters = { "query.format" = "auto" }\n`);
  // Nor can it say that getTrends' from must come before to, at most 1,000 buckets apart: two valid instants
  // are rightly refused otherwise. Both left to their defaults here (the last 24 hours); the route's own
  // test (modules/http/routes/analytics.test.ts) and the analyzer's cover the range.
  operations.push(`[[operations]]\ninclude-operation-id = ["getTrends"]\nparameters = { "query.from" = "", "query.to" = "" }\n`);
  // One token per security scheme of the document: each operation gets the scope it declares. The patrol
  // scope's operations take the operator's token, which acts for any patrol: a patrol token is bound to
  // one patrol, which random ids are not (tests/security.test.ts covers it).
  const config =
    Object.entries(TOKENS)
      .map(([scheme, token]) => `[auth.openapi.${scheme}]\nbearer = "${token}"\n`)
      .join("") + operations.join("");
  writeFileSync(join(dir, "schemathesis.toml"), config);
  const before = accessLines();
  const args = [
    ...["--config-file", join(dir, "schemathesis.toml"), "run", join(dir, "openapi.json"), "--url", acu.url],
    ...["--checks", "all", "--max-examples", String(MAX_EXAMPLES), ...STREAMS.flatMap((id) => ["--exclude-operation-id", id])],
    ...["--seed", String(Number(process.env.ACU_SCHEMATHESIS_SEED ?? 20261127)), "--workers", "1", "--no-color", "--generation-database", "none"],
    ...["--report", "junit", "--report-dir", join(dir, "report")],
  ];
  const p = Bun.spawn({ cmd: [join(ROOT, "scripts/schemathesis"), ...args], cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const requests = accessLines() - before;
  const tested = /Tested:\s+(\d+)/.exec(out)?.[1];
  const cases = /Test cases:\s*\n\s*(.+)/.exec(out)?.[1]?.trim();
  console.log(
    `schemathesis: ${tested ?? "?"} operations tested (of ${countOperations(doc)} in the document, the ${STREAMS.length} WebSocket streams excluded), ${requests} requests sent, test cases: ${cases ?? "?"}; exit ${code}`,
  );
  if (code !== 0 || !out.includes("No issues found")) console.log(`${out}\n${err}`);
  expect(code).toBe(0);
  expect(out).toContain("No issues found");
  expect(Number(tested)).toBe(countOperations(doc) - STREAMS.length);
  expect(requests).toBeGreaterThan(countOperations(doc) * 10);
  expect(acu.proc.exitCode).toBeNull();
});

type Step = "assigned" | "acknowledged" | "en-route" | "on-site";
const INCIDENT_OPERATIONS: Array<{ op: string; state: Step }> = [
  { op: "acknowledgeIncident", state: "assigned" },
  { op: "incidentEnRoute", state: "acknowledged" },
  { op: "incidentArrived", state: "en-route" },
  { op: "resolveIncident", state: "on-site" },
  { op: "reassignIncident", state: "assigned" },
  { op: "cancelIncident", state: "assigned" },
  { op: "getIncident", state: "assigned" },
];

let student = 0;
/**
 * A new patrol and a failing report where it stands: the dispatch role opens an incident and gives it to
 * that patrol (the others hold theirs); the operator walks it to `state`. Its id.
 */
async function incidentHeld(patrolId: string, state: Step): Promise<string> {
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const r = await fetch(`${acu.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    expect({ method, path, status: r.status }).toEqual({ method, path, status: method === "POST" && path === "/api/reports" ? 202 : 200 });
    return r.json();
  };
  const at = { latitude: 43 + student * 0.5, longitude: 2.35 };
  await call("PUT", `/api/patrols/${patrolId}`, operator, { name: patrolId, ...at });
  const studentId = `sch-s${student++}`;
  await call("POST", "/api/reports", ingest, { studentId, exerciseId: "sch.ex", score: 5, ...at, timestamp: Date.now() });
  const id = await eventually(
    `${studentId}'s incident held by ${patrolId}`,
    async () => {
      const r = (await call("GET", "/api/incidents?state=assigned", operator)) as {
        incidents: Array<{ incidentId: string; studentId: string; patrolId: string }>;
      };
      return r.incidents.find((i) => i.studentId === studentId && i.patrolId === patrolId)?.incidentId;
    },
    30_000,
    50,
  );
  for (const step of ["acknowledge", "en-route", "arrive"].slice(0, ["assigned", "acknowledged", "en-route", "on-site"].indexOf(state)))
    await call("POST", `/api/incidents/${id}/${step}`, operator);
  return id;
}

function countOperations(doc: string): number {
  const paths = JSON.parse(doc).paths as Record<string, Record<string, unknown>>;
  return Object.values(paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
}

/** Access lines acu has logged so far (one per request). */
function accessLines(): number {
  return acu
    .output()
    .split("\n")
    .filter((l) => l.includes('"access":true')).length;
}
