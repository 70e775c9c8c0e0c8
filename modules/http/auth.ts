import type { Context, MiddlewareHandler } from "hono";
import {
  allows,
  bearerToken,
  matchToken,
  principalOf,
  protocolToken,
  tokenDigest,
  type Principal,
  type Scope,
  type TokenRecord,
} from "../../src/domain/token.ts";
import type { TokenStore } from "../../src/ports/tokens.ts";
import type { RouteMatch, RouteTable } from "./route-table.ts";

/**
 * Hono context of a request: the route table's match (set first), who made it once the scope check
 * passed, and whether it was upgraded to a WebSocket.
 */
export type AuthEnv = { Variables: { route: RouteMatch; principal: Principal; upgraded: boolean } };

/** Answers "whose token is this?" from the static tokens of the environment and the token store. */
export interface Authenticator {
  authenticate(token: string): Principal | null;
}

/** A token set in the environment; `id` names its variable (`env:ACU_INGEST_TOKEN`), never the secret. */
export interface StaticTokenSpec {
  id: string;
  scope: Scope;
  token: string;
  /** For a `patrol` token (tests): the patrol it acts for. */
  patrolId?: string;
}

export function authenticator(statics: StaticTokenSpec[], store: TokenStore | null): Authenticator {
  // Static tokens are held as digests too, and compared like stored ones: in constant time, no early exit.
  const records: TokenRecord[] = statics.map((s) => ({
    id: s.id,
    scope: s.scope,
    label: s.id,
    createdAt: "",
    digest: tokenDigest(s.token),
    ...(s.patrolId ? { patrolId: s.patrolId } : {}),
  }));
  return {
    authenticate(token) {
      const r = matchToken(token, records);
      if (r) return principalOf(r);
      return store?.verify(token) ?? null;
    },
  };
}

export type AuthOutcome =
  | { ok: true; principal: Principal | null }
  | { ok: false; status: 401 | 403; body: { error: string; scope: Scope }; headers: Record<string, string> };

/** The scope check for one request, shared by the HTTP routes and the WebSocket upgrade. */
export function checkScope(auth: Authenticator, needed: Scope | null, token: string | null): AuthOutcome {
  if (needed === null) return { ok: true, principal: null };
  const what = `this needs the ${needed} token${needed === "viewer" || needed === "patrol" ? " (or the operator token)" : ""}`;
  if (token === null)
    return {
      ok: false,
      status: 401,
      body: { error: `${what}: Authorization: Bearer <token>`, scope: needed },
      headers: { "WWW-Authenticate": `Bearer realm="acu", scope="${needed}"` },
    };
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

/**
 * A patrol token on a route bound to the path's patrol (route-table.ts, PatrolBinding `path`) acts only
 * for its own patrol; operators for any. Routes bound to an incident's holder are checked by the dispatch
 * service, which reads the holder.
 */
export function checkPatrol(match: RouteMatch, p: Principal | null): AuthOutcome {
  if (p?.scope !== "patrol" || match.def?.patrol !== "path") return { ok: true, principal: p };
  const raw = match.params.patrolId ?? "";
  let asked: string;
  try {
    asked = decodeURIComponent(raw);
  } catch {
    asked = raw;
  }
  if (asked === p.patrolId) return { ok: true, principal: p };
  return {
    ok: false,
    status: 403,
    body: { error: `this token acts for patrol ${p.patrolId}, not ${asked}; this needs that patrol's token or the operator token`, scope: "patrol" },
    headers: {},
  };
}

/** The patrol a request acts for on a `holder` route: a patrol token's own, null for an operator (any patrol). */
export function actingPatrol(p: Principal | undefined): string | null {
  return p?.scope === "patrol" ? (p.patrolId ?? null) : null;
}

/**
 * Middleware: every request passes the scope check its route declares (route-table.ts) before any route
 * sees it; default deny for what the table does not have. The match is kept for the access log.
 */
export function requireScopes(auth: Authenticator, table: RouteTable): MiddlewareHandler<AuthEnv> {
  return async (c: Context<AuthEnv>, next) => {
    const route = table.match(c.req.method, c.req.path);
    c.set("route", route);
    const offered = route.def?.tokenInSubprotocol ? protocolToken(c.req.header("sec-websocket-protocol"))?.token : undefined;
    const scoped = checkScope(auth, route.needed, bearerToken(c.req.header("authorization")) ?? offered ?? null);
    const r = scoped.ok ? checkPatrol(route, scoped.principal) : scoped;
    if (!r.ok) return c.json(r.body, r.status, r.headers);
    if (r.principal) c.set("principal", r.principal);
    await next();
  };
}
