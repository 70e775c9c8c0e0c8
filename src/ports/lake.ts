export interface LakeFile {
  /** Relative to the lake root, '/'-separated, e.g. reports/date=2026-11-27/hour=09/student-reports-p3-...parquet */
  path: string;
  size: number;
}

/** Long-term storage (HDFS's role): immutable files under a root, written whole and published atomically. */
export interface Lake {
  readonly engine: string;
  /** Absolute location of a lake path for other engines (Spark): file:///… or hdfs://… */
  uri(path: string): string;
  /** Durable before it resolves; visible only once complete; replaces a file of the same name (a rewrite after a crash). */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Creates a small file only if no file of that path exists, atomically: of concurrent creators of one
   * path exactly one is answered true. Durable and complete before it is visible (never seen half
   * written). True also when the path already holds exactly these bytes (a create retried after its
   * answer was lost, or another creator of the same content); false when it holds other bytes.
   */
  createExclusive(path: string, bytes: Uint8Array): Promise<boolean>;
  /**
   * Complete files under a prefix ("reports/"), sorted by path. Never lists a file being written, nor a
   * hidden one: below the prefix, a file or folder whose name starts with `.` or `_` (as Hadoop and Spark
   * hide them: `_temporary/`, `_SUCCESS`, `.crc` files) is left out with all it holds.
   */
  list(prefix: string): Promise<LakeFile[]>;
  read(path: string): Promise<Uint8Array>;
  /**
   * Resolves when the engine answers now, cheaply; rejects, saying why, when it does not. Polled for
   * readiness (/readyz), each call bounded by the caller's timeout.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Hidden names, never listed: Hadoop's and Spark's rule. */
export function isHiddenName(name: string): boolean {
  return name.startsWith(".") || name.startsWith("_");
}
