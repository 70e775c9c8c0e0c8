import type { Hono } from "hono";
import { memoryLogger, type Logger } from "../../src/log.ts";
import { authenticator } from "./auth.ts";
import { httpApp } from "./server.ts";

/** One static token per scope, for the in-process tests of the route groups; the patrol one acts for TEST_PATROL. */
export const TEST_TOKENS = {
  ingest: "unit-ingest-token-0123456789",
  operator: "unit-operator-token-0123456789",
  viewer: "unit-viewer-token-0123456789",
  patrol: "unit-patrol-token-0123456789",
} as const;
export const TEST_PATROL = "p-1";

/** The authenticator of TEST_TOKENS (ids `env:<scope>`). */
export function testAuthenticator() {
  return authenticator(
    Object.entries(TEST_TOKENS).map(([scope, token]) => ({
      id: `env:${scope}`,
      scope: scope as keyof typeof TEST_TOKENS,
      token,
      ...(scope === "patrol" ? { patrolId: TEST_PATROL } : {}),
    })),
    null,
  );
}

/**
 * The whole HTTP pipeline (access log, headers, scope check, groups) around some route groups, without a
 * port: `call()` goes through `app.request()`. The logger keeps every line for assertions.
 */
// biome-ignore lint/suspicious/noExplicitAny: route groups differ in their Env (AuthEnv, BlankEnv) and Hono's types are invariant in it
export function testApp(groups: (log: Logger) => Hono<any>[]) {
  const log = memoryLogger();
  const routes = groups(log);
  const app = httpApp({ routes, auth: testAuthenticator(), log });
  const call = (method: string, path: string, o: { token?: keyof typeof TEST_TOKENS | null; body?: unknown; headers?: Record<string, string> } = {}) =>
    app.request(path, {
      method,
      headers: { ...(o.token === null ? {} : { authorization: `Bearer ${TEST_TOKENS[o.token ?? "operator"]}` }), ...o.headers },
      body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    });
  return { app, log, call };
}
