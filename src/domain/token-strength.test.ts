import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { estimatedEntropyBits, MIN_STATIC_TOKEN_BITS, staticTokenWeakness } from "./token-strength.ts";

test("placeholders and acu's published examples are refused whatever their length", () => {
  for (const t of ["change-me-ingest-token", "change-me-operator-token", "change-me-viewer-token", "CHANGE-ME"])
    expect({ t, why: staticTokenWeakness(t) }).toEqual({ t, why: expect.stringContaining("example token printed in acu's own files") });
  for (const [t, marker] of [
    ["change-me-ingest-token-fGx81Qm2ZpL0vRt7YwKc", "change-me"],
    ["changeme_TPW1JaxtPyUatBv3pNc-vHPPgJ4lbFsj", "changeme"],
    ["<token-of-the-laptops-scope-ingest-please>", "<"],
    ["replace-me-AzWaash0Akq9YpQeQXWULUeb6lQiFjmb", "replace-me"],
    ["your-token-JmhKNnzVJemXAzyV3ZT5SP_i2Ip7Dj-Q", "your-token"],
    ["my-example-JmhKNnzVJemXAzyV3ZT5SP_i2Ip7Dj-Q", "example"],
    ["acu_viewer_...AzWaash0Akq9YpQeQXWULUeb6lQiFjmb", "..."],
  ] as const)
    expect({ t, why: staticTokenWeakness(t) }).toEqual({ t, why: `is a placeholder (it holds "${marker}"), not a token` });
});

test("short, repeated, sequential and small-alphabet tokens are refused with the estimate", () => {
  expect(staticTokenWeakness("Zk4_9wQp-Lm2Rt8YxC0v3")).toBe("is 21 characters; a static token needs at least 32");
  for (const t of [
    "a".repeat(40),
    "ab".repeat(20),
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "0123456789abcdef0123456789abcdef",
    "Kq9#zT2!".repeat(6),
    "hunter2-hunter2-hunter2-hunter2-hunter2",
    "0123456789".repeat(4),
  ]) {
    expect({ t, why: staticTokenWeakness(t) }).toEqual({
      t,
      why: expect.stringMatching(/^looks guessable: about \d+ bits of entropy .* at least 128 are needed$/),
    });
    expect(estimatedEntropyBits(t)).toBeLessThan(MIN_STATIC_TOKEN_BITS);
  }
});

test("random tokens from the documented recipe (43 base64url characters), 64 hex characters and acu's own pass; 32 hex characters are at the bar", () => {
  // 16 random bytes as hex: exactly 128 bits, what the estimate says (a chance 5-character repeat, 1 in 3000, would not pass).
  for (const hex of ["6b66382e0bc1414d7e05b2afc7dad19b", "47fa25434b7cbed0bde6d0831e8000a8"]) expect(estimatedEntropyBits(hex)).toBe(128);
  for (let i = 0; i < 2000; i++) {
    const b64 = randomBytes(32).toString("base64url");
    const hex = randomBytes(32).toString("hex");
    const own = `acu_operator_${randomBytes(32).toString("base64url")}`;
    expect([staticTokenWeakness(b64), staticTokenWeakness(hex), staticTokenWeakness(own)]).toEqual([null, null, null]);
    // With a margin: the weakest of these scores far above the bar.
    expect(estimatedEntropyBits(b64)).toBeGreaterThan(MIN_STATIC_TOKEN_BITS + 30);
  }
});
