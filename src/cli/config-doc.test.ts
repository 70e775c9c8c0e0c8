import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../config/index.ts";
import { COMMANDS } from "./commands.ts";
import { configDoc } from "./config-doc.ts";
import { help } from "./help.ts";

const committed = readFileSync(join(import.meta.dir, "../../docs/configuration.md"), "utf8");
const count = (text: string, s: string) => text.split(s).length - 1;

test("docs/configuration.md is what the settings and commands make (else: bun run scripts/gen-config-doc.ts)", () => {
  expect(committed).toBe(configDoc());
});

test("help and docs name each variable once in their lists, with its flag and default", () => {
  const text = help("0.0.0");
  for (const s of SETTINGS) {
    const name = s.env ?? s.flag!;
    const line = text.split("\n").filter((l) => l.startsWith(`  ${name} `) || (!s.env && l.startsWith(`  ${" ".repeat(24)}${s.flag}`)));
    expect({ name, lines: line.length }).toEqual({ name, lines: 1 });
    expect(line[0]).toContain(`[${s.default}]`);
    if (s.flag) expect(line[0]).toContain(s.flag);
    const rows = committed.split("\n").filter((l) => l.startsWith(`| ${s.env ? `\`${s.env}\`` : "—"} | ${s.flag ? `\`${s.flag}\`` : ""} |`));
    expect({ name, rows: rows.length }).toEqual({ name, rows: 1 });
  }
  // A variable's name appears in help's settings list once (its line), not twice.
  for (const s of SETTINGS)
    if (s.env) expect({ v: s.env, n: count(text.slice(text.indexOf("\nRoles and data\n")), `  ${s.env} `) }).toEqual({ v: s.env, n: 1 });
});

test("help shows every command with its flags", () => {
  const text = help("0.0.0");
  for (const c of COMMANDS) {
    expect(text).toContain(`acu ${c.usage}`);
    for (const f of c.flags) expect(text).toContain(f.flag);
  }
});
