/** Bearer tokens set in the environment, one per scope. */
import type { Scope } from "../domain/token.ts";
import { MIN_STATIC_TOKEN_BITS, MIN_STATIC_TOKEN_LENGTH, staticTokenWeakness, TOKEN_RECIPE } from "../domain/token-strength.ts";
import type { Section } from "./section.ts";
import { ConfigError, type Setting, type SettingValues } from "./setting.ts";

export interface StaticToken {
  /** The variable it came from, named in messages instead of the secret. */
  variable: string;
  scope: Scope;
  token: string;
}

export interface StaticTokensConfig {
  /** Bearer tokens set in the environment (ACU_INGEST_TOKEN, ACU_OPERATOR_TOKEN, ACU_VIEWER_TOKEN, ACU_ADMIN_TOKEN). */
  staticTokens: StaticToken[];
  /** ACU_DEMO=1: demo tokens may be made off loopback or beside shared engines (see src/cli/start-tokens.ts). */
  demo: boolean;
}

const tokenSettings = {
  ingest: {
    env: "ACU_INGEST_TOKEN",
    default: "(none)",
    secret: true,
    help: `static token of scope \`ingest\` (\`POST /api/reports\`; what \`acu signal\` sends), ≥ ${MIN_STATIC_TOKEN_LENGTH} random printable characters`,
  },
  operator: {
    env: "ACU_OPERATOR_TOKEN",
    default: "(none)",
    secret: true,
    help: "static token of scope `operator` (threshold changes, analyzer runs, and every viewer call)",
  },
  viewer: { env: "ACU_VIEWER_TOKEN", default: "(none)", secret: true, help: "static token of scope `viewer` (analytics, alerts, thresholds, live stream)" },
  admin: { env: "ACU_ADMIN_TOKEN", default: "(none)", secret: true, help: "deprecated alias of `ACU_OPERATOR_TOKEN`, still accepted" },
  demo: {
    env: "ACU_DEMO",
    default: "0",
    help: "`1`: allow demo mode (tokens made and printed at start) off loopback or beside shared engines, with a warning; `0`: only with the embedded engines on a loopback host",
  },
} satisfies Record<string, Setting>;

// The alias comes after the operator token: holding the same value, it is that token, not a second one.
const TOKEN_VARS: Array<[Setting, Scope]> = [
  [tokenSettings.ingest, "ingest"],
  [tokenSettings.operator, "operator"],
  [tokenSettings.admin, "operator"],
  [tokenSettings.viewer, "viewer"],
];

/**
 * Static tokens: each set one is printable ASCII (it travels in a header and a subprotocol), and no
 * placeholder, published example or guessable string (see staticTokenWeakness).
 */
function staticTokens(v: SettingValues): StaticToken[] {
  const out: StaticToken[] = [];
  for (const [setting, scope] of TOKEN_VARS) {
    const variable = setting.env!;
    const token = v.raw(setting);
    if (token === undefined || token === "") continue;
    if (!/^[\x21-\x7e]+$/.test(token) || /[,;"\\]/.test(token))
      throw new ConfigError(`${variable} may hold only printable ASCII without spaces, commas, semicolons, quotes or backslashes`);
    const weakness = staticTokenWeakness(token);
    if (weakness) throw new ConfigError(`${variable} ${weakness}: set a random token, e.g. \`${TOKEN_RECIPE}\`, or leave it unset`);
    // The deprecated alias holding the same value as ACU_OPERATOR_TOKEN is one token, not two.
    if (!out.some((t) => t.token === token && t.scope === scope)) out.push({ variable, scope, token });
  }
  for (const a of out)
    for (const b of out)
      if (a.token === b.token && a.scope !== b.scope) throw new ConfigError(`${a.variable} and ${b.variable} hold the same token; each scope needs its own`);
  return out;
}

function demoFlag(raw: string | undefined): boolean {
  if (raw === undefined || raw === "" || raw === "0") return false;
  if (raw === "1") return true;
  throw new ConfigError(`ACU_DEMO must be 0 or 1, not "${raw}"`);
}

export const staticTokensSection: Section<StaticTokensConfig> = {
  title: "Tokens",
  settings: tokenSettings,
  read: (v) => ({ staticTokens: staticTokens(v), demo: demoFlag(v.raw(tokenSettings.demo)) }),
  notes: [
    `Each static token variable that is set must hold printable ASCII (no spaces, commas, semicolons, quotes or backslashes: it travels in a header and a WebSocket subprotocol), and two scopes may not share one value. It must also be a real secret: not a placeholder (\`change-me…\`, \`<…>\`, \`…\`, \`example\`, \`your-token\`), not a token printed in acu's own files, at least ${MIN_STATIC_TOKEN_LENGTH} characters, and at least ${MIN_STATIC_TOKEN_BITS} bits of estimated entropy (repeated runs, sequences such as \`abcd…\` or \`0123…\` and a small alphabet score low; 32 random hex characters are exactly at the bar, 64 clear it). Otherwise acu refuses to start, naming the variable and the reason. Make each with \`${TOKEN_RECIPE}\` (43 characters, 256 bits). The estimate does not see a guessable phrase: use a random generator.`,
    "With no static token and an empty token store, a process serving HTTP starts in **demo mode**: it creates one token per scope (but `patrol`, which is bound to one patrol: `acu token create --scope patrol --patrol ID`) in the store and prints them once, with the dashboard URL carrying the viewer token (`http://127.0.0.1:8080/#token=…`). Secrets are printed nowhere else; `acu config` masks them. A later start that finds tokens in the store says so and how to list them or make one (`acu token list`, `acu token create --scope viewer`); a start whose tokens come from a `.env` file says that instead.",
    "Demo mode is for a laptop: it runs only when every engine is embedded and the HTTP host is a loopback address (`127.0.0.1`, `::1`, `localhost`). Anywhere else (`--host 0.0.0.0`, a shared etcd, Kafka, …) a start that would make demo tokens is refused, telling to set the static tokens, make one with `acu token create`, or set `ACU_DEMO=1`; with `ACU_DEMO=1` it runs and logs a warning that the printed tokens open the API to whoever reads the log.",
    "The token store is the data dir's `tokens.json` (shared by processes on the same machine: an `acu token` command beside a running server is seen within 1 s), or etcd when `ACU_ETCD_ENDPOINTS` is set (a watch applies changes within milliseconds, a full re-read every 5 s repairs a lost event, and a process that cannot read etcd for 15 s refuses store tokens until it can: a revocation is never missed for longer).",
  ],
};
