import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  allows,
  bearerToken,
  digestsEqual,
  matchToken,
  newTokenId,
  newTokenSecret,
  parseTokenRecord,
  protocolToken,
  principalOf,
  SCOPES,
  tokenBinding,
  tokenDigest,
  type TokenRecord,
} from "./token.ts";

test("scopes: each allows itself; operator also allows viewer and patrol; nothing else crosses", () => {
  const table = Object.fromEntries(SCOPES.map((h) => [h, SCOPES.filter((n) => allows(h, n))]));
  expect(table).toEqual({ ingest: ["ingest"], operator: ["operator", "viewer", "patrol"], viewer: ["viewer"], patrol: ["patrol"] });
});

test("a patrol token is bound to one valid patrol id; no other scope takes one", () => {
  expect(tokenBinding("patrol", "p-07")).toEqual({ ok: true, patrolId: "p-07" });
  expect(tokenBinding("viewer", undefined)).toEqual({ ok: true, patrolId: undefined });
  for (const [scope, id, message] of [
    ["patrol", undefined, "needs the patrol"],
    ["patrol", "P1", "not a patrol id"],
    ["patrol", "a".repeat(33), "not a patrol id"],
    ["patrol", 7, "needs the patrol"],
    ["operator", "p1", "only a patrol token"],
  ] as const) {
    const b = tokenBinding(scope, id);
    expect({ scope, id, ok: b.ok, message: b.ok ? "" : b.message }).toEqual({ scope, id, ok: false, message: expect.stringContaining(message) });
  }
  const rec: TokenRecord = { id: "tok_p", scope: "patrol", label: "", createdAt: "", digest: tokenDigest("x"), patrolId: "p1" };
  expect(principalOf(rec)).toEqual({ id: "tok_p", scope: "patrol", patrolId: "p1" });
  expect(Object.keys(principalOf({ ...rec, scope: "viewer", patrolId: undefined }))).toEqual(["id", "scope"]);
});

test("a new token is acu_<scope>_ + 256 random bits in base64url, never repeated", () => {
  const seen = new Set<string>();
  for (const scope of SCOPES)
    for (let i = 0; i < 200; i++) {
      const t = newTokenSecret(scope);
      expect(t).toMatch(new RegExp(`^acu_${scope}_[A-Za-z0-9_-]{43}$`));
      expect(Buffer.from(t.slice(`acu_${scope}_`.length), "base64url").length).toBe(32);
      seen.add(t);
    }
  expect(seen.size).toBe(200 * SCOPES.length);
  expect(newTokenId()).toMatch(/^tok_[A-Za-z0-9_-]{12}$/);
});

test("digests: SHA-256 hex; equality only for the same token; malformed digests never equal", () => {
  const a = tokenDigest("acu_viewer_x");
  expect(a).toBe(new Bun.CryptoHasher("sha256").update("acu_viewer_x").digest("hex"));
  expect(digestsEqual(a, tokenDigest("acu_viewer_x"))).toBe(true);
  expect(digestsEqual(a, tokenDigest("acu_viewer_y"))).toBe(false);
  expect(digestsEqual(a, a.slice(0, 62))).toBe(false);
  expect(digestsEqual("", "")).toBe(false);
});

test("matchToken finds the record by digest and nothing else", () => {
  const mk = (id: string, token: string): TokenRecord => ({ id, scope: "viewer", label: "", createdAt: "", digest: tokenDigest(token) });
  const recs = [mk("a", "token-a-0123456789"), mk("b", "token-b-0123456789")];
  expect(matchToken("token-b-0123456789", recs)?.id).toBe("b");
  expect(matchToken("token-c-0123456789", recs)).toBeNull();
  expect(matchToken("", recs)).toBeNull();
});

test("the comparison is constant-time: timingSafeEqual on fixed-length digests, no early exit over records", () => {
  // Timing cannot be measured reliably in a unit test; the code is what guarantees it, so check the code.
  const src = readFileSync(join(import.meta.dir, "token.ts"), "utf8");
  const eq = src.slice(src.indexOf("export function digestsEqual"), src.indexOf("/** A stored token"));
  expect(eq).toContain("timingSafeEqual(x, y)");
  expect(eq).not.toMatch(/\ba === b\b|\bx === y\b/);
  const match = src.slice(src.indexOf("export function matchToken"), src.indexOf("/** The bearer token"));
  expect(match).toContain("digestsEqual(d, r.digest)");
  expect(match).not.toContain("return r");
});

test("bearer header and WebSocket subprotocol parsing", () => {
  expect(bearerToken("Bearer abc")).toBe("abc");
  expect(bearerToken("bearer abc")).toBe("abc");
  expect(bearerToken("Basic abc")).toBeNull();
  expect(bearerToken("Bearer ")).toBeNull();
  expect(bearerToken("Bearer a b")).toBeNull();
  expect(bearerToken(undefined)).toBeNull();
  expect(protocolToken("chat, acu.bearer.acu_viewer_abc")).toEqual({ protocol: "acu.bearer.acu_viewer_abc", token: "acu_viewer_abc" });
  expect(protocolToken("acu.bearer.")).toBeNull();
  expect(protocolToken("chat")).toBeNull();
});

test("records from a store are validated", () => {
  const ok = { id: "tok_1", scope: "ingest", label: "l", createdAt: "2026-01-01T00:00:00Z", digest: tokenDigest("x") };
  expect(parseTokenRecord(ok)).toEqual(ok as TokenRecord);
  expect(parseTokenRecord({ ...ok, scope: "root" })).toBeNull();
  expect(parseTokenRecord({ ...ok, digest: "plain-token" })).toBeNull();
  expect(parseTokenRecord({ ...ok, id: "a b" })).toBeNull();
  expect(parseTokenRecord(null)).toBeNull();
  // The binding is part of the record: a patrol token without its patrol, or another scope with one, is refused.
  expect(parseTokenRecord({ ...ok, scope: "patrol", patrolId: "p-1" })).toEqual({ ...ok, scope: "patrol", patrolId: "p-1" } as TokenRecord);
  expect(parseTokenRecord({ ...ok, scope: "patrol" })).toBeNull();
  expect(parseTokenRecord({ ...ok, scope: "patrol", patrolId: "P 1" })).toBeNull();
  expect(parseTokenRecord({ ...ok, patrolId: "p-1" })).toBeNull();
});
