import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import { TrieRouter } from "hono/router/trie-router";
import type { Scope } from "../../src/domain/token.ts";
import type { AuthEnv } from "./auth.ts";
import { authErrorSchema, errorSchema, json, validationHook } from "./schemas.ts";

/**
 * One route of the API as a single definition: its OpenAPI operation (operationId, parameters, responses,
 * from zod schemas that also validate), and the scope it needs. The OpenAPI `security`, the 401/403
 * answers and the server's scope check all come from `scope`, so the three cannot disagree.
 */
export interface RouteDef<R extends RouteConfig = RouteConfig> {
  route: R;
  /** The scope a token needs; null: open to anyone (probes, the contract, the dashboard's files). */
  scope: Scope | null;
  /** A JSON body, in the document; the handler checks it with readJson (any Content-Type is read as JSON). */
  body?: z.ZodType;
  /** The body may be left out (it reads as `{}`). */
  bodyOptional?: boolean;
  /** The token may come as the WebSocket subprotocol `acu.bearer.<token>` (browsers cannot set headers there). */
  tokenInSubprotocol?: boolean;
  /** For the `patrol` scope, the patrol a patrol token may act for: see PatrolBinding. */
  patrol?: PatrolBinding;
}

/**
 * Which patrol a `patrol` token may act for on a route (operators act for any):
 * - `path`: the patrol of the path's `{patrolId}`; checked with the scope, before the route runs (403);
 * - `holder`: the patrol holding the path's incident; the route passes the token's patrol to the dispatch
 *   service, which reads the holder and refuses another patrol (403) in the same read as the transition.
 */
export type PatrolBinding = "path" | "holder";

/** OpenAPI security of a scope: a viewer call also takes the operator token, a patrol call too (alternatives are separate objects). */
export function securityFor(scope: Scope | null): Array<Record<string, string[]>> {
  if (scope === null) return [];
  return scope === "viewer" || scope === "patrol" ? [{ [scope]: [] }, { operator: [] }] : [{ [scope]: [] }];
}

const FORBIDDEN: Record<PatrolBinding, string> = {
  path: "or the token of another patrol than the path's",
  holder: "or the token of a patrol that does not hold the incident",
};

/** The Retry-After header of a 429 or 503: whole seconds. */
export const retryAfter = z.object({
  "Retry-After": z
    .string()
    .regex(/^[0-9]+$/)
    .meta({ description: "Whole seconds to wait before retrying" }),
});

/** The answers every protected route may give before its handler runs, or when an engine fails under it. */
function deniedResponses(scope: Scope, patrol?: PatrolBinding) {
  const forbidden = `A valid token of another scope${patrol ? `, ${FORBIDDEN[patrol]}` : ""}; needs the ${scope} scope${scope === "patrol" ? " or the operator's" : ""}`;
  return {
    401: {
      description: `No token, a malformed Authorization header, or an unknown or revoked token; needs the ${scope} scope`,
      headers: z.object({ "WWW-Authenticate": z.string().meta({ example: `Bearer realm="acu", scope="${scope}"` }) }),
      ...json(authErrorSchema),
    },
    403: { description: forbidden, ...json(authErrorSchema) },
    503: { description: "An engine behind this call cannot answer now; retry after Retry-After", headers: retryAfter, ...json(errorSchema) },
  } as const;
}

const invalid = { 400: { description: "A parameter or the body is invalid; the error names it", ...json(errorSchema) } } as const;

/**
 * A route definition: the scope's security and 401/403/503 answers added, and 400 when it takes
 * parameters or a body. Responses the route declares itself take precedence. A `patrol` route says
 * which patrol a patrol token may act for (`patrol`), and only a patrol route does.
 */
