import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PgliteWarehouse } from "../adapters/embedded/pglite-warehouse.ts";
import { MIGRATIONS, migrate, splitSqlStatements } from "./migrate.ts";

const TIMEOUT_MS = 30000;

let dir: string;
let w: PgliteWarehouse;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "acu-migrate-"));
  w = await PgliteWarehouse.open(join(dir, "pg"));
}, TIMEOUT_MS);

afterAll(async () => {
  await w.close();
  await rm(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

test(
  "the SQL files are embedded as text",
  () => {
    expect(MIGRATIONS.length).toBeGreaterThan(0);
    expect(MIGRATIONS[0]!.sql).toContain("CREATE TABLE exercise_totals");
  },
  TIMEOUT_MS,
);

test(
  "migrate creates every table once and records the version; a second migrate is a no-op",
  async () => {
    await migrate(w);
    await migrate(w);
    const tables = (await w.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).map(
      (r) => r.t,
    );
    expect(tables).toEqual([
      "analyzer_runs",
      "analyzer_settings",
      "cell_histogram",
      "cell_trend_histogram",
      "exercise_totals",
      "incident_totals",
      "lake_files_counted",
      "partial_cell_histogram",
      "partial_cell_trend_histogram",
      "partial_exercise_totals",
      "partial_incident_totals",
      "partial_region_histogram",
      "partial_response_histogram",
      "partial_trend_histogram",
      "region_histogram",
      "response_histogram",
      "schema_migrations",
      "threshold_changes",
      "trend_histogram",
    ]);
    expect(await w.query(`SELECT version, name FROM schema_migrations ORDER BY version`)).toEqual([
      { version: 1, name: "001_init" },
      { version: 2, name: "002_response_times" },
      { version: 3, name: "003_trends" },
    ]);
  },
  TIMEOUT_MS,
);

test(
  "a failing migration is rolled back whole and not recorded",
  async () => {
    const bad = { version: 99, name: "099_bad", sql: "CREATE TABLE half_done (x int);\nSELECT no_such_function();" };
    await expect(migrate(w, [...MIGRATIONS, bad])).rejects.toThrow(/099_bad/);
    expect(await w.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`)).toEqual([]);
    expect(await w.query(`SELECT version FROM schema_migrations WHERE version = 99`)).toEqual([]);
  },
  TIMEOUT_MS,
);

test(
  "concurrent migrate calls apply each migration once",
  async () => {
    const other = await PgliteWarehouse.open(join(dir, "pg2"));
    try {
      await Promise.all([migrate(other), migrate(other), migrate(other)]);
      expect(await other.query(`SELECT count(*)::int AS n FROM schema_migrations`)).toEqual([{ n: MIGRATIONS.length }]);
    } finally {
      await other.close();
    }
  },
  TIMEOUT_MS,
);

test(
  "a warehouse at version 1 (before the response times) is brought up to date, its data kept",
  async () => {
    const old = await PgliteWarehouse.open(join(dir, "pg-v1"));
    try {
      await migrate(old, MIGRATIONS.slice(0, 1));
      await old.query(`INSERT INTO exercise_totals (exercise_id, reports, score_sum) VALUES ('ex', 3, 150)`);
      await migrate(old);
      expect(await old.query(`SELECT version FROM schema_migrations ORDER BY version`)).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
      expect(await old.query(`SELECT exercise_id, reports::int AS reports FROM exercise_totals`)).toEqual([{ exercise_id: "ex", reports: 3 }]);
      expect(await old.query(`SELECT count(*)::int AS n FROM response_histogram`)).toEqual([{ n: 0 }]);
      await expect(old.query(`INSERT INTO response_histogram (region, step, seconds, incidents) VALUES ('Bretagne', 'arrive', 1, 1)`)).rejects.toThrow();
    } finally {
      await old.close();
    }
  },
  TIMEOUT_MS,
);

test(
  "splitSqlStatements respects comments, quotes and dollar quoting",
  () => {
    const s = splitSqlStatements(`
    -- a comment; with a semicolon
    CREATE TABLE a (x text DEFAULT 'a;b');
    /* block; comment */
    INSERT INTO a VALUES ('it''s; fine');
    CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
    SELECT "odd;name" FROM a;
    -- trailing comment only
  `);
    expect(s.length).toBe(4);
    expect(s[0]).toContain("DEFAULT 'a;b'");
    expect(s[1]).toContain("'it''s; fine'");
    expect(s[2]).toContain("$$ SELECT 1; $$");
    expect(s[3]).toContain(`"odd;name"`);
  },
  TIMEOUT_MS,
);
