import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, ROOT, startAcu, tempDir, TOKENS, type AcuProcess } from "../support/acu.ts";
import { resetPeak, settledRss, statusMiB } from "../support/memory.ts";

// Two passes of 100,000 inputs, then the dispatch routes: 14 minutes measured on 2 cores shared with other work.
setDefaultTimeout(1_200_000);

/**
 * Property: no input gets a 5xx or takes the process down, and memory stays bounded (the same inputs sent
 * twice: the second pass's peak RSS, VmHWM, may exceed the first's only by a bound). 100,000 generated
 * inputs over the ingest endpoint, the threshold API and the query parameters: random JSON, wrong types,
 * huge numbers, NaN/Infinity as strings, deep nesting, odd Unicode, truncated bodies. Most requests carry
 * the right token so the bodies reach validation; the rest fuzz the Authorization header itself (none,
 * another scope's token, garbage after "Bearer", other schemes, overlong values). Then 20,000 more over
 * the dispatch routes (patrols, incidents, their streams' parameters): every 400 names the field.
 */
// 50,000 distinct inputs, each sent twice (100,000 requests): the second pass bounds the memory growth.
const TOTAL = Number(process.env.ACU_FUZZ_INPUTS ?? 50_000);
const DISPATCH_TOTAL = Math.round(TOTAL * 0.2);
let acu: AcuProcess;
const dir = tempDir("fuzz");
beforeAll(async () => {
  acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "1000" } });
});
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

const weird = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "1e309", "-0", "0x10", "", " ", "\u0000", "null", "true", "💥", "\u202e\u200f"),
  fc.double(),
  fc.bigInt().map((b) => Number(b)),
  fc.integer(),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 5e-324),
  fc.boolean(),
  fc.constant(null),
);
const deep = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    weird,
    fc.array(tie("node"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), tie("node"), { maxKeys: 3 }),
  ),
})).node;
const field = fc.oneof(weird, deep);
const almostReport = fc.record(
  {
    reportId: field,
    studentId: fc.oneof(fc.string({ maxLength: 70 }), field),
    exerciseId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), field),
    score: fc.oneof(fc.double({ min: -10, max: 110 }), field),
    latitude: fc.oneof(fc.double({ min: -100, max: 100 }), field),
    longitude: fc.oneof(fc.double({ min: -200, max: 200 }), field),
    timestamp: fc.oneof(
      fc.date().map((d) => (Number.isNaN(d.getTime()) ? "bad" : d.toISOString())),
      fc.integer(),
      field,
    ),
  },
  { requiredKeys: [] },
);
const validReport = fc.record({
  studentId: fc.string({ minLength: 1, maxLength: 64 }),
  exerciseId: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
  score: fc.double({ min: 0, max: 100, noNaN: true }),
  latitude: fc.double({ min: 41, max: 51, noNaN: true }),
  longitude: fc.double({ min: -5, max: 9, noNaN: true }),
  timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const body = fc.oneof(
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 3 },
  { arbitrary: almostReport.map((r) => JSON.stringify(r)), weight: 4 },
  { arbitrary: fc.array(almostReport, { maxLength: 20 }).map((r) => JSON.stringify(r)), weight: 3 },
  {
    arbitrary: fc
      .tuple(
        almostReport.map((r) => JSON.stringify([r])),
        fc.nat(),
      )
      .map(([s, n]) => s.slice(0, n % (s.length + 1))),
    weight: 2,
  },
  { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 2 },
  { arbitrary: fc.integer({ min: 100, max: 100_000 }).map(nested), weight: 1 },
  { arbitrary: fc.array(validReport, { minLength: 1, maxLength: 20 }).map((r) => JSON.stringify(r)), weight: 3 },
);
const query = fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent);
// Header values fetch can send: Latin-1 without control characters.
const headerValue = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 600,
});
/** The Authorization header: the right token most of the time, else something else worth trying. */
const authorization = (right: string) =>
  fc.oneof(
    { arbitrary: fc.constant<string | null>(`Bearer ${right}`), weight: 16 },
    { arbitrary: fc.constant<string | null>(null), weight: 1 },
    { arbitrary: fc.constantFrom(...Object.values(TOKENS)).map((t): string | null => `Bearer ${t}`), weight: 1 },
    { arbitrary: headerValue.map((v): string | null => `Bearer ${v}`), weight: 1 },
    {
      arbitrary: fc
        .oneof(
          headerValue,
          fc.constantFrom("Basic dXNlcjpwYXNz", "bearer", `Bearer  ${right}`, `Bearer ${right}x`, `Bearer ${right.slice(0, -1)}`, `Bearer ${"A".repeat(5000)}`),
        )
        .map((v): string | null => v),
      weight: 1,
    },
  );
