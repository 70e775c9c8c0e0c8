/** `acu --help`, written from the command table and the configuration's sections. */
import { SECTIONS } from "../config/index.ts";
import type { Setting } from "../config/setting.ts";
import { COMMANDS, type Command } from "./commands.ts";

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

function commandHelp(c: Command): string {
  const flags = c.flags.map((f) => `      ${pad(f.flag, 12)}${f.help}${f.default ? ` [${f.default}]` : ""}`);
  return [`  acu ${c.usage}`, `      ${c.summary}`, ...flags].join("\n");
}

export function settingLine(s: Setting): string {
  return `  ${pad(s.env ?? "", 24)}${pad(s.flag ?? "", 14)}${s.help} [${s.default}]`;
}

export function help(version: string): string {
  const sections = SECTIONS.map((s) => `${s.title}\n${Object.values(s.settings).map(settingLine).join("\n")}`);
  return `acu ${version} — exam reports in, patrol alerts out, long-term storage and analytics, in one binary.

Usage:
${COMMANDS.map(commandHelp).join("\n")}
  acu --help | --version

Commands that read the configuration (run, analyze, config, token) take its flags; flags override
ACU_* variables (also from a .env file in the working directory), which override defaults. An ACU_*
variable acu does not read is refused. Exit status: 0 done, 1 failed, 2 wrong usage or configuration.

${sections.join("\n\n")}

Signals: SIGTERM/SIGINT stop taking input, finish and commit in-flight work, and exit 0.`;
}
