import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

setDefaultTimeout(600_000);

/**
 * schemathesis (the OpenAPI-driven fuzzer, from PyPI; installed on first use by scripts/schemathesis)
 * against a live acu on embedded engines, every operation of GET /api/openapi.json but the WebSocket
 * stream (schemathesis speaks HTTP only; tests/security.test.ts and tests/slow-client.test.ts drive it).
 * Every check schemathesis has: no server error, and no answer that contradicts the document — status,
 * content type, headers, body schema, invalid input refused, valid input accepted, auth enforced,
 * unsupported methods refused with 405 and Allow. Bounded by examples per operation; one worker (hypothesis
 * under threads hit a CPython ast.parse race once, a runtime error of the tool, not a finding).
 */
const MAX_EXAMPLES = Number(process.env.ACU_SCHEMATHESIS_EXAMPLES ?? 25);
let acu: AcuProcess;
const dir = tempDir("schemathesis");
beforeAll(async () => {
  // No rate limit: a 429 is in the document, but valid reports refused for it would count as rejected.
  acu = await startAcu({ dataDir: join(dir, "data"), env: { ACU_INGEST_RATE_LIMIT: "0" } });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

test(`schemathesis, every check, ${MAX_EXAMPLES} examples per operation: no server error, nothing that contradicts the document`, async () => {
  // From a file, so the document's own operation is fuzzed too (schemathesis skips the URL it loaded).
  const doc = await (await fetch(`${acu.url}/api/openapi.json`)).text();
  writeFileSync(join(dir, "openapi.json"), doc);
  // One token per security scheme of the document: each operation gets the scope it declares.
  const config = Object.entries(TOKENS).map(([scheme, token]) => `[auth.openapi.${scheme}]\nbearer = "${token}"\n`).join("");
  writeFileSync(join(dir, "schemathesis.toml"), config);
  const before = accessLines();
  const args = [
    ...["--config-file", join(dir, "schemathesis.toml"), "run", join(dir, "openapi.json"), "--url", acu.url],
    ...["--checks", "all", "--max-examples", String(MAX_EXAMPLES), "--exclude-operation-id", "streamAlerts"],
    ...["--seed", String(Number(process.env.ACU_SCHEMATHESIS_SEED ?? 20261127)), "--workers", "1", "--no-color", "--generation-database", "none"],
    ...["--report", "junit", "--report-dir", join(dir, "report")],
  ];
  const p = Bun.spawn({ cmd: [join(ROOT, "scripts/schemathesis"), ...args], cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const requests = accessLines() - before;
  const tested = /Tested:\s+(\d+)/.exec(out)?.[1];
  const cases = /Test cases:\s*\n\s*(.+)/.exec(out)?.[1]?.trim();
  console.log(`schemathesis: ${tested ?? "?"} operations tested (of ${countOperations(doc)} in the document, WebSocket stream excluded), ${requests} requests sent, test cases: ${cases ?? "?"}; exit ${code}`);
  if (code !== 0) console.log(`${out}\n${err}`);
  expect(code).toBe(0);
  expect(out).toContain("No issues found");
  expect(Number(tested)).toBe(countOperations(doc) - 1);
  expect(requests).toBeGreaterThan(countOperations(doc) * 10);
  expect(acu.proc.exitCode).toBeNull();
});

function countOperations(doc: string): number {
  const paths = JSON.parse(doc).paths as Record<string, Record<string, unknown>>;
  return Object.values(paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
}

/** Access lines acu has logged so far (one per request). */
function accessLines(): number {
  return acu.output().split("\n").filter((l) => l.includes('"access":true')).length;
}
