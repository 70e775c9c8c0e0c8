import { AsyncLocalStorage } from "node:async_hooks";
import net from "node:net";
import postgres from "postgres";
import type { Row, SqlRunner, Warehouse } from "../../ports/warehouse.ts";
import { maskUrl } from "../../redact.ts";
import { retry } from "../../retry.ts";

export interface PostgresWarehouseOptions {
  /** Connections in the pool. Default 10. */
  max?: number;
  /** Run-time parameters sent when each connection starts, e.g. { search_path: "analytics" }. */
  connection?: Record<string, string>;
  /** Seconds to wait for a connection. Default 10. */
  connectTimeoutS?: number;
}

/**
 * Values come back with the JS types PGlite gives for the same SQL, so callers see no difference:
 * bigint (int8, and count(*)) is a number while it is a safe integer and a BigInt beyond (postgres.js
 * would give a string); timestamps and dates are Dates, ±infinity the numbers ±Infinity (postgres.js
 * would give an Invalid Date). numeric stays a string, as in PGlite. Arrays of these use the same parsers.
 */
const TYPES = {
  int8: {
    to: 20,
    from: [20],
    serialize: (x: unknown) => String(x),
    parse: (x: string): number | bigint => {
      const n = Number(x);
      return Number.isSafeInteger(n) ? n : BigInt(x);
    },
  },
  date: {
    to: 1184,
    from: [1082, 1114, 1184],
    serialize: (x: unknown) => (x instanceof Date ? x : new Date(x as string | number)).toISOString(),
    parse: (x: string): Date | number => (x === "infinity" ? Infinity : x === "-infinity" ? -Infinity : new Date(x)),
  },
};

/** Errors that say the server could not be reached or refused the session, as opposed to an SQL error. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "SASL_SIGNATURE_MISMATCH",
  "AUTH_TYPE_NOT_IMPLEMENTED",
  "3D000", // the database does not exist
  "57P01", // terminated by an administrator
  "57P02",
  "57P03", // the server is starting up or shutting down
]);

const DRIVER_ERRORS: Record<string, string> = {
  CONNECT_TIMEOUT: "timed out connecting",
  CONNECTION_CLOSED: "the connection was closed by the server or the network",
  CONNECTION_DESTROYED: "the connection was ended by close()",
  CONNECTION_ENDED: "the connection was ended by close()",
};

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return CONNECTION_CODES.has(code) || code.startsWith("08") || code.startsWith("28");
}

/** A statement that met a stale connection is sent once more, at once: the pool opens a new connection for it. */
const AGAIN_AT_ONCE = { attempts: 2, baseMs: 0, capMs: 0 } as const;

/**
 * postgres.js (3.4) keeps the FATAL error a server sends before it drops a connection (e.g. "terminating
 * connection due to administrator command") and, once the pool has reconnected, rejects the next statement
 * with it before that statement is sent. The statement that was running when the connection died fails
 * with CONNECTION_CLOSED instead, so a FATAL error reaching a statement always means it never ran: it is
 * safe to send it again, once.
 */
function isStaleFatal(e: unknown): boolean {
  return e instanceof postgres.PostgresError && e.severity === "FATAL" && !(e.code.startsWith("28") || e.code === "3D000");
}

/**
 * Under Bun a socket reports 'error' (e.g. ECONNRESET on a connection the server dropped while it was idle)
 * and only later 'close'. postgres.js (3.4) fails the statements it has sent when 'error' comes, but a
 * statement sent in between is never answered and never failed: its caller waits forever (Node emits both
 * events together). This socket emits 'close' right after 'error', so the pool marks the connection closed
 * at once and the next statement opens a new one. Used with one host (TCP or Unix socket); over TLS
 * postgres.js wraps it in a TLS socket of its own, which keeps the default behaviour.
 */
function closeOnErrorSocket(o: { host: string[]; port: number[]; path?: string | false }): net.Socket {
  const s = o.path ? net.connect(o.path) : net.connect(o.port[0]!, o.host[0]!);
  // postgres.js reads these for its error messages.
  Object.assign(s, { host: o.path || o.host[0], port: o.port[0] });
  let closed = false;
  const emit = s.emit;
  s.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "close") {
      if (closed) return false;
      closed = true;
      return emit.call(this, event, ...args);
    }
    const handled = emit.call(this, event, ...args);
    if (event === "error" && !closed) {
      closed = true;
      s.destroy();
      emit.call(this, "close", true);
    }
    return handled;
  } as typeof s.emit;
  return s;
}

