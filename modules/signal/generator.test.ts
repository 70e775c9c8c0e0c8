import { describe, expect, test } from "bun:test";
import { parseReportBatch } from "../../src/domain/report.ts";
import { EXERCISE_ID_PATTERN } from "../../src/domain/threshold.ts";
import { regionOf } from "../../src/domain/region-index.ts";
import { nearestCity, REGIONS } from "../../src/domain/regions.ts";
import { EXERCISES } from "./exercises.ts";
import { createReportGenerator, type GeneratedReport } from "./generator.ts";

const NOW = Date.UTC(2026, 5, 15, 9, 0, 0);
const take = (seed: number, n: number, students?: number): GeneratedReport[] => {
  const g = createReportGenerator({ seed, students });
  return Array.from({ length: n }, (_, i) => g.next(NOW + Math.floor(i / 100)));
};

describe("exercise catalogue", () => {
  test("ids are valid and unique, difficulties in [0, 1]", () => {
    expect(EXERCISES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(EXERCISES.map((e) => e.id)).size).toBe(EXERCISES.length);
    for (const e of EXERCISES) {
      expect(e.id).toMatch(EXERCISE_ID_PATTERN);
      expect(e.difficulty).toBeGreaterThanOrEqual(0);
      expect(e.difficulty).toBeLessThanOrEqual(1);
    }
  });
});

describe("createReportGenerator", () => {
  test("a seed reproduces the same sequence; another seed does not", () => {
    expect(take(42, 2000)).toEqual(take(42, 2000));
    expect(take(43, 200)).not.toEqual(take(42, 200));
  });

  test("every report is valid on the wire", () => {
    const reports = take(1, 20_000);
    for (let i = 0; i < reports.length; i += 1000) {
      const batch = reports.slice(i, i + 1000);
      const parsed = parseReportBatch(JSON.parse(JSON.stringify(batch)));
      if (!parsed.ok) throw new Error(`${parsed.error}: ${JSON.stringify(parsed.issues.slice(0, 3))}`);
      expect(parsed.reports).toHaveLength(batch.length);
    }
    for (const r of reports) {
      expect(Math.round(r.score * 100) / 100).toBe(r.score);
      expect(r.timestamp).toBeGreaterThanOrEqual(NOW);
    }
  });

  test("a student keeps a stable position near a catalogue city, inside one of the 13 regions", () => {
    const seen = new Map<string, string>();
    for (const r of take(5, 20_000, 500)) {
      const where = `${r.latitude},${r.longitude}`;
      expect(seen.get(r.studentId) ?? where).toBe(where);
      seen.set(r.studentId, where);
      expect(nearestCity(r.latitude, r.longitude, 10.01)).not.toBeNull();
      expect(REGIONS as readonly string[]).toContain(regionOf(r.latitude, r.longitude));
    }
  });

  test("reports stay distinct when many share the same `now` (distinct report ids)", () => {
    const g = createReportGenerator({ seed: 9, students: 50 });
    const keys = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const r = g.next(NOW);
      keys.add(`${r.studentId}|${r.exerciseId}|${r.timestamp}`);
    }
    expect(keys.size).toBe(5000);
  });

  test("between 10 % and 30 % of reports are failures (score below 50)", () => {
    for (const seed of [1, 2, 3]) {
      const reports = take(seed, 20_000);
      const share = reports.filter((r) => r.score < 50).length / reports.length;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.3);
    }
  });

  test("all 13 regions appear among 20,000 reports", () => {
    const regions = new Set(take(7, 20_000).map((r) => regionOf(r.latitude, r.longitude)));
    for (const region of REGIONS) expect(regions).toContain(region);
  });

  test("harder exercises score lower on average", () => {
    const sums = new Map<string, { n: number; total: number }>();
    for (const r of take(11, 40_000)) {
      const s = sums.get(r.exerciseId) ?? { n: 0, total: 0 };
      s.n++;
      s.total += r.score;
      sums.set(r.exerciseId, s);
    }
    const mean = (id: string) => sums.get(id)!.total / sums.get(id)!.n;
    expect(mean("c00.ex00.my_putchar")).toBeGreaterThan(mean("bsq") + 15);
  });
});

test("acu signal --kafka's shapes read back as the same report: acu's as it is, the original's with its exercise number and seconds", async () => {
  const { inShape, originalExercise } = await import("./shapes.ts");
  const { parseRecord } = await import("../ingest/raw-topics.ts");
  const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const one = { studentId: "jdoe", exerciseId: "c00.ex07.my_putnbr", score: 34.6, latitude: 48.85, longitude: 2.35, timestamp: 1_764_622_000_999 };
  expect(inShape(one, "original")).toEqual({ login: "jdoe", latitude: 48.85, longitude: 2.35, exercise: 3, score: 35, timestamp: 1_764_622_000 });
  const g = createReportGenerator({ seed: 3 });
  for (let i = 0; i < 200; i++) {
    const r = g.next(1_764_622_000_123 + i);
    expect(parseRecord(bytes(inShape(r, "acu")), "auto")).toEqual(r);
    const back = { ...r, exerciseId: String(originalExercise(r.exerciseId)), score: Math.round(r.score), timestamp: Math.floor(r.timestamp / 1000) * 1000 };
    expect(parseRecord(bytes(inShape(r, "original")), "auto")).toEqual(back);
  }
  expect(EXERCISES.map((e) => originalExercise(e.id))).toEqual(EXERCISES.map((_, i) => i + 1));
});
