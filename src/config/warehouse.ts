/** The warehouse: PGlite under the data dir, or PostgreSQL (the same migrations). */
import { join } from "node:path";
import { maskUrl } from "../redact.ts";
import type { RunConfig } from "./general.ts";
import type { EngineDescriptor, Section } from "./section.ts";
import { ConfigError, num, type Setting } from "./setting.ts";

export interface WarehouseConfig {
  /** null = embedded PGlite. */
  databaseUrl: string | null;
  /** Embedded PGlite: closed after this many seconds without a query, opened by the next; 0 = open for the process's life. */
  warehouseIdleSeconds: number;
}

export const warehouseSettings = {
  url: {
    env: "ACU_DATABASE_URL",
    default: "(embedded PGlite)",
    mask: maskUrl,
    help: "`postgres://user:password@host:port/db`: the warehouse (same migrations as PGlite)",
  },
  idleSeconds: {
    env: "ACU_WAREHOUSE_IDLE_SECONDS",
    default: "10",
    help: "embedded PGlite: seconds without a query before it is closed (its ~130 MiB handed back) until the analyzer or a read needs it; 0 = kept open",
  },
} satisfies Record<string, Setting>;

function databaseUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === "") return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError("ACU_DATABASE_URL is not a URL (postgres://user:password@host:port/database)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw new ConfigError("ACU_DATABASE_URL must start with postgres://");
  return raw;
}

export const warehouseEngine: EngineDescriptor<WarehouseConfig & RunConfig, { url: string }> = {
  name: "warehouse",
  shared: (c) => (c.databaseUrl ? { url: c.databaseUrl } : null),
  describe: (c) => (c.databaseUrl ? `postgres ${maskUrl(c.databaseUrl)}` : `pglite in ${join(c.dataDir, "warehouse")}`),
};

export const warehouseSection: Section<WarehouseConfig> = {
  title: "Warehouse: PGlite or PostgreSQL",
  settings: warehouseSettings,
  read: (v) => ({
    databaseUrl: databaseUrl(v.raw(warehouseSettings.url)),
    warehouseIdleSeconds: num(
      "ACU_WAREHOUSE_IDLE_SECONDS",
      v.raw(warehouseSettings.idleSeconds),
      10,
      (n) => n >= 0 && n <= 86_400,
      "must be seconds, 0 to 86400 (0 = kept open)",
    ),
  }),
  engines: [warehouseEngine],
};
