import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { warehouseContract } from "../../ports/warehouse.contract.ts";
import { migrate } from "../../warehouse/migrate.ts";
import { PostgresWarehouse, maskUrl } from "./postgres-warehouse.ts";

/**
 * Runs against a real PostgreSQL: ACU_DATABASE_URL=postgres://user:password@host:port/db. Each run works
 * in a schema of its own (t_<random>, the connections' search_path), dropped at the end.
 */
const URL_ = process.env.ACU_DATABASE_URL ?? "";
if (!URL_) console.log("postgres-warehouse.test.ts: skipped, ACU_DATABASE_URL is not set (postgres://user:password@host:port/db)");

const TIMEOUT_MS = 30_000;
const SCHEMA = `t_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8).replace(/-/g, "")}`;

test("maskUrl hides the password, in the authority or as a parameter", () => {
  expect(maskUrl("postgres://acu:s3cret@db.example:5432/acu")).toBe("postgres://acu:***@db.example:5432/acu");
  expect(maskUrl("postgres://acu@db:5432/acu?password=s3cret&sslmode=require")).toBe("postgres://acu@db:5432/acu?password=***&sslmode=require");
  expect(maskUrl("postgres://db/acu")).toBe("postgres://db/acu");
  expect(maskUrl("postgres://acu:pw@[bad/acu")).toBe("postgres://acu:***@[bad/acu");
});

