import { expect, test } from "bun:test";
import { heapSize } from "bun:jsc";
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

test("about 160 bytes of heap per id kept (ids of about 10 characters), as ACU_DEDUPE_IDS documents", () => {
  const n = 200_000;
  Bun.gc(true);
  const before = heapSize();
  const r = new RecentIds(n);
  // Twice the capacity: evictions included.
  for (let i = 0; i < 2 * n; i++) r.add(reportKeyLike(i));
  Bun.gc(true);
  const perId = (heapSize() - before) / n;
  expect(r.size).toBe(n);
  expect(perId).toBeLessThan(240);
});

/** A report key of the usual shape: student id length, student id, report id. */
function reportKeyLike(i: number): string {
  const s = `s-${i % 5000}`;
  return `${s.length}:${s}r-${i}`;
}