export function defineRoute<const R extends Omit<RouteConfig, "security"> & { operationId: string }>(
  scope: Scope | null,
  route: R,
  extra: { body?: z.ZodType; bodyOptional?: boolean; tokenInSubprotocol?: boolean; patrol?: PatrolBinding } = {},
): RouteDef<Defined<R>> {
  if ((scope === "patrol") !== (extra.patrol !== undefined))
    throw new Error(`${route.operationId}: a route of the patrol scope, and only one, names its patrol binding`);
  if (extra.patrol === "path" && !route.path.includes("{patrolId}"))
    throw new Error(`${route.operationId}: bound to the path's patrol, but the path has no {patrolId}`);
  const validates = extra.body !== undefined || route.request?.query !== undefined || route.request?.params !== undefined;
  const responses = { ...(scope ? deniedResponses(scope, extra.patrol) : {}), ...(validates ? invalid : {}), ...route.responses };
  const config = createRoute({ ...route, responses, security: securityFor(scope) });
  return { route: config as unknown as Defined<R>, scope, ...extra };
}

/** A defined route's type: the answers defineRoute may add (typed for every route, so handlers may give them). */
type Defined<R extends Omit<RouteConfig, "security">> = Omit<R, "responses"> & {
  responses: Omit<ReturnType<typeof deniedResponses> & typeof invalid, keyof R["responses"]> & R["responses"];
  security: Array<Record<string, string[]>>;
  getRoutingPath(): string;
};

/** A route group's app: OpenAPIHono whose failed parameter validations answer acu's 400 `{error}`. */
export function routeGroup(): OpenAPIHono<AuthEnv> {
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook });
}

/** The route as it appears in the OpenAPI document: its body, checked by the handler, declared too. */
export function documentedRoute(def: RouteDef): RouteConfig {
  if (!def.body) return def.route;
  return { ...def.route, request: { ...def.route.request, body: { required: !def.bodyOptional, ...json(def.body) } } };
}

/** Hono's path syntax of an OpenAPI path: `/api/thresholds/{exerciseId}` → `/api/thresholds/:exerciseId`. */
export const honoPath = (openApiPath: string) => openApiPath.replaceAll(/\{([^}]+)\}/g, ":$1");

export interface RouteMatch {
  /** The definition for this method and path, or null. */
  def: RouteDef | null;
  /** The path's parameters, as sent (percent-encoded), when `def` matched. */
  params: Record<string, string>;
  /** Methods the table has for this path (empty: the path is unknown). */
  allow: string[];
  /** The scope this request needs: the route's; for another method on a known path, the scope its routes share; else by default deny. */
  needed: Scope | null;
}

/**
 * The route table as the server reads it, matched with Hono's own router. Default deny: a request the
 * table does not have needs a token — reads the viewer scope, writes the operator scope — so a route
 * added later is protected before anyone thinks about it.
 */
export class RouteTable {
  private readonly byMethod = new TrieRouter<RouteDef>();
  private readonly byPath = new TrieRouter<RouteDef>();

  constructor(readonly defs: readonly RouteDef[]) {
    for (const d of defs) {
      this.byMethod.add(d.route.method.toUpperCase(), honoPath(d.route.path), d);
      this.byPath.add("ALL", honoPath(d.route.path), d);
    }
  }

  match(method: string, path: string): RouteMatch {
    const m = method === "HEAD" ? "GET" : method;
    const [found] = this.byMethod.match(m, path)[0] as Array<[RouteDef, Record<string, string>]>;
    const def = found?.[0] ?? null;
    const onPath = this.byPath.match(m, path)[0].map(([d]) => d);
    const allow = [...new Set(onPath.flatMap((d) => (d.route.method === "get" ? ["GET", "HEAD"] : [d.route.method.toUpperCase()])))];
    if (def) return { def, params: found![1], allow, needed: def.scope };
    const scopes = new Set(onPath.map((d) => d.scope));
    const shared = scopes.size === 1 ? [...scopes][0]! : undefined;
    return { def: null, params: {}, allow, needed: shared !== undefined ? shared : m === "GET" ? "viewer" : "operator" };
  }
}
