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
  SCOPES,
  tokenDigest,
  type TokenRecord,
} from "./token.ts";

test("scopes: each allows itself; operator also allows viewer; nothing else crosses", () => {
  const table = Object.fromEntries(SCOPES.map((h) => [h, SCOPES.filter((n) => allows(h, n))]));
  expect(table).toEqual({ ingest: ["ingest"], operator: ["operator", "viewer"], viewer: ["viewer"] });
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
  expect(seen.size).toBe(600);
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
});
