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
