import { expect, test } from "bun:test";
import { IngestLimits, RateLimiter } from "./rate-limit.ts";

test("a bucket holds 2 s worth, refills at the rate, and counts reports, not requests", () => {
  const l = new RateLimiter(100);
  expect(l.burst).toBe(200);
  expect(l.take("a", 150, 0)).toEqual({ ok: true });
  expect(l.take("a", 50, 0)).toEqual({ ok: true });
  expect(l.take("a", 1, 0)).toEqual({ ok: false, retryAfterS: 1 });
  // Another token has its own bucket.
  expect(l.take("b", 200, 0)).toEqual({ ok: true });
  // 0.5 s later: 50 back.
  expect(l.take("a", 50, 500)).toEqual({ ok: true });
  expect(l.take("a", 150, 500)).toEqual({ ok: false, retryAfterS: 2 });
  // Never more than the burst, however long the pause.
  expect(l.take("a", 201, 1_000_000)).toEqual({ ok: true });
});

test("a cost above the burst passes from a full bucket and leaves a debt; Retry-After is whole seconds ≥ 1", () => {
  const l = new RateLimiter(10);
  expect(l.take("a", 500, 0)).toEqual({ ok: true });
  const r = l.take("a", 1, 0);
  expect(r.ok).toBe(false);
  // 480 in debt + 1 needed, at 10/s.
  expect(r).toEqual({ ok: false, retryAfterS: 49 });
  expect(l.take("a", 1, 48_200)).toEqual({ ok: true });
});

test("long-run admitted rate equals the configured rate", () => {
  const l = new RateLimiter(1000);
  let admitted = 0;
  for (let t = 0; t <= 10_000; t += 10) if (l.take("a", 50, t).ok) admitted += 50;
  // 10 s at 1000/s plus the 2 s burst.
  expect(admitted).toBeGreaterThanOrEqual(11_900);
  expect(admitted).toBeLessThanOrEqual(12_050);
});

test("memory is bounded: past maxBuckets the least recently used keys are dropped, and a used key is kept", () => {
  // Two generations of 2 keys.
  const l = new RateLimiter(10, 2, 4);
  for (const k of ["a", "b", "c"]) expect(l.take(k, 20, 0)).toEqual({ ok: true });
  // "a" charged again 1 s later: "b" is now the least recently used.
  expect(l.take("a", 10, 1000)).toEqual({ ok: true });
  expect(l.take("d", 1, 1000)).toEqual({ ok: true });
  expect(l.size).toBe(3);
  // "a" and "c" kept their buckets (empty, 10 back), "b" was dropped: it starts again from a full one.
  expect([l.take("a", 1, 1000).ok, l.take("c", 11, 1000).ok, l.take("b", 20, 1000).ok]).toEqual([false, false, true]);
  // 300,000 keys through a default limiter, quickly: never more than 100,000 held.
  const big = new RateLimiter(10);
  const started = performance.now();
  let most = 0;
  for (let i = 0; i < 300_000; i++) {
    big.take(`s${i}`, 1, i);
    most = Math.max(most, big.size);
  }
  expect(most).toBe(100_000);
  expect(performance.now() - started).toBeLessThan(2000);
});

test("IngestLimits: a student over its rate is named and charged nothing, nor is the token; the token's limit is named too", () => {
  const limits = new IngestLimits(new RateLimiter(10), new RateLimiter(2));
  // A student's burst is 4 reports.
  expect(limits.admit("t", ["a", "a", "a", "a", "b"], 0)).toEqual({ ok: true });
  expect(limits.admit("t", ["b", "a"], 0)).toEqual({ ok: false, limit: "student", studentId: "a", ratePerSecond: 2, retryAfterS: 1 });
  // The refused request took nothing from "b" (3 left) nor from the token (of its burst of 20, 15 left, 12 after this).
  expect(limits.admit("t", ["b", "b", "b"], 0)).toEqual({ ok: true });
  expect(limits.admit("t", ["c", "c", "c", "c", "d", "d", "d", "d", "e", "e", "e", "e", "f"], 0)).toEqual({
    ok: false,
    limit: "token",
    ratePerSecond: 10,
    retryAfterS: 1,
  });
  // Another token has its own students' buckets.
  expect(limits.admit("u", ["a", "a", "a", "a"], 0)).toEqual({ ok: true });
  // No limits at all: everything passes.
  expect(new IngestLimits(null, null).admit("t", Array(1000).fill("a"), 0)).toEqual({ ok: true });
});