const withAuth = (a: string | null, json = true): Record<string, string> => ({
  ...(json ? { "content-type": "application/json" } : {}),
  ...(a === null ? {} : { authorization: a }),
});

async function pool<T>(items: T[], concurrency: number, f: (x: T) => Promise<void>) {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

/**
 * The memory bound: the same inputs sent twice. A leak grows the peak again in the second pass (by about
 * what it kept in the first); a bounded process reaches its working set in the first and stays under it.
 */
const SECOND_PASS_FLOOR_MIB = 24;
const SECOND_PASS_SHARE = 0.25;
const secondPassBoundMiB = (firstGrowth: number) => Math.max(SECOND_PASS_FLOOR_MIB, SECOND_PASS_SHARE * firstGrowth);

test(`${TOTAL} generated inputs, sent twice: no 5xx, process alive, the second pass grows the peak RSS by a bounded amount`, async () => {
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  const note = (status: number, what: string) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 500 && bad.length < 5) bad.push(`${status} for ${what.slice(0, 200)}`);
  };
  const ingest = fc.sample(fc.tuple(body, authorization(TOKENS.ingest)), Math.round(TOTAL * 0.6));
  const thresholds = fc.sample(
    fc.tuple(
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), query),
      fc.oneof(
        body,
        fc.jsonValue().map((v) => JSON.stringify({ threshold: v })),
      ),
      authorization(TOKENS.operator),
    ),
    Math.round(TOTAL * 0.2),
  );
  const queries = fc.sample(
    fc.tuple(
      fc.constantFrom("/api/analytics/hotspots", "/api/analytics/regions", "/api/alerts", "/api/analytics/runs"),
      query,
      query,
      authorization(TOKENS.viewer),
    ),
    TOTAL - ingest.length - thresholds.length,
  );
  // Reports in the bodies answered 202 (a batch or a single report): what the server must count as ingested.
  let acceptedReports = 0;
  const pass = async () => {
    await pool(ingest, 16, async ([b, a]) => {
      const r = await fetch(`${acu.url}/api/reports`, { method: "POST", headers: withAuth(a), body: b });
      note(r.status, `${a?.slice(0, 40)} ${b}`);
      if (r.status === 202) {
        const sent = JSON.parse(b) as unknown;
        acceptedReports += Array.isArray(sent) ? sent.length : 1;
      }
      await r.arrayBuffer();
    });
    await pool(thresholds, 16, async ([id, b, a]) => {
      const r = await fetch(`${acu.url}/api/thresholds/${id}`, { method: "PUT", headers: withAuth(a), body: b });
      note(r.status, `${a?.slice(0, 40)} ${id} ${b}`);
      await r.arrayBuffer();
    });
    await pool(queries, 16, async ([path, a, b, auth]) => {
      const r = await fetch(`${acu.url}${path}?exerciseId=${a}&limit=${b}`, { headers: withAuth(auth, false) });
      note(r.status, `${auth?.slice(0, 40)} ${path} ${a} ${b}`);
      await r.arrayBuffer();
    });
  };
  // Each pass's own peak (the start's, PGlite and the dashboard's bundle among it, is not the inputs').
  const pid = acu.proc.pid;
  const before = await settledRss(pid);
  resetPeak(pid);
  await pass();
  const first = statusMiB(pid, "VmHWM");
  resetPeak(pid);
  await pass();
  const second = statusMiB(pid, "VmHWM");
  const memory = {
    rssBeforeMiB: round(before),
    firstPassPeakMiB: round(first),
    secondPassPeakMiB: round(second),
    firstPassGrowthMiB: round(first - before),
    secondPassGrowthMiB: round(second - first),
    secondPassBoundMiB: round(secondPassBoundMiB(first - before)),
    rssAtEndMiB: round(statusMiB(pid, "VmRSS")),
  };
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: ${total} inputs (2 passes of ${TOTAL}), statuses ${JSON.stringify(Object.fromEntries(statuses))}, memory ${JSON.stringify(memory)}`);
  writeArtifact("fuzz-summary.json", { inputs: TOTAL, passes: 2, statuses: Object.fromEntries(statuses), memory, at: new Date().toISOString() });
  expect(bad).toEqual([]);
  // Every 202 was a real ingestion: the server counted exactly the reports of the bodies it accepted.
  const metrics = await (await fetch(`${acu.url}/metrics`)).text();
  expect(Number(/^acu_reports_ingested_total (\d+)$/m.exec(metrics)?.[1])).toBe(acceptedReports);
  expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  // Bodies were exercised (accepted and refused on their merits), and so were the refusals of bad tokens.
  for (const s of [200, 202, 400, 401, 403]) expect({ status: s, seen: (statuses.get(s) ?? 0) > 0 }).toEqual({ status: s, seen: true });
  expect((statuses.get(400) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(TOTAL * 2 * 0.5);
  expect((await fetch(`${acu.url}/healthz`)).status).toBe(200);
  expect(acu.proc.exitCode).toBeNull();
  // Bounded, not small: what is kept grows no further when the same inputs come again. How small the
  // process is, is a memory goal, met in bench/ against a peer (guide; issue #15's all-in-one RSS), not a
  // figure asserted here: the peak is mostly garbage the collector has not yet taken, 1.0–1.3 GiB measured.
  expect(memory.secondPassGrowthMiB).toBeLessThanOrEqual(memory.secondPassBoundMiB);
});

const round = (mib: number) => Math.round(mib * 10) / 10;

function writeArtifact(name: string, content: unknown): void {
  const dir = join(ROOT, "tests/.artifacts");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
}

// ---- the dispatch routes -----------------------------------------------------------------------------

/** Patrol ids: a few that get registered (so later calls find them), any valid one, and not ids at all. */
const patrolId = fc.oneof(
  { arbitrary: fc.constantFrom("fz-1", "fz-2", "fz-3", "fz-4"), weight: 4 },
  { arbitrary: fc.stringMatching(/^[a-z0-9-]{1,32}$/), weight: 1 },
  { arbitrary: query.filter((q) => q !== ""), weight: 2 },
  { arbitrary: fc.constantFrom("P1", "a".repeat(33), "%00", "%E2%80%AE", "stream", "fz_1"), weight: 1 },
);
const incidentId = fc.oneof(
  fc.constantFrom("inc-0", "stream", "x".repeat(161), "%20"),
  fc.stringMatching(/^inc-[0-9a-f]{32}$/),
  query.filter((q) => q !== ""),
);
const coordinate = fc.oneof(fc.double({ min: -200, max: 200 }), field);
const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v));
const patrolBody = fc.oneof(
  json(fc.record({ name: fc.oneof(fc.string({ maxLength: 120 }), field), latitude: coordinate, longitude: coordinate }, { requiredKeys: [] })),
  json(
    fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }).filter((n) => /\S/.test(n)),
      latitude: fc.double({ min: 41, max: 51, noNaN: true }),
      longitude: fc.double({ min: -5, max: 9, noNaN: true }),
    }),
  ),
  json(fc.jsonValue()),
  fc.string({ unit: "binary", maxLength: 100 }),
);
const stepBody = fc.oneof(
  json(fc.record({ note: fc.oneof(fc.string({ maxLength: 1100 }), field), patrolId: fc.oneof(patrolId, field) }, { requiredKeys: [] })),
  fc.constantFrom("", " ", "{}", "null", "[]"),
  fc.string({ unit: "binary", maxLength: 60 }),
);
const step = fc.constantFrom("acknowledge", "en-route", "arrive", "resolve", "reassign", "cancel", "nope");
type DispatchCall = [method: string, path: string, body: string | undefined];
const dispatchCall: fc.Arbitrary<DispatchCall> = fc.oneof(
  fc.tuple(
    fc.constant("PUT"),
    patrolId.map((id) => `/api/patrols/${id}`),
    patrolBody,
  ),
  fc.tuple(
    fc.constant("DELETE"),
    patrolId.map((id) => `/api/patrols/${id}`),
    fc.constant(undefined),
  ),
  fc.tuple(
    fc.constant("POST"),
    patrolId.map((id) => `/api/patrols/${id}/position`),
    patrolBody,
  ),
  fc.tuple(
    fc.constant("POST"),
    fc.tuple(incidentId, step).map(([id, s]) => `/api/incidents/${id}/${s}`),
    stepBody,
  ),
  fc.tuple(
    fc.constant("GET"),
    fc.tuple(query, query).map(([s, l]) => `/api/incidents?state=${s}&limit=${l}`),
    fc.constant(undefined),
  ),
  fc.tuple(
    fc.constant("GET"),
    incidentId.map((id) => `/api/incidents/${id}`),
    fc.constant(undefined),
  ),
  fc.tuple(
    fc.constant("GET"),
    fc.tuple(patrolId, query).map(([id, q]) => `/api/patrols/${id}/stream?since=${q}`),
    fc.constant(undefined),
  ),
  fc.tuple(
    fc.constant("GET"),
    query.map((q) => `/api/incidents/stream?since=${q}`),
    fc.constant(undefined),
  ),
  fc.tuple(fc.constantFrom("GET", "PATCH"), fc.constantFrom("/api/patrols", "/api/analytics/response-times"), fc.constant(undefined)),
);
/** What a 400 of the dispatch routes must name: the field, or that the body is not the JSON object wanted. */
const NAMED = /\b(patrolId|incidentId|name|latitude|longitude|note|state|limit|since)\b|the body must be|request body is not valid JSON/;

test(`${DISPATCH_TOTAL} generated inputs on the dispatch routes: no 5xx, every 400 names what is wrong, process alive`, async () => {
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  const unnamed: string[] = [];
  const inputs = fc.sample(fc.tuple(dispatchCall, authorization(TOKENS.operator)), DISPATCH_TOTAL);
  await pool(inputs, 16, async ([[method, path, b], a]) => {
    const r = await fetch(`${acu.url}${path}`, { method, headers: withAuth(a), body: b });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const what = `${method} ${path} ${b ?? ""}`.slice(0, 200);
    if (r.status >= 500 && bad.length < 5) bad.push(`${r.status} for ${what}`);
    if (r.status === 400) {
      const { error } = (await r.json()) as { error: string };
      if (!NAMED.test(error) && unnamed.length < 5) unnamed.push(`${what} → ${error}`);
    } else await r.arrayBuffer();
  });
  console.log(`fuzz (dispatch): ${inputs.length} inputs, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  expect(bad).toEqual([]);
  expect(unnamed).toEqual([]);
  // Accepted and refused on their merits, unknown ids found missing, and the tokens' refusals.
  for (const s of [200, 400, 401, 404]) expect({ status: s, seen: (statuses.get(s) ?? 0) > 0 }).toEqual({ status: s, seen: true });
  expect((await fetch(`${acu.url}/healthz`)).status).toBe(200);
  expect(acu.proc.exitCode).toBeNull();
});
