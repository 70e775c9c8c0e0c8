/** `acu config [--json]`: each setting, its value and where it came from, and the engines; secrets masked. */
import { describeConfig, SECTIONS, type Resolved, type SettingOrigin } from "../config/index.ts";
import type { DotenvFiles } from "../config/dotenv.ts";

const nameOf = (o: SettingOrigin) => o.setting.env ?? o.setting.flag!;

function settingRow(o: SettingOrigin): string {
  const s = o.setting;
  const value = o.shown ?? s.default;
  return `  ${(s.env ?? "").padEnd(24)}${(s.flag ?? "").padEnd(14)}${o.origin.padEnd(10)}${value}`;
}

/** Which settings came from `.env`, and what that means for tokens; empty when none did. */
export function dotenvNotice(r: Resolved, dotenv: DotenvFiles): string[] {
  const fromFile = r.origins.filter((o) => o.origin === ".env").map(nameOf);
  if (fromFile.length === 0) return [];
  const lines = [
    `${fromFile.join(", ")} ${fromFile.length === 1 ? "comes" : "come"} from ${dotenv.files.join(", ")} (Bun loads .env files from the working directory)`,
  ];
  const tokens = r.config.staticTokens.filter((t) => fromFile.includes(t.variable)).map((t) => t.variable);
  if (tokens.length > 0) lines.push(`static tokens (${tokens.join(", ")}) from that file turn the demo tokens off; the API takes those tokens`);
  return lines;
}

export function configReport(r: Resolved, engines: Record<string, string>, dotenv: DotenvFiles): string {
  const bySetting = new Map(r.origins.map((o) => [o.setting, o]));
  const sections = SECTIONS.map((s) => [s.title, ...Object.values(s.settings).map((setting) => settingRow(bySetting.get(setting)!))].join("\n"));
  const engineLines = Object.entries(engines).map(([name, d]) => `  ${name.padEnd(12)}${d}`);
  const notice = dotenvNotice(r, dotenv).map((l) => `note: ${l}`);
  return [...sections, ["Engines", ...engineLines].join("\n"), ...(notice.length ? [notice.join("\n")] : [])].join("\n\n");
}

export function configJson(r: Resolved, engines: Record<string, string>): string {
  const origins = Object.fromEntries(r.origins.map((o) => [nameOf(o), o.origin]));
  return JSON.stringify({ ...describeConfig(r.config, engines), origins }, null, 2);
}
