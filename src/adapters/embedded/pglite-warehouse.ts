import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, mkdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { join } from "node:path";
import type { Row, SqlRunner, Warehouse } from "../../ports/warehouse.ts";
import type { PgliteAssets } from "./pglite-assets.ts";
import { ProcessLock } from "./process-lock.ts";

/**
 * The warehouse embedded in the process: PostgreSQL compiled to WebAssembly, persisted in a data
 * directory. PGlite has one session and queues callers itself: a query waits for any running
 * transaction, and transactions run one after another.
 */
export class PgliteWarehouse implements Warehouse {
  readonly engine = "pglite";
  /** Set inside a transaction callback: the outer runner must not be used there (it would wait forever). */
  private readonly inTransaction = new AsyncLocalStorage<true>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly db: PGlite,
    /** Released at close; null when the lock is the caller's (held across several opens, on-demand-warehouse.ts). */
    private readonly lock: ProcessLock | null,
  ) {}

  /** The data dir's lock, taken before its files are opened. */
  static lockDataDir(dataDir: string): ProcessLock {
    mkdirSync(dataDir, { recursive: true });
    // PGlite is a single-process database: a second process on the same files would corrupt them.
    return ProcessLock.acquire(join(dataDir, "LOCK"), "the embedded warehouse");
  }

  /**
   * Opens the data dir, taking its lock for the life of this instance; with `heldLock` (taken by
   * lockDataDir), the caller's lock is used and kept at close.
   */
  static async open(dataDir: string, assets: PgliteAssets = {}, heldLock?: ProcessLock): Promise<PgliteWarehouse> {
    await mkdir(dataDir, { recursive: true });
    const own = heldLock ? null : PgliteWarehouse.lockDataDir(dataDir);
    const options: PGliteOptions = { dataDir, startParams: [...PGlite.defaultStartParams, ...SIZED_FOR_ITS_JOB] };
    if (assets.pgliteWasmModule) options.pgliteWasmModule = assets.pgliteWasmModule;
    if (assets.initdbWasmModule) options.initdbWasmModule = assets.initdbWasmModule;
    if (assets.fsBundle) options.fsBundle = assets.fsBundle;
    // No PG_VERSION yet: this open runs initdb (see releaseInitdb).
    const initdb = !existsSync(join(dataDir, "PG_VERSION"));
    try {
      const db = new PGlite(options);
      await db.waitReady;
      if (initdb) await releaseInitdb();
      return new PgliteWarehouse(db, own);
    } catch (e) {
      own?.release();
      throw e;
    }
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    this.checkOutside("query");
    return (await this.db.query<T>(sql, params ?? [])).rows;
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    this.checkOutside("transaction");
    return this.db.transaction((tx) => {
      const runner: SqlRunner = {
        query: async <R extends Row = Row>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params ?? [])).rows,
      };
      return this.inTransaction.run(true, () => fn(runner));
    });
  }

  /**
   * Open, and not closing. No query: PGlite runs one statement at a time, so a probe would wait for the
   * analyzer's merge transaction and report a busy warehouse as down.
   */
  async ping(): Promise<void> {
    if (this.closing || this.db.closed) throw new Error("the embedded warehouse is closed");
  }

  close(): Promise<void> {
    this.closing ??= (this.db.closed ? Promise.resolve() : this.db.close()).finally(() => this.lock?.release());
    return this.closing;
  }

  private checkOutside(what: string): void {
    if (this.inTransaction.getStore())
      throw new Error(`PgliteWarehouse.${what} called inside a transaction callback: use the callback's runner (PGlite has one session)`);
  }
}

/**
 * PostgreSQL's server defaults (128 MB of shared buffers, 64 MB of maintenance memory) are sized for a
 * server with many sessions. PGlite's one session lives in a WebAssembly memory that never shrinks, and its
 * files sit in the kernel's page cache anyway, so those buffers were ~170 MiB of the all-in-one process's
 * resident set for nothing (measured: 256 → 134 MiB after an open, 323 → 152 MiB after a 200k-row insert
 * and aggregate). The warehouse holds minute aggregates, not the lake: 16 MB of buffers is its working set.
 */
const SIZED_FOR_ITS_JOB = ["-c", "shared_buffers=16MB", "-c", "maintenance_work_mem=16MB", "-c", "temp_buffers=4MB"];

/**
 * A first open runs initdb in a WebAssembly instance of its own: ~700 MiB of garbage once the database is
 * ready, which the collector may keep for many seconds (measured: the all-in-one process held ~710 MiB for
 * 12 s after its start, ~350 MiB after a collection). One full collection, a tick after the open (within
 * it the instance is still referenced: a collection there frees a fraction), hands it back at once, so
 * the process's working set is its own from the start. Only after an initdb: a later open leaves none.
 */
async function releaseInitdb(): Promise<void> {
  await Bun.sleep(1);
  Bun.gc(true);
}
