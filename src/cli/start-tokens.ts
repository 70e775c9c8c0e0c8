/**
 * The tokens a serving process starts with, and what the person who started it is told about them: the
 * demo tokens when it made them, how to list or make one when the store already holds some, and that the
 * tokens come from a `.env` file when they do (a `.env` left for compose turns the demo tokens off).
 */
import { SCOPES, UNBOUND_SCOPES, type Scope } from "../domain/token.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log.ts";
import type { TokenStore } from "../ports/tokens.ts";

export interface DemoToken {
  scope: Scope;
  id: string;
  token: string;
}

export type TokenStart = { kind: "demo"; tokens: DemoToken[] } | { kind: "stored"; count: number } | { kind: "static"; fromDotenv: string[] };

/**
 * Demo mode: with no static token and an empty store, nothing could call the API, so one token per scope
 * is made (but `patrol`: a patrol token is bound to a patrol, made with `acu token create`). They are kept in the store (revocable with `acu token revoke`) and shown once, by tokenBanner.
 */
export async function startTokens(cfg: Config, store: TokenStore, fromDotenv: ReadonlySet<string>): Promise<TokenStart> {
  if (cfg.staticTokens.length > 0) return { kind: "static", fromDotenv: cfg.staticTokens.map((t) => t.variable).filter((v) => fromDotenv.has(v)) };
  const count = (await store.list()).length;
  if (count > 0) return { kind: "stored", count };
  const tokens = [];
  for (const scope of UNBOUND_SCOPES) tokens.push({ scope, ...(await store.create(scope, "demo")) });
  return { kind: "demo", tokens };
}

/** Lines for stderr. The only place a secret is ever printed by the server: the demo tokens, once. */
export function tokenBanner(start: TokenStart, url: string | null, dotenvFiles: string[]): string[] {
  if (start.kind === "demo") {
    const viewer = start.tokens.find((d) => d.scope === "viewer");
    return [
      "demo mode: no token was configured, so one token per scope was created and is shown this once",
      "(kept as digests in the token store; `acu token list`, `acu token revoke <id>`):",
      ...start.tokens.map((d) => `  ${d.scope.padEnd(9)}${d.token}  (id ${d.id})`),
      ...(url && viewer ? [`dashboard: ${url}/#token=${viewer.token}`] : []),
    ];
  }
  if (start.kind === "stored")
    return [
      `tokens: none is configured; the token store holds ${start.count} made earlier (a secret is shown only when it is made):`,
      "  list them:  acu token list",
      `  make one:   acu token create --scope viewer   (scopes: ${SCOPES.join(", ")})`,
    ];
  if (start.fromDotenv.length === 0) return [];
  const them = start.fromDotenv.join(", ");
  return [
    `tokens: ${them} ${start.fromDotenv.length === 1 ? "comes" : "come"} from ${dotenvFiles.join(", ")} (left there for docker compose?), so no demo tokens were made: the API takes only those. Move the file away for demo tokens; acu config shows where each setting comes from.`,
  ];
}

export function logTokenStart(start: TokenStart, log: Logger): void {
  if (start.kind === "demo") log.info("demo mode: one token per scope created", { tokenIds: start.tokens.map((d) => d.id) });
  else if (start.kind === "stored") log.info("tokens: none configured; using the token store's", { tokens: start.count });
  else if (start.fromDotenv.length > 0) log.warn("tokens: static tokens come from a .env file", { variables: start.fromDotenv });
}
