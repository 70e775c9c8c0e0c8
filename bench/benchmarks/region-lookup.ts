import { regionOf } from "../../src/domain/region-index.ts";
import { nearestCity, UNKNOWN_REGION } from "../../src/domain/regions.ts";
import { createReportGenerator } from "../../modules/signal/generator.ts";
import { compare, machineInfo, round, type BenchContext, type BenchResult, type Run } from "../lib/common.ts";

const SIZES = { smoke: 20_000, quick: 2_000_000, full: 10_000_000 } as const;

/**
 * The report → region lookup ingest runs per report: the map's polygons (src/domain/region-index.ts)
 * against the rule it replaced, the nearest catalogue city within 60 km ("nearest-city"), in the same
 * process, alternately. Points: half the generator's students (as `acu signal` sends them), half a sweep
 * of a box around France (borders, coasts, sea, neighbours). No cluster.
 */
export async function benchRegionLookup(ctx: BenchContext): Promise<BenchResult> {
  const t0 = performance.now();
  const n = SIZES[ctx.mode];
  const lat = new Float64Array(n),
    lon = new Float64Array(n);
  const gen = createReportGenerator({ seed: 42, students: 20_000 });
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const r = gen.next(0);
      lat[i] = r.latitude;
      lon[i] = r.longitude;
    } else {
      lat[i] = 41 + ((i * 0.618034) % 1) * 10.2;
      lon[i] = -5.2 + ((i * 0.414214) % 1) * 14.8;
    }
  }
  const lookups = {
    "nearest-city": (a: number, o: number) => nearestCity(a, o)?.region ?? UNKNOWN_REGION,
    acu: regionOf,
  };
  regionOf(45, 3); // build the index outside the timed runs (it is built once per process)
  const runs: Run[] = [];
  let seq = 0;
  for (let p = 0; p < ctx.pairs; p++) {
    for (const who of ["nearest-city", "acu"] as const) {
      const f = lookups[who];
      let hits = 0;
      const s = performance.now();
      for (let i = 0; i < n; i++) if (f(lat[i]!, lon[i]!).length > 8) hits++;
      const ms = performance.now() - s;
      runs.push({ who, seq: seq++, value: round(n / (ms / 1000), 0), ms: round(ms, 1), hits });
      ctx.log(`${who}: ${n} lookups in ${ms.toFixed(0)} ms`);
    }
  }
  return {
    name: "region-lookup",
    mode: ctx.mode,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    durationS: round((performance.now() - t0) / 1000, 1),
    params: { lookups: n, points: "half generator students (seed 42, 20,000 students), half a sweep of 41–51.2° N, 5.2° W–9.6° E" },
    runs,
    comparisons: [compare(runs, { peer: "nearest-city", metric: "lookups/s", higherIsBetter: true, goalRatio: 0.5, goal: "≥ 0.5× (no slower than 2×)" })],
    notes: ["The index is built before timing (once per process, ~0.1 s); both lookups run in this process, alternately."],
    machine: machineInfo(),
  };
}
