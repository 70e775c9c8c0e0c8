import { expect, test } from "bun:test";
import type { IncidentTimes } from "./incident-event.ts";
import { countedResponses, nearestRank, percentileOf } from "./response-times.ts";

test("nearest rank: ⌈p·n/100⌉, at least 1, always one of the values", () => {
  expect([1, 2, 3, 4, 9, 10, 11, 19, 20, 21, 100, 101].map((n) => [nearestRank(50, n), nearestRank(90, n)])).toEqual([
    [1, 1],
    [1, 2],
    [2, 3],
    [2, 4],
    [5, 9],
    [5, 9],
    [6, 10],
    [10, 18],
    [10, 18],
    [11, 19],
    [50, 90],
    [51, 91],
  ]);
  expect(nearestRank(100, 7)).toBe(7);
  expect(nearestRank(1, 7)).toBe(1);
  expect(() => nearestRank(0, 7)).toThrow(/whole percent/);
  expect(() => nearestRank(50.5, 7)).toThrow(/whole percent/);
  expect(() => nearestRank(50, 0)).toThrow(/at least one/);
  expect(percentileOf([], 50)).toBeNull();
  expect(percentileOf([7], 90)).toBe(7);
  expect(percentileOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
  expect(percentileOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
  expect(percentileOf([3, 3, 3, 80], 50)).toBe(3);
  expect(percentileOf([3, 3, 3, 80], 90)).toBe(80);
});

test("only terminal events count, each step it reached in whole seconds from opened", () => {
  const t0 = 1_764_230_400_000;
  const times = (o: Partial<IncidentTimes>): IncidentTimes => ({
    openedAt: t0,
    assignedAt: null,
    acknowledgedAt: null,
    enRouteAt: null,
    onSiteAt: null,
    resolvedAt: null,
    cancelledAt: null,
    ...o,
  });
  const done = times({ assignedAt: t0 + 10, acknowledgedAt: t0 + 999, enRouteAt: t0 + 2000, onSiteAt: t0 + 61_000, resolvedAt: t0 + 125_999 });
  expect(countedResponses({ type: "resolved", times: done })).toEqual([
    ["acknowledge", 0],
    ["onSite", 61],
    ["resolve", 125],
  ]);
  expect(countedResponses({ type: "on-site", times: done })).toEqual([]);
  expect(countedResponses({ type: "cancelled", times: times({ acknowledgedAt: t0 + 4000, cancelledAt: t0 + 9000 }) })).toEqual([["acknowledge", 4]]);
  expect(countedResponses({ type: "cancelled", times: times({ cancelledAt: t0 + 9000 }) })).toEqual([]);
});
