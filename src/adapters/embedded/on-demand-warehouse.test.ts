import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnDemandWarehouse } from "./on-demand-warehouse.ts";
import { PgliteWarehouse } from "./pglite-warehouse.ts";

const TIMEOUT_MS = 60_000;
const dir = await mkdtemp(join(tmpdir(), "acu-on-demand-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

test(
  "closed after the idle time, opened again by the next query, the data kept across the cycles",
  async () => {
    const w = OnDemandWarehouse.open(join(dir, "cycles"), { idleMs: 30 });
    try {
      expect(w.isOpen).toBe(false);
      await w.query(`CREATE TABLE kept (i int)`);
      for (let i = 1; i <= 4; i++) {
        await until(() => !w.isOpen);
        await w.query(`INSERT INTO kept VALUES ($1)`, [i]);
      }
      await until(() => !w.isOpen);
      await w.ping(); // closed while idle is healthy
      expect(await w.query(`SELECT i FROM kept ORDER BY i`)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
      expect(w.opens).toBe(6);
    } finally {
      await w.close();
    }
    await expect(w.query(`SELECT 1`)).rejects.toThrow("closed");
    await expect(w.ping()).rejects.toThrow("closed");
  },
  TIMEOUT_MS,
);

test(
  "queries racing the idle close all get their answer: each waits for the close and opens the next instance",
  async () => {
    const w = OnDemandWarehouse.open(join(dir, "race"), { idleMs: 1 });
    try {
      await w.query(`CREATE TABLE n (i int)`);
      for (let i = 0; i < 15; i++) {
        // 0–3 ms after the last answer: before, during and after the 1 ms timer's close.
        await Bun.sleep(i % 4);
        const [a, b] = await Promise.all([w.query(`INSERT INTO n VALUES ($1) RETURNING i`, [i]), w.query(`SELECT count(*)::int AS c FROM n`)]);
        expect(a).toEqual([{ i }]);
        expect(b[0]!.c).toBeGreaterThanOrEqual(i);
      }
      expect(await w.query(`SELECT count(*)::int AS c FROM n`)).toEqual([{ c: 15 }]);
      expect(w.opens).toBeGreaterThan(2);
    } finally {
      await w.close();
    }
  },
  TIMEOUT_MS,
);

test(
  "a transaction keeps its instance open to its commit, however long it lasts; a rollback too",
  async () => {
    const w = OnDemandWarehouse.open(join(dir, "tx"), { idleMs: 10 });
    try {
      await w.query(`CREATE TABLE t (i int)`);
      await w.transaction(async (tx) => {
        await tx.query(`INSERT INTO t VALUES (1)`);
        await Bun.sleep(100);
        expect(w.isOpen).toBe(true);
        await tx.query(`INSERT INTO t VALUES (2)`);
      });
      const opens = w.opens;
      await expect(
        w.transaction(async (tx) => {
          await tx.query(`INSERT INTO t VALUES (3)`);
          await Bun.sleep(50);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(w.opens).toBe(opens);
      expect(await w.query(`SELECT i FROM t ORDER BY i`)).toEqual([{ i: 1 }, { i: 2 }]);
      // The outer runner inside a callback still fails fast (PGlite has one session).
      await expect(w.transaction(async () => w.query(`SELECT 1`))).rejects.toThrow(/inside a transaction/);
    } finally {
      await w.close();
    }
  },
  TIMEOUT_MS,
);

test(
  "the data dir's lock is held while closed for idleness, and let go by close()",
  async () => {
    const path = join(dir, "lock");
    const w = OnDemandWarehouse.open(path, { idleMs: 10 });
    await w.query(`CREATE TABLE x (i int)`);
    await until(() => !w.isOpen);
    await Bun.sleep(30);
    expect(() => OnDemandWarehouse.open(path, { idleMs: 10 })).toThrow(/in use/);
    await expect(PgliteWarehouse.open(path)).rejects.toThrow(/in use/);
    await w.close();
    await w.close(); // idempotent
    const again = await PgliteWarehouse.open(path);
    expect(await again.query(`SELECT count(*)::int AS c FROM x`)).toEqual([{ c: 0 }]);
    await again.close();
  },
  TIMEOUT_MS,
);

test(
  "idleMs 0 keeps the instance open until close()",
  async () => {
    const w = OnDemandWarehouse.open(join(dir, "kept"), { idleMs: 0 });
    await w.query(`SELECT 1`);
    await Bun.sleep(50);
    expect(w.isOpen).toBe(true);
    expect(w.opens).toBe(1);
    await w.close();
    expect(w.isOpen).toBe(false);
  },
  TIMEOUT_MS,
);
