import type { LakeReport } from "../../src/formats/parquet.ts";

/** A small seeded PRNG (LCG): fixtures that are random-looking yet the same on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const REGIONS = ["Bretagne", "Île-de-France", "Occitanie", "unknown"];

/** Lake reports clustered in a few spots (so grid cells repeat), with seeded scores, exercises and regions. */
export function clusteredReports(n: number, seed: number): LakeReport[] {
  const r = rng(seed);
  const spots = [
    [48.85, 2.35],
    [43.3, 5.37],
    [-33.9, 151.2],
    [40.7, -74.0],
  ] as const;
  return Array.from({ length: n }, (_, i) => {
    const [lat, lon] = spots[Math.floor(r() * spots.length)]!;
    return {
      reportId: `r${seed}-${i}`,
      studentId: `s${i % 31}`,
      exerciseId: `ex${Math.floor(r() * 4)}`,
      score: Math.round(r() * 10000) / 100,
      latitude: lat + (r() - 0.5) * 4,
      longitude: lon + (r() - 0.5) * 4,
      timestamp: Date.UTC(2026, 10, 27) + i,
      region: REGIONS[Math.floor(r() * REGIONS.length)]!,
      partition: 0,
      offset: 0,
    };
  });
}

/**
 * Paths under a dataset's folder that are not the lake's own, each meant to hold valid rows (counted, they
 * would change analytics): what a Spark job writing into the folder leaves (its `_temporary/` attempt files,
 * `part-*` files), hidden copies of a sink file, a file of another topic, one a folder too deep.
 */
export function foreignLakePaths(dataset: "reports" | "incidents"): string[] {
  const topic = dataset === "reports" ? "student-reports" : "incident-events";
  const hour = `${dataset}/date=2026-11-27/hour=09`;
  const sinkName = `${topic}-p0-000000000000-000000000099.parquet`;
  return [
    `${dataset}/_temporary/0/_temporary/attempt_202611270900_0001_m_000000_0/part-00000-6f1c2d.snappy.parquet`,
    `${hour}/_temporary/0/${sinkName}`,
    `${hour}/part-00000-6f1c2d-c000.snappy.parquet`,
    `${hour}/.${sinkName}`,
    `${hour}/_${sinkName}`,
    `${hour}/other-topic-p0-000000000000-000000000099.parquet`,
    `${dataset}/backup/date=2026-11-27/hour=09/${sinkName}`,
  ];
}
