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

/** An incident event as the lake holds it (times flattened), the fields response times need. */
export interface RawIncidentEvent {
  type: string;
  region: string;
  openedAt: number;
  acknowledgedAt: number | null;
  onSiteAt: number | null;
  resolvedAt: number | null;
}

/**
 * Response times per region the naive way: every terminal event (resolved / cancelled), each step it
 * reached in whole seconds from opened, sorted, the nearest-rank percentiles picked from the list.
 */
export function recomputeResponseTimes(events: RawIncidentEvent[]) {
  const regions = new Map<string, { resolved: number; cancelled: number; steps: Record<"acknowledge" | "onSite" | "resolve", number[]> }>();
  for (const e of events) {
    if (e.type !== "resolved" && e.type !== "cancelled") continue;
    const g = regions.get(e.region) ?? { resolved: 0, cancelled: 0, steps: { acknowledge: [], onSite: [], resolve: [] } };
    g[e.type]++;
    for (const [step, at] of [
      ["acknowledge", e.acknowledgedAt],
      ["onSite", e.onSiteAt],
      ["resolve", e.resolvedAt],
    ] as const)
      if (at !== null) g.steps[step].push(Math.max(0, Math.floor((at - e.openedAt) / 1000)));
    regions.set(e.region, g);
  }
  const stat = (values: number[]) => {
    const s = [...values].sort((a, b) => a - b);
    // Nearest rank: the value at rank ⌈p·n/100⌉ (1-based).
    const at = (p: number) => (s.length === 0 ? null : s[Math.max(1, Math.ceil((p * s.length) / 100)) - 1]!);
    return { count: s.length, p50: at(50), p90: at(90) };
  };
  return [...regions]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([region, g]) => ({
      region,
      resolved: g.resolved,
      cancelled: g.cancelled,
      acknowledge: stat(g.steps.acknowledge),
      onSite: stat(g.steps.onSite),
      resolve: stat(g.steps.resolve),
    }));
}
