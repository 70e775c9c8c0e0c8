import type { Context, MiddlewareHandler } from "hono";
import { allows, bearerToken, matchToken, tokenDigest, type Principal, type Scope, type TokenRecord } from "../../src/domain/token.ts";
import type { TokenStore } from "../../src/ports/tokens.ts";

/** Hono context of a request that passed the scope check: who made it. */
export type AuthEnv = { Variables: { principal: Principal } };

/** Answers "whose token is this?" from the static tokens of the environment and the token store. */
export interface Authenticator {
  authenticate(token: string): Principal | null;
}

/** A token set in the environment; `id` names its variable (`env:ACU_INGEST_TOKEN`), never the secret. */
export interface StaticTokenSpec {
  id: string;
  scope: Scope;
  token: string;
}

export function authenticator(statics: StaticTokenSpec[], store: TokenStore | null): Authenticator {
  // Static tokens are held as digests too, and compared like stored ones: in constant time, no early exit.
  const records: TokenRecord[] = statics.map((s) => ({ id: s.id, scope: s.scope, label: s.id, createdAt: "", digest: tokenDigest(s.token) }));
  return {
    authenticate(token) {
      const r = matchToken(token, records);
      if (r) return { id: r.id, scope: r.scope };
      return store?.verify(token) ?? null;
    },
  };
}

/** Paths anyone may read: liveness, readiness and metrics for probes, the API contract, the dashboard's files. */
const OPEN = new Set(["/", "/index.html", "/healthz", "/readyz", "/metrics", "/api/openapi.json"]);

/**
 * The scope a request needs, or null when it is open. Default deny: anything not listed open needs a token —
 * `/api/reports` the ingest scope, other reads the viewer scope, other writes the operator scope — so a route
 * added later is protected before anyone thinks about it.
 */
export function neededScope(method: string, path: string): Scope | null {
  if (OPEN.has(path) || /^\/assets\/[A-Za-z0-9._-]+$/.test(path)) return null;
  if (path === "/api/reports") return "ingest";
  return method === "GET" || method === "HEAD" ? "viewer" : "operator";
}

export type AuthOutcome = { ok: true; principal: Principal | null } | { ok: false; status: 401 | 403; body: { error: string; scope: Scope }; headers: Record<string, string> };

/** The scope check for one request, shared by the HTTP routes and the WebSocket upgrade. */
export function checkScope(auth: Authenticator, needed: Scope | null, token: string | null): AuthOutcome {
  if (needed === null) return { ok: true, principal: null };
  const what = `this needs the ${needed} token${needed === "viewer" ? " (or the operator token)" : ""}`;
  if (token === null)
    return { ok: false, status: 401, body: { error: `${what}: Authorization: Bearer <token>`, scope: needed }, headers: { "WWW-Authenticate": `Bearer realm="acu", scope="${needed}"` } };
  const p = auth.authenticate(token);
  if (!p)
    return {
      ok: false,
      status: 401,
      body: { error: `the token is unknown or revoked; ${what}`, scope: needed },
      headers: { "WWW-Authenticate": `Bearer realm="acu", scope="${needed}", error="invalid_token"` },
    };
  if (!allows(p.scope, needed)) return { ok: false, status: 403, body: { error: `this token has the ${p.scope} scope; ${what}`, scope: needed }, headers: {} };
  return { ok: true, principal: p };
}

/** Middleware: every request passes the scope check before any route sees it. */
export function requireScopes(auth: Authenticator): MiddlewareHandler<AuthEnv> {
  return async (c: Context<AuthEnv>, next) => {
    const r = checkScope(auth, neededScope(c.req.method, c.req.path), bearerToken(c.req.header("authorization")));
    if (!r.ok) return c.json(r.body, r.status, r.headers);
    if (r.principal) c.set("principal", r.principal);
    await next();
  };
}
