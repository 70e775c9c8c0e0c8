/**
 * The tokens a serving process starts with, and what the person who started it is told about them: the
 * demo tokens when it made them, how to list or make one when the store already holds some, and that the
 * tokens come from a `.env` file when they do (a `.env` left for compose turns the demo tokens off).
 */
import { isIP } from "node:net";
import { SCOPES, UNBOUND_SCOPES, type Scope } from "../domain/token.ts";
import { ConfigError, ENGINES, type Config } from "../config/index.ts";
import type { Logger } from "../log.ts";
import type { TokenStore } from "../ports/tokens.ts";

export interface DemoToken {
  scope: Scope;
  id: string;
  token: string;
}

export type TokenStart =
  | { kind: "demo"; tokens: DemoToken[]; warning: string | null }
  | { kind: "stored"; count: number }
  | { kind: "static"; fromDotenv: string[] };

/**
 * Demo mode: with no static token and an empty store, nothing could call the API, so one token per scope
 * is made (but `patrol`: a patrol token is bound to a patrol, made with `acu token create`). They are kept in the store (revocable with `acu token revoke`) and shown once, by tokenBanner.
 * Only on a laptop (demoPlace): elsewhere the printed tokens would open a shared deployment to whoever
 * reads its log, so the start is refused unless ACU_DEMO=1 says it out loud.
 */
export async function startTokens(cfg: Config, store: TokenStore, fromDotenv: ReadonlySet<string>): Promise<TokenStart> {
  if (cfg.staticTokens.length > 0) return { kind: "static", fromDotenv: cfg.staticTokens.map((t) => t.variable).filter((v) => fromDotenv.has(v)) };
  const count = (await store.list()).length;
  if (count > 0) return { kind: "stored", count };
  const notLaptop = demoPlace(cfg);
  if (notLaptop && !cfg.demo)
    throw new ConfigError(
      `no token is configured and the token store is empty, and demo mode (tokens made and printed in the log) runs only with the embedded engines on a loopback host, not ${notLaptop}. Set ACU_INGEST_TOKEN, ACU_OPERATOR_TOKEN and ACU_VIEWER_TOKEN (e.g. in .env), make one with \`acu token create --scope operator\`, or set ACU_DEMO=1 to make and print demo tokens anyway`,
    );
  const tokens = [];
  for (const scope of UNBOUND_SCOPES) tokens.push({ scope, ...(await store.create(scope, "demo")) });
  return { kind: "demo", tokens, warning: notLaptop };
}

/** Why this process is no laptop demo (a non-loopback host, shared engines), or null when it is one. */
export function demoPlace(cfg: Config): string | null {
  const why = [];
  if (!isLoopbackHost(cfg.host)) why.push(`on host ${cfg.host}`);
  const shared = ENGINES.filter((e) => e.shared(cfg) !== null).map((e) => e.name);
  if (shared.length > 0) why.push(`with shared engines (${shared.join(", ")})`);
  return why.length > 0 ? why.join(" and ") : null;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
}

/** Lines for stderr. The only place a secret is ever printed by the server: the demo tokens, once. */
export function tokenBanner(start: TokenStart, url: string | null, dotenvFiles: string[]): string[] {
  if (start.kind === "demo") {
    const viewer = start.tokens.find((d) => d.scope === "viewer");
    return [
      ...(start.warning ? [demoWarning(start.warning)] : []),
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

function demoWarning(where: string): string {
  return `WARNING: demo mode ${where} (ACU_DEMO=1): the tokens below open this API to whoever reads this output; set static tokens for anything but a trial`;
}

export function logTokenStart(start: TokenStart, log: Logger): void {
  if (start.kind === "demo" && start.warning) log.warn(demoWarning(start.warning), { tokenIds: start.tokens.map((d) => d.id) });
  else if (start.kind === "demo") log.info("demo mode: one token per scope created", { tokenIds: start.tokens.map((d) => d.id) });
  else if (start.kind === "stored") log.info("tokens: none configured; using the token store's", { tokens: start.count });
  else if (start.fromDotenv.length > 0) log.warn("tokens: static tokens come from a .env file", { variables: start.fromDotenv });
}
