import { afterAll, expect, test } from "bun:test";
import { MIGRATIONS, migrate } from "../warehouse/migrate.ts";
import type { Warehouse } from "./warehouse.ts";

/**
 * Behaviour every Warehouse adapter must have. `open` returns a new client, of one shared database or of a
 * fresh one each time: each test uses one client, runs the migrations or creates tables named contract_*
 * with a random suffix, and assumes nothing else about what is there. Adapters differ
 * in concurrency (PGlite runs callers one at a time, a server in parallel): the suite asks only what holds
 * for both — atomic transactions, no lost updates under row or advisory locks, no dirty reads.
 */
/** A client of a shared single-session warehouse (PGlite): closing it closes the view only, as a server's client would. */
export function sharedView(w: Warehouse): Warehouse {
  let closed = false;
  return {
    engine: w.engine,
    query: (sql, params) => w.query(sql, params),
    transaction: (fn) => w.transaction(fn),
    ping: () => (closed ? Promise.reject(new Error("this view is closed")) : w.ping()),
    close: async () => {
      closed = true;
    },
  };
}

export function warehouseContract(name: string, open: () => Promise<Warehouse>, opts: { timeoutMs?: number } = {}) {
  const TIMEOUT_MS = opts.timeoutMs ?? 30_000;
  const opened: Warehouse[] = [];
  const fresh = async () => {
    const w = await open();
    opened.push(w);
    return w;
  };
  afterAll(async () => {
    for (const w of opened) await w.close().catch(() => {});
  }, TIMEOUT_MS);
  const table = (what: string) => `contract_${what}_${crypto.randomUUID().slice(0, 8)}`;

  test(
    `${name}: migrations apply, are recorded once, and applying them again (even concurrently) is a no-op`,
    async () => {
      const w = await fresh();
      await migrate(w);
      await Promise.all([migrate(w), migrate(w), migrate(w)]);
      const tables = [
        "analyzer_runs",
        "analyzer_settings",
        "cell_histogram",
        "exercise_totals",
        "incident_totals",
        "lake_files_counted",
        "partial_cell_histogram",
        "partial_exercise_totals",
        "partial_incident_totals",
        "partial_region_histogram",
        "partial_response_histogram",
        "region_histogram",
        "response_histogram",
        "schema_migrations",
      ];
      const found = await w.query<{ t: string; ok: boolean }>(`SELECT u.t, to_regclass(u.t) IS NOT NULL AS ok FROM unnest($1::text[]) AS u(t) ORDER BY 1`, [
        tables,
      ]);
      expect(found).toEqual(tables.map((t) => ({ t, ok: true })));
      expect(await w.query(`SELECT version, name FROM schema_migrations ORDER BY version`)).toEqual(
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: a failing migration is rolled back whole and not recorded`,
    async () => {
      const w = await fresh();
      const half = table("half_done");
      const bad = { version: 990_001, name: "990001_bad", sql: `CREATE TABLE ${half} (x int);\nSELECT no_such_function();` };
      await expect(migrate(w, [...MIGRATIONS, bad])).rejects.toThrow(/990001_bad/);
      expect(await w.query(`SELECT to_regclass($1) IS NULL AS gone`, [half])).toEqual([{ gone: true }]);
      expect(await w.query(`SELECT version FROM schema_migrations WHERE version = $1`, [bad.version])).toEqual([]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: parameterised queries return plain arrays of plain rows`,
    async () => {
      const w = await fresh();
      const t = table("rows");
      await w.query(`CREATE TABLE ${t} (k text PRIMARY KEY, n bigint NOT NULL)`);
      expect(await w.query(`INSERT INTO ${t} (k, n) VALUES ($1, $2), ($3, $4)`, ["a", 1, "b", 2])).toEqual([]);
      const rows = await w.query<{ k: string; n: number }>(`SELECT k, n FROM ${t} ORDER BY k`);
      expect(rows).toEqual([
        { k: "a", n: 1 },
        { k: "b", n: 2 },
      ]);
      expect(Object.getPrototypeOf(rows)).toBe(Array.prototype);
      expect(Object.keys(rows)).toEqual(["0", "1"]);
      expect(await w.query(`UPDATE ${t} SET n = n + 1 RETURNING k`)).toHaveLength(2);
      expect(await w.query(`SELECT k FROM ${t} WHERE k = ANY($1::text[]) ORDER BY k`, [["b", "zz"]])).toEqual([{ k: "b" }]);
      expect(await w.query(`SELECT u.k FROM unnest($1::text[]) AS u(k)`, [[]])).toEqual([]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: numbers, timestamps and other values come back with the same JS types`,
    async () => {
      const w = await fresh();
      const [r] = await w.query(
        `SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 9007199254740993::int8 AS big, count(*) AS cnt, sum(x) AS sum_int4,
              sum(x::int8) AS sum_int8, avg(x) AS avg, 1.5::numeric AS num, 0.5::float4 AS f4, 0.1::float8 AS f8, 'NaN'::float8 AS nan,
              true AS b, 'x'::text AS t, NULL::int AS nul, '{"a":[1]}'::jsonb AS j, ARRAY[1, 2]::int8[] AS a8, ARRAY['p', 'q'] AS at,
              '2026-11-27T10:11:12.345Z'::timestamptz AS tz, '2026-11-27'::date AS d, 'infinity'::timestamptz AS inf,
              to_char('2026-11-27T10:11:12.345Z'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso,
              $1::timestamptz AS tz_param, $2::int8 AS big_param, $3::float8 AS f_param, $4::text AS null_param, $5::bool AS b_param
       FROM (VALUES (1), (2)) AS v(x)`,
        ["2026-11-27T10:11:12.345Z", 12345678901, 0.25, null, false],
      );
      expect(r).toEqual({
        i2: 1,
        i4: 2,
        i8: 3,
        big: 9007199254740993n,
        cnt: 2,
        sum_int4: 3,
        sum_int8: "3",
        avg: "1.5000000000000000",
        num: "1.5",
        f4: 0.5,
        f8: 0.1,
        nan: NaN,
        b: true,
        t: "x",
        nul: null,
        j: { a: [1] },
        a8: [1, 2],
        at: ["p", "q"],
        tz: new Date("2026-11-27T10:11:12.345Z"),
        d: new Date("2026-11-27T00:00:00.000Z"),
        inf: Infinity,
        iso: "2026-11-27T10:11:12.345Z",
        tz_param: new Date("2026-11-27T10:11:12.345Z"),
        big_param: 12345678901,
        f_param: 0.25,
        null_param: null,
        b_param: false,
      });
      expect(r!.tz).toBeInstanceOf(Date);
      expect(typeof r!.big).toBe("bigint");
      // A Date parameter round-trips, and so does now().
      const [d] = await w.query<{ t: Date; now: Date }>(`SELECT $1::timestamptz AS t, now() AS now`, [new Date("2026-01-02T03:04:05.678Z")]);
      expect(d!.t).toEqual(new Date("2026-01-02T03:04:05.678Z"));
      expect(d!.now).toBeInstanceOf(Date);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: a transaction commits all of its statements and returns the callback's value`,
    async () => {
      const w = await fresh();
      const t = table("commit");
      await w.query(`CREATE TABLE ${t} (k text PRIMARY KEY, n bigint NOT NULL)`);
      await w.query(`INSERT INTO ${t} VALUES ('a', 1), ('b', 2)`);
      const r = await w.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${t} VALUES ('c', 3)`);
        await tx.query(`UPDATE ${t} SET n = n + 10 WHERE k = 'a'`);
        return (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`))[0]!.n;
      });
      expect(r).toBe(3);
      expect(await w.query(`SELECT k, n FROM ${t} ORDER BY k`)).toEqual([
        { k: "a", n: 11 },
        { k: "b", n: 2 },
        { k: "c", n: 3 },
      ]);
      // The value may be rows (an array): it comes back as it is.
      expect(await w.transaction((tx) => tx.query(`SELECT k FROM ${t} WHERE k = 'b'`))).toEqual([{ k: "b" }]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: a transaction whose callback throws, or whose statement fails, changes nothing`,
    async () => {
      const w = await fresh();
      const t = table("rollback");
      await w.query(`CREATE TABLE ${t} (k text PRIMARY KEY)`);
      await expect(
        w.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES ('d')`);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      await expect(
        w.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES ('e')`);
          await tx.query(`INSERT INTO ${t} VALUES ('e')`);
        }),
      ).rejects.toThrow(/duplicate key/);
      // A failed statement whose error the callback swallows: the transaction is aborted, and reported as not committed.
      await expect(
        w.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES ('f')`);
          await tx.query(`SELECT no_such_column FROM ${t}`).catch(() => {});
          return "looks fine";
        }),
      ).rejects.toThrow(/rolled back/);
      expect(await w.query(`SELECT k FROM ${t}`)).toEqual([]);
      // And the warehouse goes on working.
      await w.transaction((tx) => tx.query(`INSERT INTO ${t} VALUES ('g')`));
      expect(await w.query(`SELECT k FROM ${t}`)).toEqual([{ k: "g" }]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: concurrent callers: no dirty reads, no lost updates under row or advisory locks`,
    async () => {
      const w = await fresh();
      const t = table("concurrent");
      await w.query(`CREATE TABLE ${t} (k text PRIMARY KEY, n bigint NOT NULL)`);
      await w.query(`INSERT INTO ${t} VALUES ('b', 2), ('c', 0), ('d', 0)`);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = w.transaction(async (x) => {
        await x.query(`UPDATE ${t} SET n = 100 WHERE k = 'b'`);
        await gate;
        await x.query(`UPDATE ${t} SET n = 200 WHERE k = 'b'`);
      });
      await Bun.sleep(20);
      // PGlite makes this wait for the transaction (200); a server answers at once from the last commit (2). Never 100.
      const q = w.query<{ n: number }>(`SELECT n FROM ${t} WHERE k = 'b'`);
      await Bun.sleep(20);
      release();
      await tx;
      expect([2, 200]).toContain((await q)[0]!.n);
      expect(await w.query(`SELECT n FROM ${t} WHERE k = 'b'`)).toEqual([{ n: 200 }]);

      // Read-modify-write transactions, serialised by a row lock or by a transaction-scoped advisory lock: none lost.
      const lockKey = 7_263_900 + Math.floor(Math.random() * 1000);
      await Promise.all([
        ...Array.from({ length: 20 }, () =>
          w.transaction(async (x) => {
            const [row] = await x.query<{ n: number }>(`SELECT n FROM ${t} WHERE k = 'c' FOR UPDATE`);
            await x.query(`UPDATE ${t} SET n = $1 WHERE k = 'c'`, [row!.n + 1]);
          }),
        ),
        ...Array.from({ length: 20 }, () =>
          w.transaction(async (x) => {
            await x.query(`SELECT pg_advisory_xact_lock($1)`, [lockKey]);
            const [row] = await x.query<{ n: number }>(`SELECT n FROM ${t} WHERE k = 'd'`);
            await x.query(`UPDATE ${t} SET n = $1 WHERE k = 'd'`, [row!.n + 1]);
          }),
        ),
      ]);
      expect(await w.query(`SELECT k, n FROM ${t} WHERE k IN ('c', 'd') ORDER BY k`)).toEqual([
        { k: "c", n: 20 },
        { k: "d", n: 20 },
      ]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: using the outer warehouse inside a transaction callback fails fast instead of hanging`,
    async () => {
      const w = await fresh();
      await expect(w.transaction(async () => w.query(`SELECT 1`))).rejects.toThrow(/inside a transaction/);
      expect(await w.query<{ x: number }>(`SELECT 1 AS x`)).toEqual([{ x: 1 }]);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: VACUUM runs outside a transaction (the analyzer's maintenance)`,
    async () => {
      const w = await fresh();
      const t = table("vacuum");
      await w.query(`CREATE TABLE ${t} (x int)`);
      await w.query(`VACUUM ${t}`);
      await w.query(`VACUUM ANALYZE ${t}`);
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: close() is idempotent`,
    async () => {
      const w = await open();
      await w.close();
      await w.close();
    },
    TIMEOUT_MS,
  );

  test(
    `${name}: ping resolves while the warehouse is open, and rejects once it is closed`,
    async () => {
      const w = await open();
      await w.ping();
      await w.ping();
      await w.close();
      await expect(w.ping()).rejects.toThrow();
    },
    TIMEOUT_MS,
  );
}
