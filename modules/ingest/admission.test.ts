import { expect, test } from "bun:test";
import { IngestAdmission } from "./admission.ts";

test("admits up to the bound in bytes, one request alone always, and gives back what each release frees (once)", () => {
  const a = new IngestAdmission(1000);
  const first = a.admit(600);
  expect(first).not.toBeNull();
  expect(a.admit(500)).toBeNull();
  const second = a.admit(400);
  expect(second).not.toBeNull();
  expect(a.inFlightBytes).toBe(1000);
  first!();
  first!();
  expect(a.inFlightBytes).toBe(400);
  second!();
  // Alone, a body larger than the bound is taken: a bound below one body cannot wedge ingest.
  const big = a.admit(5000);
  expect(big).not.toBeNull();
  expect(a.admit(1)).toBeNull();
  big!();
  expect(a.inFlightBytes).toBe(0);
  expect(() => new IngestAdmission(0)).toThrow(/positive whole number of bytes/);
});
