import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { PATROL_ID_PATTERN } from "./incident-event.ts";

/**
 * Bearer tokens and their scopes. A token is a high-entropy random secret; acu keeps only its SHA-256
 * digest, so a copy of the token store (a file, an etcd snapshot) lets no one call the API.
 */
export const SCOPES = ["ingest", "operator", "viewer", "patrol"] as const;
export type Scope = (typeof SCOPES)[number];
/** Scopes a token holds on its own; a `patrol` token is also bound to one patrol. */
export const UNBOUND_SCOPES = ["ingest", "operator", "viewer"] as const satisfies readonly Scope[];

/** Who a request is: the token's id (never the secret), its scope, and for a patrol token its patrol. */
export interface Principal {
  id: string;
  scope: Scope;
  /** Only on `patrol` tokens: the one patrol it may act for. */
  patrolId?: string;
}

export function isScope(raw: unknown): raw is Scope {
  return typeof raw === "string" && (SCOPES as readonly string[]).includes(raw);
}

/**
 * Whether a token of scope `held` may call an endpoint that needs `needed`. An operator may also do what a
 * viewer does (the dashboard needs one token for both) and act for any patrol; ingest is separate both
 * ways, so a laptop's token reads nothing and an operator's token does not feed reports. A patrol token
 * does only its patrol's steps (which patrol is checked by the route, see modules/http/route-table.ts).
 */
export function allows(held: Scope, needed: Scope): boolean {
  return held === needed || (held === "operator" && (needed === "viewer" || needed === "patrol"));
}

/**
 * The patrol a token of this scope is bound to: required (a valid patrol id) for `patrol`, refused for
 * every other scope. One rule for the CLI, the stores and the records read back.
 */
export function tokenBinding(scope: Scope, patrolId: unknown): { ok: true; patrolId: string | undefined } | { ok: false; message: string } {
  if (scope !== "patrol")
    return patrolId === undefined || patrolId === null
      ? { ok: true, patrolId: undefined }
      : { ok: false, message: `only a patrol token is bound to a patrol, not a ${scope} token` };
  if (typeof patrolId !== "string") return { ok: false, message: "a patrol token needs the patrol it acts for (--patrol ID)" };
  if (!PATROL_ID_PATTERN.test(patrolId)) return { ok: false, message: `"${patrolId}" is not a patrol id: 1 to 32 characters among a-z, 0-9 and '-'` };
  return { ok: true, patrolId };
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
  /** Only on `patrol` tokens. */
  patrolId?: string;
}

/** Who a request made with this record's token is. */
export function principalOf(r: TokenRecord): Principal {
  return r.patrolId === undefined ? { id: r.id, scope: r.scope } : { id: r.id, scope: r.scope, patrolId: r.patrolId };
}

/** A new record for a token of that scope (and patrol); throws when the binding is wrong (see tokenBinding). */
export function newTokenRecord(scope: Scope, label: string, patrolId: string | undefined, token: string): TokenRecord {
  const b = tokenBinding(scope, patrolId);
  if (!b.ok) throw new Error(b.message);
  const rec: TokenRecord = { id: newTokenId(), scope, label, createdAt: new Date().toISOString(), digest: tokenDigest(token) };
  return b.patrolId === undefined ? rec : { ...rec, patrolId: b.patrolId };
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
  // A patrol token without a valid patrol (or another scope with one) would open more or less than it says.
  const b = tokenBinding(r.scope, r.patrolId);
  if (!b.ok) return null;
  const rec: TokenRecord = {
    id: r.id,
    scope: r.scope,
    label: typeof r.label === "string" ? r.label : "",
    createdAt: typeof r.createdAt === "string" ? r.createdAt : "",
    digest: r.digest,
  };
  return b.patrolId === undefined ? rec : { ...rec, patrolId: b.patrolId };
}

/** A label as given on the command line: short, printable, one line. */
export function validateLabel(raw: string | undefined): { ok: true; value: string } | { ok: false; message: string } {
  const v = raw ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what a label must not hold
  if (v.length > 100 || /[\x00-\x1f\x7f]/.test(v)) return { ok: false, message: "a label is at most 100 printable characters" };
  return { ok: true, value: v };
}
