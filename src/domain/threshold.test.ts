import { expect, test } from "bun:test";
import { thresholdFor } from "./threshold.ts";

test("an exercise named like an Object.prototype member gets the default, not a function", () => {
  const snap = { defaultThreshold: 50, thresholds: { bsq: 30 }, revision: 1 };
  for (const id of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) expect(thresholdFor(snap, id)).toBe(50);
  expect(thresholdFor(snap, "bsq")).toBe(30);
  const own = { defaultThreshold: 50, thresholds: JSON.parse('{"__proto__": 20, "toString": 10}') as Record<string, number>, revision: 1 };
  expect(thresholdFor(own, "__proto__")).toBe(20);
  expect(thresholdFor(own, "toString")).toBe(10);
});
