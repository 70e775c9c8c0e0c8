import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Bearer tokens and their scopes. A token is a high-entropy random secret; acu keeps only its SHA-256
 * digest, so a copy of the token store (a file, an etcd snapshot) lets no one call the API.
 */
export const SCOPES = ["ingest", "operator", "viewer"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who a request is: the token's id (never the secret) and its scope. */
export interface Principal {
  id: string;
  scope: Scope;
}

export function isScope(raw: unknown): raw is Scope {
  return typeof raw === "string" && (SCOPES as readonly string[]).includes(raw);
}

/**
 * Whether a token of scope `held` may call an endpoint that needs `needed`. An operator may also do what a
 * viewer does (the dashboard needs one token for both); ingest is separate both ways, so a laptop's token
 * reads nothing and an operator's token does not feed reports.
 */
export function allows(held: Scope, needed: Scope): boolean {
  return held === needed || (held === "operator" && needed === "viewer");
}

/** 32 random bytes (256 bits) from the OS CSPRNG. */
const SECRET_BYTES = 32;

/**
 * A new token: `acu_<scope>_<43 base64url characters>`. The prefix makes a leaked token greppable (secret
 * scanners, logs) and says what it opens; the rest is the secret.
 */
export function newTokenSecret(scope: Scope): string {
  return `acu_${scope}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
}

/** A token's id: public (listed, logged, used to revoke), unrelated to the secret. */
export function newTokenId(): string {
  return `tok_${randomBytes(9).toString("base64url")}`;
}

export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * SHA-256 of the token, hex. A fast unsalted hash is right here, unlike for passwords: tokens carry 256
 * random bits (static ones at least 16 characters chosen by an operator), so there is no dictionary to
 * try and a slow hash (bcrypt, scrypt) would only cost CPU on every request.
 */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Constant-time equality of two hex digests: timingSafeEqual over equal-length buffers, so the time taken
 * says nothing about how many leading characters match.
 */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  if (x.length !== 32 || y.length !== 32) return false;
  return timingSafeEqual(x, y);
}

/** A stored token: its digest, never the secret. */
export interface TokenRecord {
  id: string;
  scope: Scope;
  label: string;
  createdAt: string;
  digest: string;
}

/**
 * The record whose digest equals the token's, comparing against every record with no early exit, each in
 * constant time: neither which record matched nor how close a guess came shows in the time taken.
 */
export function matchToken(token: string, records: Iterable<TokenRecord>): TokenRecord | null {
  const d = tokenDigest(token);
  let found: TokenRecord | null = null;
  for (const r of records) if (digestsEqual(d, r.digest) && found === null) found = r;
  return found;
}

/** The bearer token of an `Authorization` header value, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+([\x21-\x7e]{1,512})\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** WebSocket subprotocol carrying a token, for browsers (which cannot set headers on a WebSocket). */
export const WS_TOKEN_PROTOCOL_PREFIX = "acu.bearer.";

/** The offered subprotocol carrying a token, and the token, from a Sec-WebSocket-Protocol header. */
export function protocolToken(header: string | null | undefined): { protocol: string; token: string } | null {
  if (!header) return null;
  for (const p of header.split(",")) {
    const protocol = p.trim();
    if (protocol.startsWith(WS_TOKEN_PROTOCOL_PREFIX) && protocol.length > WS_TOKEN_PROTOCOL_PREFIX.length)
      return { protocol, token: protocol.slice(WS_TOKEN_PROTOCOL_PREFIX.length) };
  }
  return null;
}

/** Validates a record read from a store written by others (another process, etcdctl); null when malformed. */
export function parseTokenRecord(raw: unknown): TokenRecord | null {
  if (typeof raw !== "object" || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== "string" || !TOKEN_ID_PATTERN.test(r.id)) return null;
  if (!isScope(r.scope)) return null;
  if (typeof r.digest !== "string" || !/^[0-9a-f]{64}$/.test(r.digest)) return null;
  return { id: r.id, scope: r.scope, label: typeof r.label === "string" ? r.label : "", createdAt: typeof r.createdAt === "string" ? r.createdAt : "", digest: r.digest };
}

/** A label as given on the command line: short, printable, one line. */
export function validateLabel(raw: string | undefined): { ok: true; value: string } | { ok: false; message: string } {
  const v = raw ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what a label must not hold
  if (v.length > 100 || /[\x00-\x1f\x7f]/.test(v)) return { ok: false, message: "a label is at most 100 printable characters" };
  return { ok: true, value: v };
}
