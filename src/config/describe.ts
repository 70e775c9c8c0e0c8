/** How `acu config --json` shows the configuration: secrets masked. */
import { maskUrl } from "../redact.ts";
import type { Config } from "./index.ts";

/** What `acu config --json` prints: the resolved settings, secrets masked. */
export function describeConfig(c: Config, engines: Record<string, string>): Record<string, unknown> {
  const staticTokens = Object.fromEntries(c.staticTokens.map((t) => [t.variable, `**** (${t.scope})`]));
  const kafkaSasl = c.kafkaSasl && { ...c.kafkaSasl, password: "****" };
  const etcdAuth = c.etcdAuth && { ...c.etcdAuth, password: "****" };
  return { ...c, staticTokens, databaseUrl: c.databaseUrl && maskUrl(c.databaseUrl), kafkaSasl, etcdAuth, engines };
}
