import { expect, test } from "bun:test";
import { z } from "zod";
import fc from "fast-check";
import { decodeReport, deriveReportId, encodeReport, parseReportBatch, reportInputSchema, TIMESTAMP_PATTERN } from "./report.ts";

const good = { studentId: "s1", exerciseId: "c00.ex00", score: 42.5, latitude: 48.85, longitude: 2.35, timestamp: "2026-11-27T09:00:00Z" };

test("a valid report is accepted, unknown fields dropped, ISO timestamp turned into epoch ms", () => {
  const r = parseReportBatch({ ...good, extra: "ignored" });
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.reports[0]).toEqual({
    studentId: "s1",
    exerciseId: "c00.ex00",
    score: 42.5,
    latitude: 48.85,
    longitude: 2.35,
    timestamp: Date.parse("2026-11-27T09:00:00Z"),
  });
});

test("epoch milliseconds are accepted as a timestamp", () => {
  const r = parseReportBatch([{ ...good, timestamp: 1764234000000 }]);
  expect(r.ok && r.reports[0]!.timestamp).toBe(1764234000000);
});

test("every bad field of every item is named, and nothing is accepted", () => {
  const r = parseReportBatch([good, { ...good, score: 101, latitude: "north" }, { studentId: "", exerciseId: "a b", timestamp: "yesterday" }]);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const at = r.issues.map((i) => `${i.index}:${i.path}`);
  expect(at).toContain("1:score");
  expect(at).toContain("1:latitude");
  expect(at).toContain("2:studentId");
  expect(at).toContain("2:exerciseId");
  expect(at).toContain("2:timestamp");
  expect(at).toContain("2:score");
  expect(at).toContain("2:longitude");
  expect(at.some((a) => a.startsWith("0:"))).toBe(false);
});

test("batch limits: empty, over 1000, non-object items", () => {
  expect(parseReportBatch([]).ok).toBe(false);
  expect(parseReportBatch(Array.from({ length: 1001 }, () => good)).ok).toBe(false);
  expect(parseReportBatch(Array.from({ length: 1000 }, () => good)).ok).toBe(true);
  const r = parseReportBatch([1, null, "x"]);
  expect(!r.ok && r.issues.length).toBe(3);
  expect(parseReportBatch(null).ok).toBe(false);
});

test("NaN-like and infinite numbers are refused", () => {
  // biome-ignore lint/correctness/noPrecisionLoss: 1e309 overflows to Infinity on purpose, as a client's JSON would
  for (const score of [Infinity, -Infinity, NaN, "50", 1e309]) expect(parseReportBatch({ ...good, score }).ok).toBe(false);
});

test("the derived report id is deterministic and depends on student, exercise and time", () => {
  const a = deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 1 });
  expect(deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 1 })).toBe(a);
  expect(deriveReportId({ studentId: "s", exerciseId: "e", timestamp: 2 })).not.toBe(a);
  expect(deriveReportId({ studentId: "s2", exerciseId: "e", timestamp: 1 })).not.toBe(a);
  expect(a).toMatch(/^[0-9a-f]{32}$/);
});

test("bus messages decode back, and malformed ones fail with a reason", () => {
  const r = { reportId: "r", studentId: "s", exerciseId: "e", score: 1, latitude: 2, longitude: 3, timestamp: 4, region: "Bretagne" };
  expect(decodeReport(encodeReport(r))).toEqual(r);
  expect(() => decodeReport("{")).toThrow("not JSON");
  expect(() => decodeReport(JSON.stringify({ ...r, score: "high" }))).toThrow("score");
  expect(() => decodeReport(new Uint8Array([0xff, 0xfe]))).toThrow();
});

test("the hand-written fast paths accept and refuse exactly what the zod schemas do, with the same output", () => {
  // decodeReport and parseReportBatch check numeric-timestamp reports by hand and leave the rest to zod:
  // every edge of every field, through both, must come out as zod alone would have it.
  const stored = reportInputSchema.extend({ reportId: z.string().min(1).max(64), region: z.string().max(64) });
  const base = {
    reportId: "r1",
    studentId: "s1",
    exerciseId: "c00.ex00",
    score: 42.5,
    latitude: 48.85,
    longitude: 2.35,
    timestamp: 1_764_234_000_000,
    region: "Bretagne",
  };
  const edges: Record<string, unknown[]> = {
    reportId: ["", "x".repeat(64), "x".repeat(65), 7, null, undefined],
    studentId: ["", "é".repeat(64), "x".repeat(65), 1, null, undefined, ["s"]],
    exerciseId: ["a b", "a/b", "A_z.9-", "", "x".repeat(65), 3, undefined],
    score: [0, 100, -0.001, 100.001, "50", null, undefined, 1e308],
    latitude: [-90, 90, -90.5, 91, "1", undefined],
    longitude: [-180, 180, 180.5, -181, null],
    timestamp: [0, -1, 1.5, 2.5, 8.64e15, 8.64e15 + 1, "2026-11-27T09:00:00Z", "March 7", "", null, undefined, true],
    region: ["", "x".repeat(64), "x".repeat(65), 5, null, undefined],
    extra: ["dropped"],
  };
  const cases: unknown[] = [base, [], null, "text", 5];
  for (const [field, values] of Object.entries(edges)) for (const v of values) cases.push({ ...base, [field]: v });
  for (const c of cases) {
    let got: unknown = null;
    try {
      got = decodeReport(JSON.stringify(c) ?? "null");
    } catch {}
    // (JSON drops undefined fields, so zod judges what went over the wire)
    const wire = JSON.parse(JSON.stringify(c) ?? "null");
    const wantWire = stored.safeParse(wire);
    expect({ case: wire, ok: got !== null }).toEqual({ case: wire, ok: wantWire.success });
    if (wantWire.success) expect(got).toStrictEqual(wantWire.data);
    const input = { ...(typeof c === "object" && c !== null && !Array.isArray(c) ? c : {}) } as Record<string, unknown>;
    delete input.region;
    const batch = parseReportBatch([input]);
    const zodInput = reportInputSchema.safeParse(input);
    expect({ case: input, ok: batch.ok }).toEqual({ case: input, ok: zodInput.success });
    if (batch.ok && zodInput.success) expect(batch.reports[0]).toEqual(zodInput.data);
  }
});

