/** The analytics database (PostgreSQL's role). SQL is the interface: migrations and queries run unchanged on PGlite and PostgreSQL. */
export type Row = Record<string, unknown>;

export interface SqlRunner {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Warehouse extends SqlRunner {
  readonly engine: string;
  /** Runs fn in one transaction: all of it commits or none of it does. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Resolves when the engine answers now, cheaply; rejects, saying why, when it does not. Polled for
   * readiness (/readyz), each call bounded by the caller's timeout.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
