/**
 * docs/configuration.md, written from the configuration's sections and the command table
 * (`bun run scripts/gen-config-doc.ts`); config-doc.test.ts fails when the committed file drifts.
 */
import { SECTIONS } from "../config/index.ts";
import type { Setting } from "../config/setting.ts";
import { NOT_ACU_VARIABLES } from "../config/variables.ts";
import { COMMANDS, type Command } from "./commands.ts";

const cell = (s: string) => s.replace(/\|/g, "\\|");
const code = (s: string) => `\`${s}\``;

function defaultCell(d: string): string {
  if (d === "-") return "—";
  return d.startsWith("(") ? cell(d.slice(1, -1)) : code(cell(d));
}

function settingRow(s: Setting): string {
  return `| ${s.env ? code(s.env) : "—"} | ${s.flag ? code(s.flag) : ""} | ${defaultCell(s.default)} | ${cell(s.help)} |`;
}

function commandDoc(c: Command): string {
  const rows = c.flags.map((f) => `| ${code(f.flag)} | ${f.default ? defaultCell(f.default) : "—"} | ${cell(f.help)} |`);
  const table = rows.length ? ["", "| flag | default | meaning |", "|---|---|---|", ...rows] : [];
  return [`### acu ${c.name === "run" ? "" : c.name}`.trimEnd(), "", "```", `acu ${c.usage}`, "```", "", c.summary, ...table].join("\n");
}

const INTRO = `# Configuration

<!-- Generated from src/config/ and src/cli/commands.ts by \`bun run scripts/gen-config-doc.ts\`; edit those, not this file. -->

Flags override \`ACU_*\` variables, which override defaults. \`acu --help\` prints the same list;
\`acu config\` prints each setting's value and where it came from (\`flag\`, \`variable\`, \`.env\`,
\`default\`), and the engine each port uses, secrets masked.

Bun loads \`.env\` (and \`.env.<NODE_ENV>\`, \`.env.local\`) from the working directory before acu starts; a
variable set when the process starts wins over the file. acu reads the same files to know which values
came from them: \`acu config\` marks them \`.env\`, and a start whose tokens come from one says so (a \`.env\`
left beside \`compose.yaml\` holds the static tokens, which turn the demo tokens off).

An \`ACU_*\` variable acu does not read is refused with the nearest name it does read
(\`ACU_KAFKA_BROKER=x acu config\` → \`did you mean ACU_KAFKA_BROKERS?\`), except the variables of the
scripts and tests listed at the end. Exit status: \`0\` done, \`1\` failed at run time (a port in use,
an engine unreachable, an analyzer run that failed), \`2\` wrong usage or configuration (an unknown
command or flag, a bad value), before anything starts.`;

export function configDoc(): string {
  const sections = SECTIONS.map((s) =>
    [
      `## ${s.title}`,
      "",
      "| variable | flag | default | meaning |",
      "|---|---|---|---|",
      ...Object.values(s.settings).map(settingRow),
      ...(s.notes ?? []).flatMap((n) => ["", n]),
    ].join("\n"),
  );
  const notAcu = Object.entries(NOT_ACU_VARIABLES).map(([who, names]) => `- ${who}: ${names.map(code).join(", ")}`);
  return `${[
    INTRO,
    ...sections,
    ["## Commands", ...COMMANDS.map(commandDoc)].join("\n\n"),
    ["## Variables acu does not read", "", "Read by the tools of this repository; acu lets them pass.", "", ...notAcu].join("\n"),
  ].join("\n\n")}\n`;
}
