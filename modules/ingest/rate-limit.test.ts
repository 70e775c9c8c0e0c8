import { expect, test } from "bun:test";
import { RateLimiter } from "./rate-limit.ts";

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