describe.skipIf(!URL_)("PostgreSQL warehouse", () => {
  let admin: postgres.Sql;
  const opened: PostgresWarehouse[] = [];
  const open = async (opts: { max?: number; connection?: Record<string, string> } = {}) => {
    const w = await PostgresWarehouse.open(URL_, { ...opts, connection: { search_path: SCHEMA, ...opts.connection } });
    opened.push(w);
    return w;
  };

  beforeAll(async () => {
    admin = postgres(URL_, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE SCHEMA ${SCHEMA}`);
  }, TIMEOUT_MS);

  afterAll(async () => {
    for (const w of opened) await w.close().catch(() => {});
    await admin.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end({ timeout: 5 });
  }, TIMEOUT_MS);

  warehouseContract("postgres", () => open());

  test(
    "engine name; the migrations land in the run's own schema, unchanged",
    async () => {
      const w = await open();
      expect(w.engine).toBe("postgres");
      await migrate(w);
      await migrate(w);
      const tables = (await w.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [SCHEMA])).map(
        (r) => r.t,
      );
      expect(tables).toEqual(
        expect.arrayContaining([
          "analyzer_runs",
          "cell_histogram",
          "exercise_totals",
          "region_histogram",
          "response_histogram",
          "incident_totals",
          "trend_histogram",
          "cell_trend_histogram",
          "threshold_changes",
          "schema_migrations",
        ]),
      );
      expect(await w.query(`SELECT version, name FROM schema_migrations ORDER BY version`)).toEqual([
        { version: 1, name: "001_init" },
        { version: 2, name: "002_response_times" },
        { version: 3, name: "003_trends" },
      ]);
    },
    TIMEOUT_MS,
  );

  test(
    "callers run in parallel: a query does not wait for a running transaction, nor see its writes",
    async () => {
      const w = await open();
      await w.query(`CREATE TABLE par (k text PRIMARY KEY, n bigint NOT NULL)`);
      await w.query(`INSERT INTO par VALUES ('b', 2)`);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = w.transaction(async (t) => {
        await t.query(`UPDATE par SET n = 100 WHERE k = 'b'`);
        await gate;
        await t.query(`UPDATE par SET n = 200 WHERE k = 'b'`);
      });
      await Bun.sleep(20);
      expect(await w.query(`SELECT n FROM par WHERE k = 'b'`)).toEqual([{ n: 2 }]);
      release();
      await tx;
      expect(await w.query(`SELECT n FROM par WHERE k = 'b'`)).toEqual([{ n: 200 }]);
    },
    TIMEOUT_MS,
  );

  test(
    "with a pool of one connection, concurrent transactions and queries queue and all complete",
    async () => {
      const w = await open({ max: 1 });
      await w.query(`CREATE TABLE one (n bigint NOT NULL)`);
      await w.query(`INSERT INTO one VALUES (0)`);
      await Promise.all([
        ...Array.from({ length: 10 }, () =>
          w.transaction(async (t) => {
            const [r] = await t.query<{ n: number }>(`SELECT n FROM one`);
            await t.query(`UPDATE one SET n = $1`, [r!.n + 1]);
          }),
        ),
        ...Array.from({ length: 10 }, () => w.query(`SELECT n FROM one`)),
      ]);
      expect(await w.query(`SELECT n FROM one`)).toEqual([{ n: 10 }]);
      // The outer runner inside a callback would wait forever for the one connection: it fails at once.
      await expect(w.transaction(async () => w.query(`SELECT 1`))).rejects.toThrow(/inside a transaction/);
    },
    TIMEOUT_MS,
  );

  test(
    "SQL errors pass through as the server reports them",
    async () => {
      const w = await open();
      await expect(w.query(`SELECT * FROM no_such_table`)).rejects.toThrow(/relation "no_such_table" does not exist/);
      await expect(w.query(`SELECT 1; SELECT 2`)).rejects.toThrow(/multiple commands/);
      const e = (await w.query(`SELECT 1/0`).catch((x: unknown) => x)) as { code?: string; message: string };
      expect(e).toMatchObject({ code: "22012" });
      expect(e.message).not.toContain("postgres warehouse");
    },
    TIMEOUT_MS,
  );

  test(
    "a connection killed by the server fails the running statement clearly; the next ones run on a new connection",
    async () => {
      const app = `acu-test-${crypto.randomUUID().slice(0, 8)}`;
      const w = await open({ max: 1, connection: { application_name: app } });
      await w.query(`CREATE TABLE killed (x int)`);
      const kill = async () => {
        const running = w.query(`SELECT pg_sleep(5)`).then(
          () => new Error("the statement survived the kill"),
          (e: unknown) => e as Error,
        );
        await Bun.sleep(200);
        await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
        const err = await running;
        expect(err).toBeInstanceOf(Error);
        expect(err.message).toContain(`postgres warehouse ${maskUrl(URL_)}: query failed: `);
        expect(err.message).toMatch(/closed|ECONNRESET|terminat/);
      };
      // postgres.js hands the dead connection's FATAL error to the next statement before sending it: the
      // adapter sends that statement again, so it runs exactly once.
      await kill();
      expect(await w.query(`INSERT INTO killed VALUES (1) RETURNING x`)).toEqual([{ x: 1 }]);
      await kill();
      expect(await w.transaction((tx) => tx.query(`INSERT INTO killed VALUES (2) RETURNING x`))).toEqual([{ x: 2 }]);
      expect(await w.query(`SELECT x FROM killed ORDER BY x`)).toEqual([{ x: 1 }, { x: 2 }]);
    },
    TIMEOUT_MS,
  );

  test(
    "a connection the server dropped while idle: the next statements fail clearly or run, none hangs",
    async () => {
      const app = `acu-test-${crypto.randomUUID().slice(0, 8)}`;
      const w = await open({ max: 1, connection: { application_name: app } });
      const settle = (p: Promise<unknown>) =>
        Promise.race([
          p.then(
            () => "ran",
            (e: unknown) => (e as Error).message,
          ),
          Bun.sleep(5000).then(() => "hung"),
        ]);
      for (let i = 0; i < 4; i++) {
        await w.query(`SELECT 1`);
        await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
        if (i % 2 === 1) await Bun.sleep(50); // also when the client has noticed the close before the next statement
        const [a, b] = await Promise.all([settle(w.query(`SELECT 1`)), settle(w.query(`SELECT 2`))]);
        for (const r of [a, b]) expect(r === "ran" || r.startsWith(`postgres warehouse ${maskUrl(URL_)}: query failed: `)).toBe(true);
        expect(await settle(w.query(`SELECT 3`))).toBe("ran");
      }
    },
    TIMEOUT_MS,
  );

  test(
    "connection failures say which server (password masked) and what failed",
    async () => {
      const u = new URL(URL_);
      const refused = new URL(URL_);
      refused.port = "1";
      refused.password = "hunter2";
      const e1 = (await PostgresWarehouse.open(refused.toString(), { connectTimeoutS: 3 }).catch((e: unknown) => e)) as Error;
      expect(e1.message).toMatch(/^postgres warehouse postgres:\/\/.*:1\/.*: cannot connect: .*(ECONNREFUSED|refused)/);
      expect(e1.message).toContain("***");
      expect(e1.message).not.toContain("hunter2");

      const noDb = new URL(URL_);
      noDb.pathname = `/no_such_db_${SCHEMA}`;
      const e2 = (await PostgresWarehouse.open(noDb.toString()).catch((e: unknown) => e)) as Error;
      expect(e2.message).toContain("cannot connect");
      expect(e2.message).toContain(`no_such_db_${SCHEMA}`);
      expect(e2.message).toMatch(/does not exist/);

      if (u.password) {
        const badPw = new URL(URL_);
        badPw.password = "wrong-password-123";
        const e3 = await PostgresWarehouse.open(badPw.toString()).catch((e: unknown) => e);
        if (e3 instanceof PostgresWarehouse)
          await e3.close(); // the server trusts this client: no password checked
        else {
          expect((e3 as Error).message).toMatch(/cannot connect: .*password/);
          expect((e3 as Error).message).not.toContain("wrong-password-123");
        }
      }
    },
    TIMEOUT_MS,
  );

  test(
    "a closed warehouse refuses queries clearly",
    async () => {
      const w = await open();
      await w.close();
      await expect(w.query(`SELECT 1`)).rejects.toThrow(/closed/);
    },
    TIMEOUT_MS,
  );
});
