import { expect, test } from "bun:test";
import { RecentIds } from "./recent-ids.ts";

test("keeps the newest ids up to its capacity", () => {
  const r = new RecentIds(3);
  for (const id of ["a", "b", "c", "d"]) r.add(id);
  expect(r.has("a")).toBe(false);
  expect(["b", "c", "d"].every((id) => r.has(id))).toBe(true);
  r.add("d");
  expect(r.size).toBe(3);
});

test("stays bounded over many ids", () => {
  const r = new RecentIds(1000);
  for (let i = 0; i < 200_000; i++) r.add(`id-${i}`);
  expect(r.size).toBe(1000);
  expect(r.has("id-199999")).toBe(true);
  expect(r.has("id-198999")).toBe(false);
});

test("the same answers as a set and a queue of the newest ids, through growth, wrap-around and evictions", () => {
  // Random adds and lookups over a small id space (so ids come back after their eviction) at capacities
  // below, at and above the first table size, against the plain model the window replaces.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (const capacity of [1, 3, 1000, 1024, 1500, 5000]) {
    const r = new RecentIds(capacity);
    const model = new Set<string>();
    const order: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const id = `id-${next() % (capacity * 3)}`;
      if (next() % 3 === 0) {
        expect(r.has(id)).toBe(model.has(id));
        continue;
      }
      r.add(id);
      if (!model.has(id)) {
        model.add(id);
        order.push(id);
        if (order.length > capacity) model.delete(order.shift()!);
      }
      expect(r.size).toBe(model.size);
    }
    for (const id of order) expect(r.has(id)).toBe(true);
  }
});

test("at most about 28 bytes per id kept, whatever the ids' length (ACU_DEDUPE_IDS documents it)", () => {
  const n = 200_000;
  Bun.gc(true);
  const before = process.memoryUsage();
  const r = new RecentIds(n);
  // Twice the capacity (evictions included), of 64-character student and report ids.
  for (let i = 0; i < 2 * n; i++) r.add(longKey(i));
  Bun.gc(true);
  const after = process.memoryUsage();
  expect(r.size).toBe(n);
  expect(r.has(longKey(2 * n - 1))).toBe(true);
  expect(r.has(longKey(n - 1))).toBe(false);
  // The fingerprints' ring and table are all it holds, and no id string is retained: the heap grew by
  // about that much (the Set of strings it replaced took ~160 bytes per id of 10 characters, ~270 of 64).
  expect(r.bytes / n).toBeLessThanOrEqual(28);
  expect((after.heapUsed - before.heapUsed) / n).toBeLessThan(32);
});

test("an id is told from another that differs by one character, at any place", () => {
  const base = `12:s-1234567r-${"x".repeat(40)}`;
  const r = new RecentIds(100_000);
  r.add(base);
  for (let i = 0; i < base.length; i++) {
    const other = base.slice(0, i) + (base[i] === "y" ? "z" : "y") + base.slice(i + 1);
    expect(r.has(other)).toBe(false);
  }
  expect(r.has(base)).toBe(true);
});

/** A report key of 64-character student and report ids (the longest the API takes). */
function longKey(i: number): string {
  const student = `s-${i % 5000}`.padEnd(64, "s");
  return `${student.length}:${student}${`r-${i}`.padEnd(64, "r")}`;
}