/** One host, not a "h1,h2" list: postgres.js rotates through a list only with its own sockets. */
function singleHost(url: string): boolean {
  const m = /^[a-z]+:\/\/([^/?#]*)/i.exec(url);
  return !(m?.[1] ?? "").replace(/^.*@/, "").includes(",");
}

type Sql = postgres.Sql<Record<string, unknown>>;

/**
 * The warehouse on a PostgreSQL server, through a pool of connections. Unlike PGlite, callers run in
 * parallel: queries on any free connection, each transaction on a connection of its own (read committed),
 * so a query never waits for a running transaction and does not see its uncommitted writes.
 */
export class PostgresWarehouse implements Warehouse {
  readonly engine = "postgres";
  /** Set inside a transaction callback: the outer runner there would run outside the transaction (and could deadlock the pool). */
  private readonly inTransaction = new AsyncLocalStorage<true>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly sql: Sql,
    /** The URL with the password masked, for messages. */
    readonly target: string,
  ) {}

  static async open(url: string, opts: PostgresWarehouseOptions = {}): Promise<PostgresWarehouse> {
    const target = maskUrl(url);
    let sql: Sql;
    try {
      sql = postgres(url, {
        max: opts.max ?? 10,
        connect_timeout: opts.connectTimeoutS ?? 10,
        connection: { application_name: "acu", ...opts.connection },
        types: TYPES,
        onnotice: () => {},
        ...(singleHost(url) ? { socket: closeOnErrorSocket } : {}),
      } as postgres.Options<typeof TYPES>) as unknown as Sql;
    } catch (e) {
      throw new Error(`postgres warehouse ${target}: invalid connection settings: ${(e as Error).message}`, { cause: e });
    }
    const w = new PostgresWarehouse(sql, target);
    try {
      await sql.unsafe("SELECT 1");
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw w.wrap("cannot connect", e, true);
    }
    return w;
  }

  async query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]> {
    this.checkOutside("query");
    return this.run(this.sql, text, params);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    this.checkOutside("transaction");
    if (this.closing) throw new Error(`postgres warehouse ${this.target}: closed`);
    let started = false;
    try {
      return await retry(
        () => {
          started = false;
          return this.transactionOnce(fn, () => (started = true));
        },
        // BEGIN got a stale report of a lost connection (see isStaleFatal) and did not run: nothing of fn ran either.
        { ...AGAIN_AT_ONCE, retriable: (e) => !started && isStaleFatal(e) },
      );
    } catch (e) {
      throw this.wrap("transaction failed", e);
    }
  }

  private async transactionOnce<T>(fn: (tx: SqlRunner) => Promise<T>, onStart: () => void): Promise<T> {
    const result = await this.sql.begin(async (tx) => {
      onStart();
      let failed: unknown = null;
      const runner: SqlRunner = {
        query: async <R extends Row = Row>(text: string, params?: unknown[]) => {
          try {
            return await this.run<R>(tx, text, params);
          } catch (e) {
            failed ??= e;
            throw e;
          }
        },
      };
      const value = await this.inTransaction.run(true, () => fn(runner));
      // A failed statement aborts the transaction, and COMMIT then quietly rolls back: if the callback
      // caught the error (and did not roll back to a savepoint), fail as PGlite does instead of reporting success.
      if (failed !== null) {
        try {
          await tx.unsafe("SELECT 1", [], { simple: false } as never);
        } catch (e) {
          throw new Error(`Transaction was rolled back instead of committed: a statement in it failed: ${(failed as Error).message ?? failed}`, { cause: e });
        }
      }
      // Wrapped so that postgres.js does not treat a returned array (rows) as a list of queries to await.
      return { value };
    });
    return (result as unknown as { value: T }).value;
  }

  /** SELECT 1 on a pooled connection. */
  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  close(): Promise<void> {
    this.closing ??= this.sql.end({ timeout: 5 });
    return this.closing;
  }

  private async run<R extends Row>(
    sql: postgres.Sql<Record<string, unknown>> | postgres.TransactionSql<Record<string, unknown>>,
    text: string,
    params?: unknown[],
  ): Promise<R[]> {
    if (this.closing) throw new Error(`postgres warehouse ${this.target}: closed`);
    try {
      return await retry(
        async () => {
          // One statement per call, as on PGlite: the extended protocol even without parameters.
          const rows = await sql.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], { prepare: false, simple: false } as never);
          return Array.from(rows as unknown as R[]);
        },
        { ...AGAIN_AT_ONCE, retriable: isStaleFatal },
      );
    } catch (e) {
      throw this.wrap("query failed", e);
    }
  }

  /** Connection trouble gets the server (password masked) and what failed; SQL errors pass through unchanged. */
  private wrap(what: string, e: unknown, always = false): unknown {
    if (!(always || isConnectionError(e))) return e;
    if (e instanceof Error && e.message.startsWith(`postgres warehouse ${this.target}`)) return e;
    const code = (e as { code?: unknown } | null)?.code;
    let msg = e instanceof Error ? e.message : String(e);
    // postgres.js words its own connection errors as "write CODE host:port".
    const plain = typeof code === "string" ? DRIVER_ERRORS[code] : undefined;
    if (plain) msg = `${plain} (${msg.replace(/^write /, "")})`;
    const err = new Error(`postgres warehouse ${this.target}: ${what}: ${msg}${typeof code === "string" && !msg.includes(code) ? ` (${code})` : ""}`, {
      cause: e,
    });
    if (typeof code === "string") Object.assign(err, { code });
    return err;
  }

  private checkOutside(what: string): void {
    if (this.inTransaction.getStore())
      throw new Error(`PostgresWarehouse.${what} called inside a transaction callback: use the callback's runner (it would run outside the transaction)`);
  }
}

export { maskUrl };
