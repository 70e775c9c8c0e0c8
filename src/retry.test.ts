import { describe, expect, test } from "bun:test";
import { backoffDelay, retry, sleep } from "./retry.ts";

const policy = { baseMs: 100, capMs: 2000 };

describe("backoffDelay", () => {
  test("is drawn below a bound that doubles from the base and stops at the cap", () => {
    const top = () => 1 - Number.EPSILON;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(policy, n, top))).toEqual([99, 199, 399, 799, 1599, 1999, 1999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
  });

  test("is jittered: the waits of many clients failing together spread over the whole range", () => {
    const waits = Array.from({ length: 1000 }, () => backoffDelay(policy, 4));
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThan(800);
    }
    // 1000 draws from [0, 800): hundreds of distinct values, in every quarter of the range.
    expect(new Set(waits).size).toBeGreaterThan(300);
    for (let q = 0; q < 4; q++) expect(waits.some((w) => w >= q * 200 && w < (q + 1) * 200)).toBe(true);
  });

  test("stays bounded by the cap however long the outage (no overflow to NaN)", () => {
    for (const n of [50, 1024, 1e6]) {
      const w = backoffDelay(policy, n, () => 0.75);
      expect(w).toBe(1500);
    }
  });
});

describe("retry", () => {
  const failing = (errors: unknown[], thenValue?: string) => {
    const attempts: number[] = [];
    const f = async (attempt: number) => {
      attempts.push(attempt);
      if (attempts.length <= errors.length) throw errors[attempts.length - 1];
      return thenValue!;
    };
    // f is told the number of its try: 1, 2, 3…
    const calls = () => {
      expect(attempts).toEqual(attempts.map((_, i) => i + 1));
      return attempts.length;
    };
    return { f, calls };
  };

  test("tries again until f resolves, telling onRetry each failure and the wait drawn", async () => {
    const { f, calls } = failing([new Error("a"), new Error("b")], "ok");
    const seen: Array<[string, number, number]> = [];
    const out = await retry(f, { baseMs: 10, capMs: 10, random: () => 0.5, onRetry: (e, n, d) => seen.push([(e as Error).message, n, d]) });
    expect(out).toBe("ok");
    expect(calls()).toBe(3);
    expect(seen).toEqual([
      ["a", 1, 5],
      ["b", 2, 5],
    ]);
  });

  test("gives up after the attempts, with the last error", async () => {
    const { f, calls } = failing([new Error("1"), new Error("2"), new Error("3"), new Error("4")], "never");
    await expect(retry(f, { baseMs: 1, capMs: 1, attempts: 3 })).rejects.toThrow("3");
    expect(calls()).toBe(3);
  });

  test("does not retry an error the predicate calls final", async () => {
    const { f, calls } = failing([new Error("busy"), new Error("denied"), new Error("busy")], "never");
    await expect(retry(f, { baseMs: 1, capMs: 1, retriable: (e) => (e as Error).message === "busy" })).rejects.toThrow("denied");
    expect(calls()).toBe(2);
  });

  test("begins no try past the deadline", async () => {
    const { f, calls } = failing(
      Array.from({ length: 100 }, (_, i) => new Error(`e${i + 1}`)),
      "never",
    );
    // Zero: the first failure is final.
    await expect(retry(f, { baseMs: 1, capMs: 1, deadlineMs: 0 })).rejects.toThrow("e1");
    expect(calls()).toBe(1);
    // Waits of up to an hour are cut to what is left of 40 ms: one or two more tries, not a hundred.
    const second = failing(
      Array.from({ length: 100 }, (_, i) => new Error(`e${i + 1}`)),
      "never",
    );
    await expect(retry(second.f, { baseMs: 3_600_000, capMs: 3_600_000, deadlineMs: 40, random: () => 0.99 })).rejects.toThrow(/^e[23]$/);
    expect(second.calls()).toBeGreaterThanOrEqual(2);
    expect(second.calls()).toBeLessThanOrEqual(3);
  });

  test("an abort ends the retries, cutting a wait short, with the last error", async () => {
    const stop = new AbortController();
    const { f, calls } = failing(
      Array.from({ length: 100 }, () => new Error("down")),
      "never",
    );
    // An hour's wait after the first failure: only the abort can end this test in time.
    const p = retry(f, { baseMs: 3_600_000, capMs: 3_600_000, random: () => 0.99, signal: stop.signal, onRetry: () => setTimeout(() => stop.abort(), 5) });
    await expect(p).rejects.toThrow("down");
    expect(calls()).toBe(1);
    // Already aborted: the first failure is final.
    const again = failing([new Error("x"), new Error("y")], "never");
    await expect(retry(again.f, { baseMs: 1, capMs: 1, signal: stop.signal })).rejects.toThrow("x");
    expect(again.calls()).toBe(1);
  });
});

test("sleep ends at once on abort, and never rejects", async () => {
  const stop = new AbortController();
  const p = sleep(3_600_000, stop.signal);
  stop.abort();
  await expect(p).resolves.toBeUndefined();
  await expect(sleep(3_600_000, stop.signal)).resolves.toBeUndefined();
  await expect(sleep(-5)).resolves.toBeUndefined();
});
