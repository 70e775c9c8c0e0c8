import type { SqlRunner, Warehouse } from "../ports/warehouse.ts";
// Imported as text so `bun build --compile` embeds the SQL in the binary.
import init from "./migrations/001_init.sql" with { type: "text" };
import responseTimes from "./migrations/002_response_times.sql" with { type: "text" };
import trends from "./migrations/003_trends.sql" with { type: "text" };

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** In order. Never edit an applied migration: add a new one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "001_init", sql: init },
  { version: 2, name: "002_response_times", sql: responseTimes },
  { version: 3, name: "003_trends", sql: trends },
];

/** Serialises migrators (several processes starting at once against one PostgreSQL). */
const MIGRATION_LOCK = 7_263_001;

/**
 * Brings the warehouse schema up to date: each migration not yet in schema_migrations runs in its own
 * transaction together with the row that records it, so it is applied exactly once or not at all.
 */
export async function migrate(w: Warehouse, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  await w.transaction(async (tx) => {
    await lock(tx);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
  });
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    await w.transaction(async (tx) => {
      await lock(tx);
      const done = await tx.query("SELECT 1 AS done FROM schema_migrations WHERE version = $1", [m.version]);
      if (done.length > 0) return;
      for (const statement of splitSqlStatements(m.sql)) {
        try {
          await tx.query(statement);
        } catch (e) {
          throw new Error(`migration ${m.name} failed: ${(e as Error).message}\n${statement}`, { cause: e });
        }
      }
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
    });
  }
}

async function lock(tx: SqlRunner): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
}

/**
 * Splits a script into statements (drivers run one statement per extended-protocol query). Knows
 * `--` and block comments, quoted strings and identifiers, and dollar quoting; drops empty statements.
 */
export function splitSqlStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number) => {
    const s = script.slice(start, end).trim();
    if (stripComments(s).trim() !== "") out.push(s);
  };
  while (i < n) {
    const c = script[i]!;
    if (c === "-" && script[i + 1] === "-") {
      const nl = script.indexOf("\n", i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === "/" && script[i + 1] === "*") {
      const end = script.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n) {
        if (script[j] === c) {
          if (script[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      i = j + 1;
    } else if (c === "$") {
      const m = /^\$[A-Za-z_]*\$/.exec(script.slice(i));
      if (m) {
        const end = script.indexOf(m[0], i + m[0].length);
        i = end === -1 ? n : end + m[0].length;
      } else i++;
    } else if (c === ";") {
      push(i);
      start = i + 1;
      i++;
    } else i++;
  }
  push(n);
  return out;
}

function stripComments(s: string): string {
  return s.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
}
