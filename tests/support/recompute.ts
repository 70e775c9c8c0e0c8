/** The analyses computed the naive way, straight from raw reports: what the warehouse must agree with. */
export interface RawReport {
  exerciseId: string;
  score: number;
  latitude: number;
  longitude: number;
  region: string;
}

export function recompute(reports: RawReport[], thresholdOf: (exerciseId: string) => number, cellSizeDeg: number) {
  const exercises = new Map<string, { reports: number; sum: number }>();
  for (const r of reports) {
    const e = exercises.get(r.exerciseId) ?? { reports: 0, sum: 0 };
    e.reports++;
    e.sum += r.score;
    exercises.set(r.exerciseId, e);
  }
  return {
    exercises,
    hotspots(exerciseId: string) {
      const cells = new Map<string, { latitude: number; longitude: number; failures: number; reports: number }>();
      for (const r of reports) {
        if (r.exerciseId !== exerciseId) continue;
        const y = Math.floor(r.latitude / cellSizeDeg);
        const x = Math.floor(r.longitude / cellSizeDeg);
        const k = `${y}:${x}`;
        const c = cells.get(k) ?? { latitude: (y + 0.5) * cellSizeDeg, longitude: (x + 0.5) * cellSizeDeg, failures: 0, reports: 0 };
        c.reports++;
        if (r.score < thresholdOf(exerciseId)) c.failures++;
        cells.set(k, c);
      }
      return [...cells.values()].filter((c) => c.failures > 0).sort((a, b) => b.failures - a.failures);
    },
    regions(exerciseId: string) {
      const out = new Map<string, { reports: number; sum: number; failures: number }>();
      for (const r of reports) {
        if (r.exerciseId !== exerciseId) continue;
        const g = out.get(r.region) ?? { reports: 0, sum: 0, failures: 0 };
        g.reports++;
        g.sum += r.score;
        if (r.score < thresholdOf(exerciseId)) g.failures++;
        out.set(r.region, g);
      }
      return out;
    },
  };
}