test("the timestamp pattern is exactly the calendar from 1970 to 9999, with no instant before the epoch", () => {
  const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const p2 = (n: number) => String(n).padStart(2, "0");
  // Every day of the years where the leap rules and the epoch bounds change, and a few days either side.
  for (const y of [1969, 1970, 1971, 1972, 1999, 2000, 2024, 2026, 2100, 2400, 9999]) {
    for (let m = 0; m <= 13; m++)
      for (let d = 0; d <= 32; d++) {
        const s = `${String(y).padStart(4, "0")}-${p2(m)}-${p2(d)}`;
        const valid = y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m);
        expect({ s, accepted: TIMESTAMP_PATTERN.test(s) }).toEqual({ s, accepted: valid });
      }
  }
});

test("timestamps the pattern accepts parse to the instant they spell, never before the epoch (property)", () => {
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
  const zone = fc.oneof(
    fc.constant(""),
    fc.constant("Z"),
    fc.tuple(fc.constantFrom("+", "-"), two(25), fc.constantFrom(":", ""), two(61)).map((t) => t.join("")),
  );
  const stamp = fc.record({
    y: fc.oneof(fc.integer({ min: 1968, max: 1971 }), fc.integer({ min: 1900, max: 9999 })),
    m: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 31 }),
    hh: two(24),
    mi: two(60),
    ss: fc.option(two(60)),
    frac: fc.option(fc.stringMatching(/^[0-9]{1,10}$/)),
    zone,
  });
  fc.assert(
    fc.property(stamp, (t) => {
      const date = `${t.y}-${String(t.m).padStart(2, "0")}-${String(t.d).padStart(2, "0")}`;
      const s = `${date}T${t.hh}:${t.mi}${t.ss === null ? "" : `:${t.ss}${t.frac === null ? "" : `.${t.frac}`}`}${t.zone}`;
      const calendar = new Date(Date.UTC(t.y, t.m - 1, t.d)).getUTCDate() === t.d && t.y >= 1970;
      const zm = /^([+-])(\d\d):?(\d\d)$/.exec(t.zone);
      const offsetMin = zm ? (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3])) : 0;
      const fields =
        Number(t.hh) <= 23 &&
        Number(t.mi) <= 59 &&
        (t.ss === null || Number(t.ss) <= 59) &&
        (t.ss === null || t.frac === null || t.frac.length <= 9) &&
        (!zm || (Number(zm[2]) <= 23 && Number(zm[3]) <= 59));
      const epochDay = date === "1970-01-01" && offsetMin > 0;
      expect({ s, accepted: TIMESTAMP_PATTERN.test(s) }).toEqual({ s, accepted: calendar && fields && !epochDay });
      if (!TIMESTAMP_PATTERN.test(s)) return;
      const r = reportInputSchema.safeParse({ ...good, timestamp: s });
      const ms =
        Date.UTC(t.y, t.m - 1, t.d, Number(t.hh), Number(t.mi), Number(t.ss ?? 0), t.ss === null ? 0 : Number((t.frac ?? "0").slice(0, 3).padEnd(3, "0"))) -
        offsetMin * 60_000;
      expect({ s, ms: r.success ? r.data.timestamp : null }).toEqual({ s, ms });
      expect(ms).toBeGreaterThanOrEqual(0);
    }),
    { numRuns: 20_000 },
  );
});

test("ids are 1–64 characters counted as JSON Schema counts them (code points), in both the fast path and zod", () => {
  const astral = "😀".repeat(64);
  expect(parseReportBatch({ ...good, studentId: astral }).ok).toBe(true);
  expect(parseReportBatch({ ...good, studentId: `${astral}x` }).ok).toBe(false);
  expect(parseReportBatch({ ...good, timestamp: 1, studentId: `${astral}x` }).ok).toBe(false);
  const stored = { reportId: astral, studentId: astral, exerciseId: "e", score: 1, latitude: 2, longitude: 3, timestamp: 4, region: "Bretagne" };
  expect(decodeReport(encodeReport(stored))).toEqual(stored);
});

test("a date-time without a zone is UTC, like a date alone; date-only and fractional epoch ms are accepted", () => {
  const at = (timestamp: unknown) => {
    const r = parseReportBatch({ ...good, timestamp });
    return r.ok ? r.reports[0]!.timestamp : null;
  };
  expect(at("2026-11-27T09:00")).toBe(Date.parse("2026-11-27T09:00Z"));
  expect(at("2026-11-27")).toBe(Date.parse("2026-11-27T00:00Z"));
  expect(at(1764234000000.6)).toBe(1764234000001);
  expect(at("2026-02-30")).toBeNull();
  expect(at("2026-11-27T24:00")).toBeNull();
  expect(at("1969-12-31T23:59:59Z")).toBeNull();
});
