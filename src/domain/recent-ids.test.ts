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
