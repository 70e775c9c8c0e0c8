import type { Row, SqlRunner, Warehouse } from "../../ports/warehouse.ts";
import type { PgliteAssets } from "./pglite-assets.ts";
import { PgliteWarehouse } from "./pglite-warehouse.ts";
import type { ProcessLock } from "./process-lock.ts";

export interface OnDemandOptions {
  /** Closed after this long without a caller; 0 = open until close(). */
  idleMs: number;
  assets?: PgliteAssets;
}

/**
 * The embedded warehouse opened only while something uses it: the analyzer's run, a read, a migration.
 * PGlite's WebAssembly memory never shrinks (~130 MiB once it has served a run), and an all-in-one process
 * uses its warehouse a few seconds a minute, so it is closed after `idleMs` without a caller and opened
 * again by the next one. The data dir's lock is held from open() to close(), across the instances: while
 * closed, the files stay this process's. Callers are counted from their call to their answer (a transaction:
 * to its commit), and an instance is closed only with none, so nothing runs on an instance being closed; a
 * caller arriving during a close waits for it and opens the next instance.
 */
export class OnDemandWarehouse implements Warehouse {
  readonly engine = "pglite";
  /** The instance open or being opened; null while closed. */
  private current: Promise<PgliteWarehouse> | null = null;
  /** The last instance's close: the next open waits for it (two instances on one data dir would corrupt it). */
  private closingIdle: Promise<void> = Promise.resolve();
  /** An instance that would not close leaves its files in an unknown state: nothing opens them again. */
  private broken: Error | null = null;
  private users = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed: Promise<void> | null = null;
  /** Instances opened so far (the tests' view of open/close cycles). */
  opens = 0;

  private constructor(
    private readonly dataDir: string,
    private readonly lock: ProcessLock,
    private readonly options: OnDemandOptions,
  ) {}

  /** Takes the data dir's lock now (a second process is refused at start, not at its first query); opens nothing yet. */
  static open(dataDir: string, options: OnDemandOptions): OnDemandWarehouse {
    return new OnDemandWarehouse(dataDir, PgliteWarehouse.lockDataDir(dataDir), options);
  }

  /** Whether an instance is open or being opened now. */
  get isOpen(): boolean {
    return this.current !== null;
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.use((w) => w.query<T>(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.use((w) => w.transaction(fn));
  }

  /** Closed while idle is healthy: the next caller opens it. Open: the instance's own ping. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the embedded warehouse is closed");
    if (this.broken) throw this.broken;
    if (this.current) await (await this.current).ping();
  }

  close(): Promise<void> {
    this.closed ??= this.closeForGood();
    return this.closed;
  }

  private async closeForGood(): Promise<void> {
    this.cancelIdle();
    const last = this.current;
    this.current = null;
    try {
      if (last) await (await last.catch(() => null))?.close();
      await this.closingIdle;
    } finally {
      this.lock.release();
    }
  }

  private async use<T>(fn: (w: PgliteWarehouse) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("the embedded warehouse is closed");
    if (this.broken) throw this.broken;
    this.users++;
    this.cancelIdle();
    try {
      return await fn(await this.instance());
    } finally {
      this.users--;
      if (this.users === 0) this.scheduleIdle();
    }
  }

  private instance(): Promise<PgliteWarehouse> {
    if (this.current) return this.current;
    const opening = this.closingIdle.then(() => {
      if (this.closed) throw new Error("the embedded warehouse is closed");
      if (this.broken) throw this.broken;
      this.opens++;
      return PgliteWarehouse.open(this.dataDir, this.options.assets, this.lock);
    });
    this.current = opening;
    // A failed open leaves nothing open: the next caller tries again.
    opening.catch(() => {
      if (this.current === opening) this.current = null;
    });
    return opening;
  }

  private scheduleIdle(): void {
    if (this.closed || this.options.idleMs <= 0 || this.current === null) return;
    this.cancelIdle();
    this.timer = setTimeout(() => this.closeIdle(), this.options.idleMs);
    // An idle warehouse never keeps the process alive.
    this.timer.unref?.();
  }

  private cancelIdle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs with no caller (use() cancels the timer and counts itself synchronously, before any await). */
  private closeIdle(): void {
    this.timer = null;
    const last = this.current;
    if (this.users > 0 || this.closed || last === null) return;
    this.current = null;
    // The collection runs in a step of its own: this one's closure would still reference the instance.
    this.closingIdle = last
      .then(
        (w) => w.close(),
        () => {},
      )
      .catch((e: unknown) => {
        this.broken = new Error(`the embedded warehouse did not close cleanly, not opened again: ${(e as Error).message}`, { cause: e });
      })
      .then(releaseMemory);
  }
}

/**
 * The closed instance's WebAssembly memory is freed only by a collection, which Bun may not run for many
 * seconds while the process is quiet: one full collection, a tick after the close (the instance is no
 * longer referenced), hands it back at once.
 */
async function releaseMemory(): Promise<void> {
  await Bun.sleep(1);
  Bun.gc(true);
}
