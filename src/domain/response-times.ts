import { responseSeconds, TERMINAL_STATES, type IncidentEvent, type IncidentState } from "./incident-event.ts";

/**
 * Response times of the dispatch loop, as the analytics count them. Only an incident's terminal event
 * (resolved or cancelled) is counted: it carries every transition time, so each finished incident is
 * counted once, whichever lake files its earlier events landed in. A cancelled incident contributes
 * only the steps it reached.
 */
export const RESPONSE_STEPS = ["acknowledge", "onSite", "resolve"] as const;
export type ResponseStep = (typeof RESPONSE_STEPS)[number];

/** The event types counted: the terminal ones (named as the states they lead to). */
export type IncidentOutcome = "resolved" | "cancelled";
export const INCIDENT_OUTCOMES: readonly IncidentOutcome[] = TERMINAL_STATES as readonly IncidentOutcome[];

export function isOutcome(type: string): type is IncidentOutcome {
  return TERMINAL_STATES.includes(type as IncidentState);
}

/** The response seconds a terminal event contributes, step by step (none for any other event). */
export function countedResponses(e: Pick<IncidentEvent, "type" | "times">): Array<[ResponseStep, number]> {
  if (!isOutcome(e.type)) return [];
  const s = responseSeconds(e.times);
  return RESPONSE_STEPS.flatMap((step) => (s[step] === null ? [] : [[step, s[step]] as [ResponseStep, number]]));
}

/** The percentiles shown: median and 90th. */
export const RESPONSE_PERCENTILES = [50, 90] as const;

/**
 * The percentile rule used everywhere (warehouse query, tests, dashboard): nearest rank. The p-th
 * percentile of n values sorted ascending is the value at rank ⌈p·n/100⌉ (1-based, at least 1): always
 * one of the values, exact from a histogram, and the same whichever engine counted. `p` is a whole
 * percent (1–100), n ≥ 1. Integer arithmetic, as in the SQL: ⌈a/b⌉ = ⌊(a + b − 1)/b⌋.
 */
export function nearestRank(p: number, n: number): number {
  if (!(Number.isInteger(p) && p >= 1 && p <= 100)) throw new Error(`percentile must be a whole percent in 1..100, got ${p}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`need at least one value, got ${n}`);
  return Math.max(1, Math.floor((p * n + 99) / 100));
}

/** The nearest-rank percentile of values sorted ascending; null when there are none. */
export function percentileOf(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[nearestRank(p, sorted.length) - 1]!;
}
