import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PgliteWarehouse } from "./pglite-warehouse.ts";

const TIMEOUT_MS = 30000;

let dir: string;
let w: PgliteWarehouse;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "acu-pglite-"));
  w = await PgliteWarehouse.open(join(dir, "pg"));
  await w.query(`CREATE TABLE t (k text PRIMARY KEY, n bigint NOT NULL)`);
}, TIMEOUT_MS);

afterAll(async () => {
  await w.close();
  await rm(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

test(
  "engine name and parameterised queries returning rows",
  async () => {
    expect(w.engine).toBe("pglite");
    await w.query(`INSERT INTO t (k, n) VALUES ($1, $2), ($3, $4)`, ["a", 1, "b", 2]);
    const rows = await w.query<{ k: string; n: number }>(`SELECT k, n::float8 AS n FROM t ORDER BY k`);
    expect(rows).toEqual([
      { k: "a", n: 1 },
      { k: "b", n: 2 },
    ]);
  },
  TIMEOUT_MS,
);

test(
  "sized for its job, not as a server: 16 MB of shared buffers, PGlite's own start parameters kept",
  async () => {
    const [buffers] = await w.query<{ shared_buffers: string }>(`SHOW shared_buffers`);
    expect(buffers!.shared_buffers).toBe("16MB");
    const [maintenance] = await w.query<{ maintenance_work_mem: string }>(`SHOW maintenance_work_mem`);
    expect(maintenance!.maintenance_work_mem).toBe("16MB");
    // One of PGlite's defaults (replaced, not extended, by startParams had we not spread them).
    const [path] = await w.query<{ search_path: string }>(`SHOW search_path`);
    expect(path!.search_path).toBe("public");
  },
  TIMEOUT_MS,
);

test(
  "a transaction commits all of its statements",
  async () => {
    const r = await w.transaction(async (tx) => {
      await tx.query(`INSERT INTO t VALUES ('c', 3)`);
      await tx.query(`UPDATE t SET n = n + 10 WHERE k = 'a'`);
      return (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM t`))[0]!.n;
    });
    expect(r).toBe(3);
    expect(await w.query(`SELECT n::int AS n FROM t WHERE k = 'a'`)).toEqual([{ n: 11 }]);
  },
  TIMEOUT_MS,
);

test(
  "a transaction that throws changes nothing",
  async () => {
    await expect(
      w.transaction(async (tx) => {
        await tx.query(`INSERT INTO t VALUES ('d', 4)`);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(
      w.transaction(async (tx) => {
        await tx.query(`INSERT INTO t VALUES ('e', 5)`);
        await tx.query(`INSERT INTO t VALUES ('e', 5)`); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await w.query(`SELECT k FROM t WHERE k IN ('d', 'e')`)).toEqual([]);
  },
  TIMEOUT_MS,
);

test(
  "concurrent callers are serialised: a query waits for a running transaction",
  async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = w.transaction(async (t) => {
      await t.query(`UPDATE t SET n = 100 WHERE k = 'b'`);
      await gate;
      await t.query(`UPDATE t SET n = 200 WHERE k = 'b'`);
    });
    await Bun.sleep(20);
    const q = w.query<{ n: number }>(`SELECT n::int AS n FROM t WHERE k = 'b'`);
    release();
    await tx;
    expect(await q).toEqual([{ n: 200 }]);
    // Many concurrent increments, each in its own transaction: none lost.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        w.transaction(async (t) => {
          const [row] = await t.query<{ n: number }>(`SELECT n::int AS n FROM t WHERE k = 'c'`);
          await t.query(`UPDATE t SET n = $1 WHERE k = 'c'`, [row!.n + 1]);
        }),
      ),
    );
    expect(await w.query(`SELECT n::int AS n FROM t WHERE k = 'c'`)).toEqual([{ n: 23 }]);
  },
  TIMEOUT_MS,
);

test(
  "using the outer warehouse inside a transaction callback fails fast instead of hanging",
  async () => {
    await expect(w.transaction(async () => w.query(`SELECT 1`))).rejects.toThrow(/inside a transaction/);
    expect(await w.query<{ x: number }>(`SELECT 1 AS x`)).toEqual([{ x: 1 }]);
  },
  TIMEOUT_MS,
);

test(
  "advisory locks work (the analyzer and migrate use them)",
  async () => {
    const r = await w.transaction((tx) => tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(42) AS ok`));
    expect(r).toEqual([{ ok: true }]);
  },
  TIMEOUT_MS,
);

test(
  "data survives a reopen of the data directory",
  async () => {
    const path = join(dir, "reopen");
    const a = await PgliteWarehouse.open(path);
    await a.query(`CREATE TABLE kept (x int)`);
    await a.query(`INSERT INTO kept VALUES (7)`);
    await a.close();
    await a.close(); // idempotent
    const b = await PgliteWarehouse.open(path);
    expect(await b.query(`SELECT x FROM kept`)).toEqual([{ x: 7 }]);
    await b.close();
  },
  TIMEOUT_MS,
);

test(
  "open passes the wasm modules and file system bundle a compiled binary supplies",
  async () => {
    const dist = dirname(require.resolve("@electric-sql/pglite"));
    const assets = {
      pgliteWasmModule: await WebAssembly.compile(await Bun.file(join(dist, "pglite.wasm")).arrayBuffer()),
      initdbWasmModule: await WebAssembly.compile(await Bun.file(join(dist, "initdb.wasm")).arrayBuffer()),
      fsBundle: new Blob([await Bun.file(join(dist, "pglite.data")).arrayBuffer()]),
    };
    const x = await PgliteWarehouse.open(join(dir, "assets"), assets);
    expect(await x.query<{ n: number }>(`SELECT 2 + 2 AS n`)).toEqual([{ n: 4 }]);
    await x.close();
  },
  TIMEOUT_MS,
);

test(
  "ping resolves while open, even during a long transaction (no query queued behind it), and rejects once closed",
  async () => {
    const own = await PgliteWarehouse.open(join(dir, "ping"));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = own.transaction(async (t) => {
      await t.query("SELECT 1");
      await held;
    });
    await own.ping();
    release();
    await tx;
    await own.close();
    await expect(own.ping()).rejects.toThrow("closed");
  },
  TIMEOUT_MS,
);
